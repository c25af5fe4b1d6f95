/**
 * The Tokens side panel: follows the text that has focus (a notebook cell, a file, a selection)
 * and shows how the chosen tokenizers split it, through the same view as the notebook widget.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { codePointCount, codePointIndex } from '../render/offsets';
import {
  isError,
  ITokenCounts,
  ITokenizersReply,
  ResultOrError
} from '../render/types';
import { LocalModel } from '../widgets/model';
import { ITokensState, render } from '../widgets/tokens/view';
import { TokenizerChooser } from './chooser';
import { DEFAULT_CONFIG, IPanelConfig } from './config';
import { PageCounter } from './counting';
import { FocusFollower, IFocusedText } from './follow';
import { tokenLensIcon } from './icon';
import { Pacer } from './pace';
import { RestExplainer, SERVER_MISSING_MESSAGE } from './request';
import { IServerProblem, TokenServer, versionNotice } from './server';

/**
 * Texts longer than this get their counts from a counts-only request sent beside the full one:
 * the count then paints in tens of milliseconds while the tokens (megabytes of JSON for a long
 * text) are still on their way.
 */
const COUNTS_FIRST_CHARS = 20_000;

/** An answer taking longer than this dims the view, so it does not pass for the new text's. */
const SLOW_MS = 500;

/** The model traits the view's toolbar writes, and the settings they are kept in. */
const TRAITS: [keyof IPanelConfig, keyof ITokensState][] = [
  ['showIds', 'show_ids'],
  ['showWhitespace', 'show_whitespace'],
  ['colorBy', 'color_by'],
  ['layout', 'compare_layout'],
  ['addSpecialTokens', 'add_special_tokens']
];

/** The count the status bar shows: the first tokenizer on the focused text. */
export interface ICount {
  tokenizer: string;
  label: string;
  count: number | null;
  error?: string;
}

export class TokenLensPanel extends Widget {
  constructor(options: TokenLensPanel.IOptions) {
    super();
    this.id = 'tokenlens-panel';
    this.addClass('tl-panel');
    this.title.icon = tokenLensIcon;
    this.title.label = 'Tokens';
    this.title.caption = 'Tokens: how the focused text splits into tokens';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Token Lens');
    this._follower = options.follower;
    const serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._server = new TokenServer({
      serverSettings,
      onProbed: reply => this._onProbed(reply),
      onLost: problem => {
        this._model.set({ results: [], error: '' });
        this._showServerProblem(problem);
      }
    });
    this._counter = new PageCounter({
      serverSettings,
      // Which tokenizers are counted in the browser: a hook for tests and benchmarks.
      onChange: () => {
        this.node.dataset.browserCounts = this._counter.names.join(' ');
      },
      onMismatch: tokenizer => {
        this.node.dataset.countMismatch = tokenizer;
      }
    });
    this._config = { ...DEFAULT_CONFIG };
    this._pacer = new Pacer(() => this._refresh(), this._config.debounceMs);

    this._notice = document.createElement('div');
    this._notice.className = 'tl-notice';
    this._notice.setAttribute('role', 'alert');
    this._notice.hidden = true;

    this._chooser = new TokenizerChooser({
      onChange: names => {
        this._config = { ...this._config, tokenizers: names };
        this._configChanged.emit({ tokenizers: names });
        this._schedule();
      }
    });
    this._chooser.setChosen(this._config.tokenizers);

    this._source = document.createElement('div');
    this._source.className = 'tl-source';

    this._status = document.createElement('div');
    this._status.className = 'tl-status';
    this._status.setAttribute('role', 'status');
    this._status.setAttribute('aria-live', 'polite');

    const view = document.createElement('div');
    view.className = 'tl-view';
    view.addEventListener('click', event => this._onViewClick(event));
    this.node.append(
      this._notice,
      this._chooser.node,
      this._source,
      this._status,
      view
    );

    this._model = new LocalModel<ITokensState>(this._traits());
    // The view's own toolbar switches ids, whitespace, colours, layout: kept in the settings.
    for (const [key, trait] of TRAITS) {
      this._model.on(`change:${trait}`, () => {
        const value = this._model.get(trait);
        if (value !== this._config[key]) {
          this._config = { ...this._config, [key]: value };
          this._configChanged.emit({ [key]: value });
          if (key === 'addSpecialTokens') {
            this._schedule();
          }
        }
      });
    }
    this._disposeView = render({
      model: this._model,
      el: view,
      explainer: new RestExplainer(serverSettings)
    });

    this._follower.changed.connect(this._schedule, this);
    this._setStatus('Loading tokenizers…');
    void this._server.probe();
  }

