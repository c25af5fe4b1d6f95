/**
 * Counting in the page: the tiktoken encodings are counted in the browser too (bpe.ts), in the
 * keystroke's own task, so the count paints with the typed character. The server's answer
 * follows with the tokens and checks these counts: a tokenizer whose count disagrees is counted
 * on the server only from then on.
 */
import { ServerConnection } from '@jupyterlab/services';

import { isError, ITokenizerInfo, ResultOrError } from '../render/types';
import { BrowserBpe } from './bpe';
import { rankTable } from './request';

/**
 * Up to this many characters times tokenizers are counted here: beyond, the counting would cost
 * the keystroke a frame.
 */
const BROWSER_COUNT_CHARS = 120_000;

/** Counts made here for one text. */
export interface IPageCounts {
  text: string;
  special: boolean;
  counts: Map<string, number>;
}

export class PageCounter {
  constructor(options: PageCounter.IOptions) {
    this._options = options;
  }

  /** Whether any tokenizer can be counted here yet. */
  get ready(): boolean {
    return this._bpe.size > 0;
  }

  /** The tokenizers counted here, sorted. */
  get names(): string[] {
    return [...this._bpe.keys()].sort();
  }

  /** How many times counts were made here: a later count means a newer text's counts are shown. */
  get seq(): number {
    return this._seq;
  }

  /**
   * Fetch the rank tables of the chosen tiktoken encodings, once each, in the background.
   * `available` (the server's list) says which names are tiktoken encodings.
   */
  load(names: string[], available: ITokenizerInfo[] | null): void {
    for (const name of names) {
      if (this._asked.has(name)) {
        continue;
      }
      const info = (available ?? []).find(t => t.name === name);
      if (info?.kind !== 'tiktoken') {
        continue; // asked again once the server's list has it (typed names, a new registry entry)
      }
      this._asked.add(name);
      rankTable(name, this._options.serverSettings)
        .then(table => BrowserBpe.fromTable(table))
        .then(bpe => {
          if (bpe && !this._disposed) {
            this._bpe.set(name, bpe);
            this._options.onChange();
          }
        })
        .catch(reason => {
          // Nothing lost: the server counts it, as it does every other tokenizer.
          console.warn(
            `tokenlens: ${name} is counted on the server only:`,
            reason
          );
        });
    }
  }

  /**
   * Count `text` with each of `names`, now; null when one of them is the server's to count (it
   * counts all of them, as one answer) or the text is too long to count within the frame.
   */
  count(text: string, names: string[], special: boolean): number[] | null {
    if (text.length === 0 || text.length * names.length > BROWSER_COUNT_CHARS) {
      return null;
    }
    const counts: number[] = [];
    const start = performance.now();
    for (const name of names) {
      const n = this._bpe.get(name)?.count(text, special);
      if (n === undefined || n === null) {
        return null;
      }
      counts.push(n);
    }
    // What counting costs the keystroke (the Performance panel of devtools; bench_panel.py).
    performance.measure('tokenlens:count-here', {
      start,
      end: performance.now()
    });
    this._last = {
      text,
      special,
      counts: new Map(names.map((name, k) => [name, counts[k]]))
    };
    this._seq++;
    return counts;
  }

  /** The counts made here for this very text, if they were. */
  countedFor(text: string, special: boolean): IPageCounts | null {
    const here = this._last;
    return here && here.text === text && here.special === special ? here : null;
  }

  /**
   * The server's answer for `text` against the counts made here for it: a tokenizer whose
   * count disagrees is counted on the server only from now on (the server's count is shown).
   * True when every count shown was made here and the server agrees with each.
   */
  check(text: string, special: boolean, results: ResultOrError[]): boolean {
    const here = this.countedFor(text, special);
    if (!here) {
      return false;
    }
    let agreed = results.length > 0;
    for (const r of results) {
      const mine = here.counts.get(r.tokenizer);
      agreed &&= !isError(r) && mine === r.n_tokens;
      if (!isError(r) && mine !== undefined && mine !== r.n_tokens) {
        this._bpe.delete(r.tokenizer);
        this._options.onChange();
        this._options.onMismatch(r.tokenizer);
        console.warn(
          `tokenlens: ${r.tokenizer} counted ${mine} tokens in the browser and ${r.n_tokens} on ` +
            'the server for the same text; it is counted on the server only from now on. ' +
            'Please report this with the text.'
        );
      }
    }
    return agreed;
  }

  /** Rank tables still on their way are dropped when they come. */
  dispose(): void {
    this._disposed = true;
  }

  private _options: PageCounter.IOptions;
  /** The tiktoken encodings ready to count here, and the names already asked for. */
  private _bpe = new Map<string, BrowserBpe>();
  private _asked = new Set<string>();
  private _last: IPageCounts | null = null;
  private _seq = 0;
  private _disposed = false;
}

export namespace PageCounter {
  export interface IOptions {
    serverSettings: ServerConnection.ISettings;
    /** The set of tokenizers counted here changed. */
    onChange(): void;
    /** The server counted `tokenizer` differently: it is counted there only from now on. */
    onMismatch(tokenizer: string): void;
  }
}
