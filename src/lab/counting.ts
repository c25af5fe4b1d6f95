/**
 * Tokens made in the page: every tokenizer the page has a file for (inpage/) is run in the
 * browser, in the keystroke's own task, giving ids and spans, so the count paints with the typed
 * character and the chips in the frame after. The server's answer follows and is the authority:
 * a tokenizer whose ids or spans disagree with it is run on the server only from then on. With
 * no server at all (JupyterLite) the page is all there is.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  IExplanation,
  isError,
  ITokenizeResult,
  ITokenizerInfo,
  ResultOrError
} from '../render/types';
import { asResult, IPageEngine } from './inpage/engine';
import {
  engineFor,
  IPageEntry,
  IPageSource,
  LiteSource,
  ServerSource,
  tiktokenEngine
} from './inpage/files';
import { rankTable } from './request';

/**
 * Up to this many characters (summed over tokenizers) not tokenized before, the page makes a
 * text's tokens itself; the parts of a text made before are remembered (inpage/parts.ts), so a
 * keystroke in a long text tokenizes its own line. The keystroke's task only counts (the count
 * paints with the typed character); the tokens are put together and drawn once that frame is
 * painted (tokensFor), so the chips follow in the next frame. Beyond (a pasted text, another
 * cell), the parts are made between frames, WARM_SLICE_MS at a time, and the server's answer
 * draws this text's chips.
 */
const COLD_CHARS = 20_000;

/**
 * Up to this many characters times tokenizers, engines with a fast count (tiktoken's, line by
 * line) count a text whose parts are not ready: beyond, counting would cost the keystroke a
 * frame.
 */
const BROWSER_COUNT_CHARS = 120_000;

/** Milliseconds of making parts ready per slice, between frames. */
const WARM_SLICE_MS = 8;

/** Tokens made here for one text. */
export interface IPageCounts {
  text: string;
  special: boolean;
  counts: Map<string, number>;
  results: Map<string, ITokenizeResult>;
  /** The results are not made yet, but can be, at once (tokensFor). */
  later: boolean;
}

export class PageCounter {
  constructor(options: PageCounter.IOptions) {
    this._options = options;
    this._source = new ServerSource(options.serverSettings);
  }

  /** Whether any tokenizer can be run here yet. */
  get ready(): boolean {
    return this._engines.size > 0;
  }

  /** The tokenizers run here, sorted. */
  get names(): string[] {
    return [...this._engines.keys()].sort();
  }

  /** True once the page runs without a server (JupyterLite). */
  get serverless(): boolean {
    return this._source.serverless;
  }

  /** Why the page leaves a tokenizer to the server (the manifest's `reason`), by name. */
  get declined(): ReadonlyMap<string, string> {
    return this._declined;
  }

  /** How many times tokens were made here: a later count means a newer text's are shown. */
  get seq(): number {
    return this._seq;
  }

  /**
   * No server: run everything from the static site's manifest. Resolves to the tokenizers it
   * lists (the chooser's list), or rejects when the site has none.
   */
  async useSite(): Promise<ITokenizerInfo[]> {
    const site = new LiteSource();
    const entries = await site.all();
    this._source = site;
    this._asked.clear();
    return entries.map(e => ({
      name: e.name,
      kind: e.kind === 'tiktoken' ? 'tiktoken' : 'hf',
      source: 'page'
    }));
  }

  /**
   * Fetch the files of the chosen tokenizers, once each, in the background. `available` (the
   * server's list) says which names are tiktoken encodings, counted from the rank tables
   * (GET /tokenlens/ranks) as before; the others come through the page-tokenizers manifest.
   */
  load(names: string[], available: ITokenizerInfo[] | null): void {
    const viaManifest: string[] = [];
    for (const name of names) {
      if (this._asked.has(name)) {
        continue;
      }
      const info = (available ?? []).find(t => t.name === name);
      if (!this._source.serverless && info === undefined) {
        continue; // asked again once the server's list has it (typed names, a new registry entry)
      }
      this._asked.add(name);
      this._kinds.set(name, info?.kind ?? '');
      if (!this._source.serverless && info?.kind === 'tiktoken') {
        this._adopt(
          name,
          rankTable(name, this._options.serverSettings).then(table =>
            tiktokenEngine(name, table)
          )
        );
      } else {
        viaManifest.push(name);
      }
    }
    if (viaManifest.length > 0) {
      const source = this._source;
      source.manifest(viaManifest).then(
        entries => entries.forEach(entry => this._fromEntry(source, entry)),
        reason => this._onLoadFailed(viaManifest.join(', '), reason)
      );
    }
  }