  /** Emits the settings a user changed from the panel (to persist them). */
  get configChanged(): ISignal<this, Partial<IPanelConfig>> {
    return this._configChanged;
  }

  /** Emits the first tokenizer's count each time the panel shows a new result. */
  get counted(): ISignal<this, ICount> {
    return this._counted;
  }

  get config(): Readonly<IPanelConfig> {
    return this._config;
  }

  /** Apply settings; safe to call with unchanged values. */
  configure(config: Partial<IPanelConfig>): void {
    const next = { ...this._config, ...config };
    this._pacer.gapMs = Math.max(0, next.debounceMs);
    const retokenize =
      !sameList(next.tokenizers, this._config.tokenizers) ||
      next.maxChars !== this._config.maxChars ||
      next.addSpecialTokens !== this._config.addSpecialTokens;
    this._config = next;
    this._model.set(this._traits());
    if (retokenize) {
      this._chooser.setChosen(next.tokenizers);
      this._schedule();
    }
  }

  /** The tokenizers shown, in the order chosen (typed names included). */
  get selected(): string[] {
    const chosen = Array.from(new Set(this._config.tokenizers.filter(Boolean)));
    if (chosen.length > 0) {
      return chosen;
    }
    const available = (this._server.available ?? []).map(t => t.name);
    return available.includes('gpt2') ? ['gpt2'] : available.slice(0, 1);
  }

  /** Add a tokenizer by name; without one, put the keyboard in the chooser's search field. */
  addTokenizer(name?: string): void {
    if (name) {
      this._chooser.add(name);
    } else {
      this._chooser.focus();
    }
  }

  /** The ids the panel shows for `tokenizer` (default: the first) as a Python list. */
  idsAsPython(tokenizer?: string): string | null {
    const result = this._shown?.results.find(
      r => !isError(r) && (!tokenizer || r.tokenizer === tokenizer)
    );
    if (!result || isError(result)) {
      return null;
    }
    return `[${result.ids.join(', ')}]`;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._follower.changed.disconnect(this._schedule, this);
    this._pacer.dispose();
    this._counter.dispose();
    this._disposeView();
    Signal.clearData(this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      this._schedule();
    }
  }

  private _traits(): Partial<ITokensState> {
    const c = this._config;
    return {
      show_ids: c.showIds,
      show_whitespace: c.showWhitespace,
      color_by: c.colorBy,
      compare_layout: c.layout,
      add_special_tokens: c.addSpecialTokens,
      can_toggle_special: true
    };
  }

  private _schedule(): void {
    if (!this.isVisible) {
      // Like ActiveCellTool: no work while hidden; catch up when shown.
      this._stale = true;
      return;
    }
    this._counter.load(this.selected, this._server.available);
    this._countHere();
    this._pacer.invoke();
  }

