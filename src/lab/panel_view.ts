/**
 * What the Tokens side panel draws: the notice, the tokenizer chooser with its counts, the
 * source line, the status line and the token view, plus the data-* hooks that tests and
 * benchmarks read. It decides nothing about when or what to ask the server; `panel.ts` does.
 */
import { codePointCount } from '../render/offsets';
import {
  IExplainer,
  isError,
  ITokenCounts,
  ResultOrError
} from '../render/types';
import { LocalModel } from '../widgets/model';
import { ITokensState, render } from '../widgets/tokens/view';
import { TokenizerChooser } from './chooser';
import { IFocusedText } from './follow';

/** An answer taking longer than this dims the view, so it does not pass for the new text's. */
const SLOW_MS = 500;

/** Why the notice above the chooser is shown: no server part, or one of another version. */
export type NoticeKind = 'missing' | 'version';

export class PanelView {
  /** Build the panel's parts inside `node` (the panel widget's own node) and mount the token view. */
  constructor(node: HTMLElement, options: PanelView.IOptions) {
    this._node = node;
    this._chooser = options.chooser;
    this._model = options.model;

    this._notice = document.createElement('div');
    this._notice.className = 'tl-notice';
    this._notice.setAttribute('role', 'alert');
    this._notice.hidden = true;

    this._source = document.createElement('div');
    this._source.className = 'tl-source';

    this._status = document.createElement('div');
    this._status.className = 'tl-status';
    this._status.setAttribute('role', 'status');
    this._status.setAttribute('aria-live', 'polite');

    const view = document.createElement('div');
    view.className = 'tl-view';
    view.addEventListener('click', event =>
      this._onViewClick(event, options.onTokenClick)
    );
    node.append(
      this._notice,
      this._chooser.node,
      this._source,
      this._status,
      view
    );

    this._disposeView = render({
      model: this._model,
      el: view,
      explainer: options.explainer
    });
  }

  /** True from a request's start until its answer (or the news that none is coming) is shown. */
  get busy(): boolean {
    return this._node.dataset.busy === 'true';
  }

  /**
   * Waiting for the server. The view is dimmed only when an answer is slow to come: dimming
   * it for every keystroke would repaint the whole view twice per keystroke.
   */
  setBusy(busy: boolean): void {
    this._node.dataset.busy = String(busy);
    window.clearTimeout(this._slowTimer);
    if (busy) {
      this._slowTimer = window.setTimeout(() => {
        this._node.dataset.slow = 'true';
      }, SLOW_MS);
    } else if (this._node.dataset.slow) {
      delete this._node.dataset.slow;
    }
  }

  showNotice(kind: NoticeKind | null, text = ''): void {
    this._notice.hidden = kind === null;
    this._notice.dataset.kind = kind ?? '';
    this._notice.textContent = text;
  }

  showStatus(text: string, kind: 'ok' | 'error' = 'ok'): void {
    this._status.textContent = text;
    this._status.dataset.kind = kind;
  }

  /** The line naming what is tokenized: the cell, the file or the selection, and its size. */
  showSource(focus: IFocusedText | null): void {
    this._source.textContent = sourceLine(focus);
    this._node.dataset.sourceKind = focus?.kind ?? 'none';
    this._node.dataset.selection = String(!!focus?.selection);
  }

  /**
   * Counts that come before the tokens (`by` the browser, or by the server's counts-only
   * answer), for a text of `chars` UTF-16 units; a missing count reads "…".
   */
  showCounts(
    chars: number,
    names: string[],
    counts: (Pick<ITokenCounts, 'n_tokens'> | null)[],
    cutNote: string,
    by: 'browser' | 'server'
  ): void {
    const map = new Map<string, number | string>();
    counts.forEach((c, k) => {
      if (c) {
        map.set(names[k], c.n_tokens);
      }
    });
    this._chooser.setCounts(map);
    const parts = names.map((name, k) => {
      const n = counts[k]?.n_tokens;
      return n === undefined ? `${name}: …` : tokensOf(name, n);
    });
    // Counted here, they are the final counts: the status reads as it will once the tokens come.
    const pending = by === 'server' ? ' · drawing tokens…' : '';
    this.showStatus(`${parts.join(' | ')}${cutNote}${pending}`);
    this._node.dataset.chars = String(chars);
    this._node.dataset.countedBy = by;
  }