  /**
   * Count `text` with each of `names`, now, in the keystroke's task; its ids and spans can then
   * be made at once (`tokensFor`) where its parts were ready. Null when one of them is the
   * server's to run (it runs all of them, as one answer) or the text is too long to count in
   * the keystroke's frame.
   */
  count(text: string, names: string[], special: boolean): number[] | null {
    if (text.length === 0) {
      return null;
    }
    const start = performance.now();
    const engines: IPageEngine[] = [];
    for (const name of names) {
      const engine = this._engines.get(name);
      if (!engine) {
        return null;
      }
      engines.push(engine);
    }
    let cold = 0;
    for (const engine of engines) {
      cold += engine.cold(text, special);
    }
    const ready = cold <= COLD_CHARS;
    if (!ready) {
      this._warm(text, engines, special);
      if (text.length * names.length > BROWSER_COUNT_CHARS) {
        return null;
      }
    }
    const counts: number[] = [];
    for (const engine of engines) {
      const n = ready
        ? engine.count(text, special)
        : engine.fastCount?.(text, special);
      if (n === undefined || n === null) {
        return null;
      }
      counts.push(n);
    }
    // What tokenizing costs the keystroke (the Performance panel of devtools; bench_panel.py).
    performance.measure('tokenlens:count-here', {
      start,
      end: performance.now()
    });
    this._last = {
      text,
      special,
      counts: new Map(names.map((name, k) => [name, counts[k]])),
      results: new Map(),
      later: ready
    };
    this._seq++;
    return counts;
  }

  /** Why tokens have their ids, from the page's own files (the token card, with no server). */
  async explainHere(tokenizer: string, ids: number[]): Promise<IExplanation[]> {
    const engine = this._engines.get(tokenizer);
    if (!engine) {
      throw new Error(`${tokenizer} is still loading in the page…`);
    }
    return ids.map(id => engine.explain(id));
  }

  /**
   * One tokenizer's count of `text`, away from the keystroke (the status bar's, the panel
   * hidden): from the text's parts, made where they are not yet. Null while its file is on the
   * way, or when the page cannot say for this text.
   */
  countOne(text: string, name: string, special: boolean): number | null {
    return this._engines.get(name)?.count(text, special) ?? null;
  }

  /**
   * The tokens of the text counted last, made now if they were left for later (a long text,
   * after the keystroke's frame); null when they cannot be made here.
   */
  tokensFor(
    text: string,
    names: string[],
    special: boolean
  ): ITokenizeResult[] | null {
    const here = this.countedFor(text, special);
    if (!here) {
      return null;
    }
    if (here.later) {
      here.later = false;
      const start = performance.now();
      for (const name of names) {
        const engine = this._engines.get(name);
        const enc = engine?.encode(text, special);
        if (!engine || !enc) {
          return null;
        }
        here.results.set(name, asResult(engine, text, enc));
      }
      performance.measure('tokenlens:tokens-here', {
        start,
        end: performance.now()
      });
    }
    const results = names.map(name => here.results.get(name));
    return results.every(Boolean) ? (results as ITokenizeResult[]) : null;
  }

  /**
   * Make `text`'s parts ready a slice at a time between frames, so the next keystroke in it
   * tokenizes its own line only. A newer text stops this one's.
   */
  private _warm(text: string, engines: IPageEngine[], special: boolean): void {
    const job = ++this._warmJob;
    const slice = () => {
      if (job !== this._warmJob || this._disposed) {
        return;
      }
      const deadline = performance.now() + WARM_SLICE_MS;
      const done = engines.every(e => e.warm(text, special, deadline));
      if (!done) {
        setTimeout(slice, 0);
      }
    };
    setTimeout(slice, 0);
  }

  /** The tokens made here for this very text, if they were. */
  countedFor(text: string, special: boolean): IPageCounts | null {
    const here = this._last;
    return here && here.text === text && here.special === special ? here : null;
  }