  /**
   * Count the focused text here, now, when every chosen tokenizer can be counted in the
   * browser: the counts then paint in the same frame as the typed character. The server's
   * answer follows with the tokens, and checks these counts.
   */
  private _countHere(): void {
    if (!this._counter.ready || this._server.available === null) {
      return;
    }
    const focus = this._follower.current();
    const names = this.selected;
    if (!focus || names.length === 0) {
      return;
    }
    const text = this._cut(focus.text);
    const counts = this._counter.count(
      text,
      names,
      this._config.addSpecialTokens
    );
    if (!counts) {
      return;
    }
    this._showSource(focus);
    this._showCounts(
      { ...focus, text },
      names,
      counts.map(n => ({ n_tokens: n })),
      this._cutNote(text, focus),
      'browser'
    );
  }

  /** The text cut at Max characters, without splitting a surrogate pair. */
  private _cut(text: string): string {
    if (text.length <= this._config.maxChars) {
      return text;
    }
    let cut = Math.max(0, this._config.maxChars);
    const c = text.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) {
      cut--;
    }
    return text.slice(0, cut);
  }

  private _cutNote(text: string, focus: IFocusedText): string {
    const n = (k: number) => k.toLocaleString('en-US');
    return text.length < focus.text.length
      ? ` (first ${n(text.length)} of ${n(focus.text.length)} characters; see Max characters in the settings)`
      : '';
  }

  /** The server's list came: offer its tokenizers, and say so if its version is not ours. */
  private _onProbed(reply: ITokenizersReply): void {
    this._chooser.setAvailable(this._server.available ?? []);
    this._chooser.setChosen(this.selected);
    const notice = versionNotice(String(reply.version ?? ''));
    this._setNotice(notice === null ? null : 'version', notice ?? '');
    this._schedule();
  }

  private _showServerProblem(problem: IServerProblem): void {
    if (problem.missing) {
      this._setNotice('missing', SERVER_MISSING_MESSAGE);
    }
    this._setStatus(problem.status, 'error');
    // The status bar says so too, instead of a count that is not coming.
    this._counted.emit({
      tokenizer: this.selected[0] ?? 'tokens',
      label: '',
      count: null,
      error: problem.detail
    });
  }

  private async _refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    if (!this.isVisible) {
      this._stale = true;
      return;
    }
    this._stale = false;
    const seq = ++this._seq;
    if (this._server.available === null) {
      // The probe failed before (server missing?): try again now that someone looks.
      await this._server.probe();
      if (seq !== this._seq || this._server.available === null) {
        return;
      }
    }
    const focus = this._follower.current();
    this._showSource(focus);
    if (!focus) {
      this._show(
        null,
        [],
        'Nothing to tokenize: open a notebook or a text file.'
      );
      return;
    }
    const names = this.selected;
    if (names.length === 0) {
      this._show(null, [], 'Choose a tokenizer above.');
      return;
    }
    const text = this._cut(focus.text);
    if (text.length === 0) {
      this._show(null, [], focus.kind === 'file' ? 'Empty file' : 'Empty cell');
      return;
    }
    this._setBusy(true);
    // Marks for profiling (the Performance panel of the browser's devtools; bench_panel.py).
    performance.mark('tokenlens:request');
    const cutNote = this._cutNote(text, focus);
    const special = this._config.addSpecialTokens;
    // Counts shown after this one are for a newer text: this answer then draws only its tokens.
    const countedHereSeq = this._counter.seq;
    if (
      text.length > COUNTS_FIRST_CHARS &&
      !this._counter.countedFor(text, special)
    ) {
      const shownText = text;
      void this._server.counts(shownText, names, special).then(counts => {
        // Only while the full answer for this text has not been shown yet.
        if (
          seq === this._seq &&
          !this.isDisposed &&
          this.node.dataset.busy === 'true'
        ) {
          this._showCounts(
            { ...focus, text: shownText },
            names,
            counts,
            cutNote,
            'server'
          );
        }
      });
    }
    const { results, down } = await this._server.tokenize(text, names, special);
    if (seq !== this._seq || this.isDisposed) {
      return; // The user moved on; a newer request owns the view.
    }
    performance.mark('tokenlens:answer');
    this._setBusy(false);
    if (down !== null) {
      this._server.lost(down);
      return;
    }
    if (this._server.answered()) {
      this._setNotice(null);
    }
    const confirmed = this._counter.check(text, special, results);
    const overtaken = this._counter.seq !== countedHereSeq;
    this._show(
      { ...focus, text },
      results,
      summary(results) + cutNote,
      overtaken,
      confirmed
    );
  }

  /**
   * Counts shown before the tokens: made here in the browser, or asked of the server for a
   * long text while its tokens are on their way.
   */
  private _showCounts(
    focus: IFocusedText,
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
    if (map.size === 0) {
      return;
    }
    this._chooser.setCounts(map);
    const parts = names.map((name, k) => {
      const n = counts[k]?.n_tokens;
      return n === undefined ? `${name}: …` : tokensOf(name, n);
    });
    // Counted here, they are the final counts: the status reads as it will once the tokens come.
    const pending = by === 'server' ? ' · drawing tokens…' : '';
    this._setStatus(`${parts.join(' | ')}${cutNote}${pending}`);
    this.node.dataset.chars = String(focus.text.length);
    this.node.dataset.countedBy = by;
    const first = counts[0];
    this._counted.emit({
      tokenizer: names[0] ?? '',
      label: focus.label,
      count: first ? first.n_tokens : null
    });
  }

  /**
   * Show an answer. `overtaken`: counts for a newer text were made in the browser meanwhile;
   * only the tokens are drawn then (the view catches up, the counts stay the newer ones).
   * `confirmed`: the counts shown, made in the browser, are the answer's; nothing else changes.
   * In both cases no new count waits to be painted, so the tokens are drawn at once.
   */
  private _show(
    focus: IFocusedText | null,
    results: ResultOrError[],
    status: string,
    overtaken = false,
    confirmed = false
  ): void {
    this._shown = focus ? { focus, results, index: null } : null;
    const drawnChars = focus ? String(focus.text.length) : '';
    const seq = this._seq;
    const draw = () => {
      if (seq !== this._seq || this.isDisposed) {
        return;
      }
      this._model.set({ results, error: '' });
      // Which text the token view is drawn for: a hook for tests and benchmarks.
      this.node.dataset.drawnChars = drawnChars;
    };
    if (overtaken) {
      this._setBusy(false);
      draw();
      return;
    }
    const failed = results.length > 0 && results.every(isError);
    this._setStatus(status, failed ? 'error' : 'ok');
    const counts = new Map<string, number | string>();
    for (const r of results) {
      counts.set(r.tokenizer, isError(r) ? r.error : r.n_tokens);
    }
    this._chooser.setCounts(counts);
    this._setBusy(false);
    // Which text the counts are for (its length in UTF-16 units): a hook for tests and benchmarks.
    this.node.dataset.chars = drawnChars;
    this.node.dataset.countedBy = 'server';
    const first = results[0];
    this._counted.emit({
      tokenizer: first?.tokenizer ?? this.selected[0] ?? '',
      label: focus?.label ?? '',
      count: first && !isError(first) ? first.n_tokens : null,
      error: first && isError(first) ? first.error : undefined
    });
    // The counts paint first (a small change, one cheap frame); the token view, whose first
    // paint costs hundreds of milliseconds on a slow machine, is drawn in the next task. A
    // newer answer arriving meanwhile replaces it without drawing this one.
    if (results.length === 0 || confirmed) {
      draw();
    } else {
      requestAnimationFrame(() => setTimeout(draw, 0));
    }
  }

  /**
   * Waiting for the server. The view is dimmed only when an answer is slow to come: dimming
   * it for every keystroke would repaint the whole view twice per keystroke.
   */
  private _setBusy(busy: boolean): void {
    this.node.dataset.busy = String(busy);
    window.clearTimeout(this._slowTimer);
    if (busy) {
      this._slowTimer = window.setTimeout(() => {
        this.node.dataset.slow = 'true';
      }, SLOW_MS);
    } else if (this.node.dataset.slow) {
      delete this.node.dataset.slow;
    }
  }

  private _showSource(focus: IFocusedText | null): void {
    const n = (k: number) => k.toLocaleString('en-US');
    let text = '';
    if (focus?.selection) {
      text = `Selection in ${focus.label}: ${n(codePointCount(focus.text))} of ${n(focus.sourceChars)} characters`;
    } else if (focus) {
      // A file name keeps its own spelling; "code cell 2" starts the line with a capital.
      const label = focus.kind === 'file' ? focus.label : capital(focus.label);
      text = `${label}: ${n(focus.sourceChars)} characters`;
    }
    this._source.textContent = text;
    this.node.dataset.sourceKind = focus?.kind ?? 'none';
    this.node.dataset.selection = String(!!focus?.selection);
  }

  private _setStatus(text: string, kind: 'ok' | 'error' = 'ok'): void {
    this._status.textContent = text;
    this._status.dataset.kind = kind;
  }

  private _setNotice(kind: 'missing' | 'version' | null, text = ''): void {
    this._notice.hidden = kind === null;
    this._notice.dataset.kind = kind ?? '';
    this._notice.textContent = text;
  }

  /** A click on a token selects its characters in the editor it came from. */
  private _onViewClick(event: MouseEvent): void {
    const shown = this._shown;
    const target = event.target as HTMLElement | null;
    const token = target?.closest<HTMLElement>(
      '.tl-token[data-index], .tl-bar[data-index]'
    );
    const row = token?.closest<HTMLElement>('[data-r]');
    if (!shown || !token || !row) {
      return;
    }
    const result = shown.results[Number(row.dataset.r)];
    const span =
      result && !isError(result)
        ? result.spans[Number(token.dataset.index)]
        : null;
    if (!span || span[1] <= span[0]) {
      return; // special tokens cover no characters
    }
    const now = this._follower.current();
    // Only while the editor still holds the text these tokens were made from.
    if (
      !now ||
      now.offset !== shown.focus.offset ||
      !now.text.startsWith(shown.focus.text)
    ) {
      return;
    }
    shown.index ??= codePointIndex(shown.focus.text);
    const last = shown.index.length - 1;
    const start = shown.index[Math.min(span[0], last)] + shown.focus.offset;
    const end = shown.index[Math.min(span[1], last)] + shown.focus.offset;
    if (this._follower.select(start, end)) {
      this.node.dataset.selected = `${start}:${end}`;
    }
  }

  private _follower: FocusFollower;
  private _server: TokenServer;
  private _counter: PageCounter;
  private _config: IPanelConfig;
  private _pacer: Pacer;
  private _chooser: TokenizerChooser;
  private _notice: HTMLElement;
  private _source: HTMLElement;
  private _status: HTMLElement;
  private _model: LocalModel<ITokensState>;
  private _disposeView: () => void;
  private _shown: {
    focus: IFocusedText;
    results: ResultOrError[];
    index: Uint32Array | null;
  } | null = null;
  private _seq = 0;
  private _slowTimer = 0;
  private _stale = true;
  private _configChanged = new Signal<this, Partial<IPanelConfig>>(this);
  private _counted = new Signal<this, ICount>(this);
}

export namespace TokenLensPanel {
  export interface IOptions {
    follower: FocusFollower;
    serverSettings?: ServerConnection.ISettings;
  }
}

/** "42 tokens · gpt2", one part per tokenizer. */
function summary(results: ResultOrError[]): string {
  if (results.length === 0) {
    return 'No results';
  }
  return results
    .map(r =>
      isError(r) ? `${r.tokenizer}: error` : tokensOf(r.tokenizer, r.n_tokens)
    )
    .join(' | ');
}

/** "42 tokens · gpt2" */
function tokensOf(tokenizer: string, n: number): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? 'token' : 'tokens'} · ${tokenizer}`;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