  /** The server's answer, all but its tokens: the status, each tokenizer's count or error. */
  showAnswer(results: ResultOrError[], status: string, chars: string): void {
    const failed = results.length > 0 && results.every(isError);
    this.showStatus(status, failed ? 'error' : 'ok');
    const counts = new Map<string, number | string>();
    for (const r of results) {
      counts.set(r.tokenizer, isError(r) ? r.error : r.n_tokens);
    }
    this._chooser.setCounts(counts);
    this.setBusy(false);
    // Which text the counts are for (its length in UTF-16 units): a hook for tests and benchmarks.
    this._node.dataset.chars = chars;
    this._node.dataset.countedBy = 'server';
  }

  /** Draw the tokens of an answer for a text of `chars` UTF-16 units. */
  drawTokens(results: ResultOrError[], chars: string): void {
    this._model.set({ results, error: '' });
    // Which text the token view is drawn for: a hook for tests and benchmarks.
    this._node.dataset.drawnChars = chars;
  }

  /** Empty the token view, leaving the hooks as they are, when the server is gone. */
  clearTokens(): void {
    this._model.set({ results: [], error: '' });
  }

  /** Which tokenizers are counted in the browser: a hook for tests and benchmarks. */
  markBrowserCounts(names: string[]): void {
    this._node.dataset.browserCounts = names.join(' ');
  }

  /** A tokenizer whose browser count the server contradicted: a hook for tests. */
  markMismatch(tokenizer: string): void {
    this._node.dataset.countMismatch = tokenizer;
  }

  /** The editor range a token click selected: a hook for tests. */
  markSelected(start: number, end: number): void {
    this._node.dataset.selected = `${start}:${end}`;
  }

  dispose(): void {
    window.clearTimeout(this._slowTimer);
    this._disposeView();
  }

  /** A click on a token names its row (one per tokenizer) and its index in that row. */
  private _onViewClick(
    event: MouseEvent,
    onTokenClick: PanelView.IOptions['onTokenClick']
  ): void {
    const target = event.target as HTMLElement | null;
    const token = target?.closest<HTMLElement>(
      '.tl-token[data-index], .tl-bar[data-index]'
    );
    const row = token?.closest<HTMLElement>('[data-r]');
    if (token && row) {
      onTokenClick(Number(row.dataset.r), Number(token.dataset.index));
    }
  }

  private _node: HTMLElement;
  private _chooser: TokenizerChooser;
  private _model: LocalModel<ITokensState>;
  private _notice: HTMLElement;
  private _source: HTMLElement;
  private _status: HTMLElement;
  private _disposeView: () => void;
  private _slowTimer = 0;
}

export namespace PanelView {
  export interface IOptions {
    /** Placed under the notice; the view paints each tokenizer's count on it. */
    chooser: TokenizerChooser;
    /** The token view's state, which the view's own toolbar writes too. */
    model: LocalModel<ITokensState>;
    explainer: IExplainer;
    onTokenClick: (row: number, index: number) => void;
  }
}

/** "42 tokens · gpt2 | 40 tokens · cl100k_base", or what failed, one part per tokenizer. */
export function summary(results: ResultOrError[]): string {
  if (results.length === 0) {
    return 'No results';
  }
  return results
    .map(r =>
      isError(r) ? `${r.tokenizer}: error` : tokensOf(r.tokenizer, r.n_tokens)
    )
    .join(' | ');
}

/** What the status adds when only the first `shown` of `total` characters were tokenized. */
export function cutNote(shown: number, total: number): string {
  return shown < total
    ? ` (first ${n(shown)} of ${n(total)} characters; see Max characters in the settings)`
    : '';
}

/** "42 tokens · gpt2" */
function tokensOf(tokenizer: string, count: number): string {
  return `${n(count)} ${count === 1 ? 'token' : 'tokens'} · ${tokenizer}`;
}

function sourceLine(focus: IFocusedText | null): string {
  if (focus?.selection) {
    return `Selection in ${focus.label}: ${n(codePointCount(focus.text))} of ${n(focus.sourceChars)} characters`;
  }
  if (focus) {
    // A file name keeps its own spelling; "code cell 2" starts the line with a capital.
    const label = focus.kind === 'file' ? focus.label : capital(focus.label);
    return `${label}: ${n(focus.sourceChars)} characters`;
  }
  return '';
}

/** Numbers as the whole panel writes them, whatever the browser's locale. */
function n(k: number): string {
  return k.toLocaleString('en-US');
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