  /** Without a server: each tokenizer's result made here, or why it cannot be. */
  tokenizeHere(
    text: string,
    names: string[],
    special: boolean
  ): ResultOrError[] {
    // this runs once the typing pauses, not in the keystroke's task: any length is made here
    const made = this.tokensFor(text, names, special);
    if (made) {
      return made;
    }
    return names.map((name): ResultOrError => {
      const engine = this._engines.get(name);
      const enc = engine?.encode(text, special);
      if (engine && enc) {
        return asResult(engine, text, enc);
      }
      const why = this._declined.get(name);
      return {
        tokenizer: name,
        error: engine
          ? `${name} cannot tokenize this text in the page.`
          : why
            ? `${name} needs a server: ${why}`
            : `${name} is still loading in the page…`
      };
    });
  }

  /**
   * The server's answer for `text` against the tokens made here for it: a tokenizer whose ids
   * or spans disagree is run on the server only from now on (the server's tokens are shown).
   * True when every result shown was made here and the server agrees with each.
   */
  check(text: string, special: boolean, results: ResultOrError[]): boolean {
    const here = this.countedFor(text, special);
    if (!here) {
      return false;
    }
    let agreed = results.length > 0;
    for (const r of results) {
      const mine = here.results.get(r.tokenizer);
      const count = here.counts.get(r.tokenizer);
      if (isError(r) || count === undefined) {
        agreed = false;
        continue;
      }
      const what = mine
        ? differs(mine, r)
        : count !== r.n_tokens
          ? 'a different count'
          : null;
      if (what === null) {
        continue;
      }
      agreed = false;
      this._engines.delete(r.tokenizer);
      this._options.onChange();
      this._options.onMismatch(r.tokenizer);
      console.warn(
        `tokenlens: ${r.tokenizer} made ${what} in the browser than on the server for a text ` +
          `of ${text.length} characters (${count} tokens here, ${r.n_tokens} there); ` +
          'it is counted on the server only from now on. Please report this with the text.'
      );
    }
    return agreed;
  }

  /** Files still on their way are dropped when they come. */
  dispose(): void {
    this._disposed = true;
  }

  private _fromEntry(source: IPageSource, entry: IPageEntry): void {
    if (entry.page === false) {
      this._declined.set(entry.name, entry.reason ?? 'the page cannot run it');
      return;
    }
    this._adopt(
      entry.name,
      source
        .file(entry)
        .then(text => engineFor(entry, text, this._kinds.get(entry.name) ?? ''))
    );
  }

  private _adopt(name: string, made: Promise<IPageEngine | null>): void {
    made.then(
      engine => {
        if (engine && !this._disposed) {
          this._engines.set(name, engine);
          this._options.onChange();
        }
      },
      reason => this._onLoadFailed(name, reason)
    );
  }

  private _onLoadFailed(names: string, reason: unknown): void {
    // Nothing lost: the server tokenizes it, as it does every tokenizer.
    console.warn(`tokenlens: ${names} is counted on the server only:`, reason);
  }

  private _options: PageCounter.IOptions;
  private _source: IPageSource;
  /** The engines ready here, the names already asked for, and the server's kind of each. */
  private _engines = new Map<string, IPageEngine>();
  private _asked = new Set<string>();
  private _kinds = new Map<string, string>();
  private _declined = new Map<string, string>();
  private _last: IPageCounts | null = null;
  private _seq = 0;
  private _warmJob = 0;
  private _disposed = false;
}

/** What differs between a result made here and the server's ("different ids"), or null. */
function differs(
  mine: ITokenizeResult,
  theirs: ITokenizeResult
): string | null {
  const a = mine.ids;
  const b = Array.from(theirs.ids ?? []);
  if (a.length !== b.length || a.some((id, k) => id !== b[k])) {
    return 'different ids';
  }
  const sa = mine.spans;
  const sb = theirs.spans ?? [];
  if (
    sa.length !== sb.length ||
    sa.some((s, k) => s[0] !== sb[k][0] || s[1] !== sb[k][1])
  ) {
    return 'different spans';
  }
  return null;
}

export namespace PageCounter {
  export interface IOptions {
    serverSettings: ServerConnection.ISettings;
    /** The set of tokenizers run here changed. */
    onChange(): void;
    /** The server tokenized `tokenizer` differently: it is run there only from now on. */
    onMismatch(tokenizer: string): void;
  }
}
