/**
 * The Tokens side panel: follows the text that has focus (a notebook cell, a file, a selection)
 * and shows how the chosen tokenizers split it, through the same view as the notebook widget.
 * This is its life cycle (when to ask, which answer still counts); `panel_view.ts` draws.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { codePointIndex } from '../render/offsets';
import {
  isError,
  ITokenCounts,
  ITokenizerInfo,
  ITokenizersReply,
  ResultOrError
} from '../render/types';
import { LocalModel } from '../widgets/model';
import { ITokensState } from '../widgets/tokens/view';
import { TokenizerChooser } from './chooser';
import {
  DEFAULT_CONFIG,
  IPanelConfig,
  VIEW_TRAITS,
  viewTraits
} from './config';
import { PageCounter } from './counting';
import { FocusFollower, IFocusedText } from './follow';
import { tokenLensIcon } from './icon';
import { Pacer } from './pace';
import { cutNote, PanelView, summary } from './panel_view';
import { RestExplainer, SERVER_MISSING_MESSAGE } from './request';
import { IServerProblem, TokenServer, versionNotice } from './server';

/**
 * Texts longer than this get their counts from a counts-only request sent beside the full one:
 * the count then paints in tens of milliseconds while the tokens (megabytes of JSON for a long
 * text) are still on their way.
 */
const COUNTS_FIRST_CHARS = 20_000;

/** The status line's word for a panel that runs with no server at all (JupyterLite). */
const SERVERLESS = 'in the page (no server)';

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
        if (problem.missing && !this._siteTried) {
          void this._useSite(problem).finally(() => this._settle());
          return;
        }
        this._settle();
        this._view.clearTokens();
        this._showServerProblem(problem);
      }
    });
    this._counter = new PageCounter({
      serverSettings,
      onChange: () => {
        this._view.markBrowserCounts(this._counter.names);
        this._changedInPage.emit();
        if (this._counter.serverless) {
          this._schedule(); // a tokenizer's file came: draw with it
        }
      },
      onMismatch: tokenizer => this._view.markMismatch(tokenizer)
    });
    this._config = { ...DEFAULT_CONFIG };
    this._pacer = new Pacer(() => this._refresh(), this._config.debounceMs);

    this._chooser = new TokenizerChooser({
      onChange: names => {
        this._config = { ...this._config, tokenizers: names };
        this._configChanged.emit({ tokenizers: names });
        this._schedule();
      }
    });
    this._chooser.setChosen(this._config.tokenizers);

    this._model = new LocalModel<ITokensState>(viewTraits(this._config));
    // The view's own toolbar switches ids, whitespace, colours, layout: kept in the settings.
    for (const [key, trait] of VIEW_TRAITS) {
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
    const rest = new RestExplainer(serverSettings);
    this._view = new PanelView(this.node, {
      chooser: this._chooser,
      model: this._model,
      // the token card asks the server why a token has its id; with none, the page's files say
      explainer: {
        explain: (tokenizer, ids) =>
          this._counter.serverless
            ? this._counter.explainHere(tokenizer, ids)
            : rest.explain(tokenizer, ids)
      },
      onTokenClick: (row, index) => this._selectToken(row, index)
    });

    this._follower.changed.connect(this._schedule, this);
    this._view.showStatus('Loading tokenizers…');
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

  /** Settles once the panel knows whether a server answers (and, where none does, whether the
   * page runs everything from the static site's files). */
  get settled(): Promise<void> {
    return this._settled;
  }

  /** True once the page runs without a server (JupyterLite). */
  get serverless(): boolean {
    return this._counter.serverless;
  }

  /** Emits when the tokenizers run in the page change (one came, one was dropped). */
  get changedInPage(): ISignal<this, void> {
    return this._changedInPage;
  }

  /**
   * The count of `text` by `tokenizer`, made in the page (its file fetched the first time);
   * null while it is not there yet, or when the page cannot say for this text.
   */
  countInPage(text: string, tokenizer: string): number | null {
    this._counter.load([tokenizer], this._available());
    return this._counter.countOne(
      text,
      tokenizer,
      this._config.addSpecialTokens
    );
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
    this._model.set(viewTraits(next));
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
    const available = (this._available() ?? []).map(t => t.name);
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
    this._view.dispose();
    Signal.clearData(this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      this._schedule();
    }
  }

  private _schedule(): void {
    if (!this.isVisible) {
      // Like ActiveCellTool: no work while hidden; catch up when shown.
      this._stale = true;
      return;
    }
    this._counter.load(this.selected, this._available());
    if (this._countHere()) {
      // The count is on its way to the screen: ask the server (the text's copy, the request)
      // once this frame is painted, not in the keystroke's task.
      const seq = this._counter.seq;
      afterPaint(() => {
        if (seq === this._counter.seq && !this.isDisposed) {
          this._pacer.invoke();
        }
      });
    } else {
      this._pacer.invoke();
    }
  }

  /**
   * Count the focused text here, now, when every chosen tokenizer can be counted in the
   * browser: the counts then paint in the same frame as the typed character. The server's
   * answer follows with the tokens, and checks these counts. True when counted here.
   */
  private _countHere(): boolean {
    if (!this._counter.ready || this._available() === null) {
      return false;
    }
    const focus = this._follower.current();
    const names = this.selected;
    if (!focus || names.length === 0) {
      return false;
    }
    const text = this._cut(focus.text);
    const counts = this._counter.count(
      text,
      names,
      this._config.addSpecialTokens
    );
    if (!counts) {
      return false;
    }
    this._view.showSource(focus);
    this._showCounts(
      focus,
      text,
      names,
      counts.map(n => ({ n_tokens: n })),
      'browser'
    );
    this._drawHere(focus, text, names);
    return true;
  }

  /**
   * The tokens of `text`, made here and drawn in the frame after the keystroke's (which paints
   * the typed character and the count): requested from that frame's own callbacks, the drawing
   * runs first thing in the next frame, so the typed character is not kept waiting for it and
   * no task queued meanwhile pushes it a frame later. A newer keystroke's drawing replaces this
   * one unseen.
   */
  private _drawHere(focus: IFocusedText, text: string, names: string[]): void {
    const special = this._config.addSpecialTokens;
    const here = this._counter.countedFor(text, special);
    if (!here || !here.later) {
      return; // counted only (a text not seen before): the server's answer draws the chips
    }
    const seq = this._counter.seq;
    const draw = () => {
      if (seq !== this._counter.seq || this.isDisposed) {
        return;
      }
      const results = this._counter.tokensFor(text, names, special);
      if (!results) {
        return;
      }
      this._pageDrawn = seq;
      this._shown = { focus: { ...focus, text }, results, index: null };
      this._view.drawTokens(results, String(text.length));
      performance.mark('tokenlens:drawn-here');
    };
    requestAnimationFrame(() => requestAnimationFrame(draw));
  }

  /** The tokenizers to offer: the server's, or without a server the static site's. */
  private _available(): ITokenizerInfo[] | null {
    return this._counter.serverless ? this._site : this._server.available;
  }

  /**
   * The server part is not answering: where the page was served with its tokenizers' files
   * (JupyterLite), everything runs in the page; else the problem is shown as before.
   */
  private async _useSite(problem: IServerProblem): Promise<void> {
    this._siteTried = true;
    try {
      this._site = await this._counter.useSite();
    } catch {
      this._view.clearTokens();
      this._showServerProblem(problem);
      return;
    }
    this._chooser.setAvailable(this._site);
    this._chooser.setChosen(this.selected);
    this._view.showNotice(null);
    this._view.showStatus(`Loading tokenizers ${SERVERLESS}…`);
    this._schedule();
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

  /** The server's list came: offer its tokenizers, and say so if its version is not ours. */
  private _onProbed(reply: ITokenizersReply): void {
    this._settle();
    this._chooser.setAvailable(this._server.available ?? []);
    this._chooser.setChosen(this.selected);
    const notice = versionNotice(String(reply.version ?? ''));
    this._view.showNotice(notice === null ? null : 'version', notice ?? '');
    this._schedule();
  }

  private _showServerProblem(problem: IServerProblem): void {
    if (problem.missing) {
      this._view.showNotice('missing', SERVER_MISSING_MESSAGE);
    }
    this._view.showStatus(problem.status, 'error');
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
    if (this._counter.serverless) {
      this._refreshHere();
      return;
    }
    if (this._server.available === null) {
      // The probe failed before (server missing?): try again now that someone looks.
      await this._server.probe();
      if (seq !== this._seq || this._server.available === null) {
        return;
      }
    }
    const focus = this._follower.current();
    this._view.showSource(focus);
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
    this._view.setBusy(true);
    // Marks for profiling (the Performance panel of the browser's devtools; bench_panel.py).
    performance.mark('tokenlens:request');
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
        if (seq === this._seq && !this.isDisposed && this._view.busy) {
          this._showCounts(focus, shownText, names, counts, 'server');
        }
      });
    }
    const { results, down } = await this._server.tokenize(text, names, special);
    if (seq !== this._seq || this.isDisposed) {
      return; // The user moved on; a newer request owns the view.
    }
    performance.mark('tokenlens:answer');
    this._view.setBusy(false);
    if (down !== null) {
      this._server.lost(down);
      return;
    }
    if (this._server.answered()) {
      this._view.showNotice(null);
    }
    const confirmed = this._counter.check(text, special, results);
    const overtaken = this._counter.seq !== countedHereSeq;
    // The page already drew these very tokens (confirmed), or a newer text's: nothing to redraw.
    const drawnHere =
      this._pageDrawn > countedHereSeq ||
      (confirmed && this._pageDrawn === countedHereSeq);
    this._show(
      { ...focus, text },
      results,
      summary(results) + cutNote(text.length, focus.text.length),
      overtaken,
      confirmed,
      drawnHere
    );
  }

  /** Without a server: the focused text tokenized here, by every chosen tokenizer. */
  private _refreshHere(): void {
    const focus = this._follower.current();
    this._view.showSource(focus);
    const names = this.selected;
    if (!focus || names.length === 0) {
      this._show(
        null,
        [],
        focus
          ? 'Choose a tokenizer above.'
          : 'Nothing to tokenize: open a notebook or a text file.'
      );
      return;
    }
    const text = this._cut(focus.text);
    if (text.length === 0) {
      this._show(null, [], focus.kind === 'file' ? 'Empty file' : 'Empty cell');
      return;
    }
    const results = this._counter.tokenizeHere(
      text,
      names,
      this._config.addSpecialTokens
    );
    const status =
      summary(results) +
      cutNote(text.length, focus.text.length) +
      ` · ${SERVERLESS}`;
    this._show({ ...focus, text }, results, status);
  }

  /**
   * Counts shown before the tokens, for `text` (the focused text, perhaps cut): made here in
   * the browser, or asked of the server for a long text while its tokens are on their way.
   */
  private _showCounts(
    focus: IFocusedText,
    text: string,
    names: string[],
    counts: (Pick<ITokenCounts, 'n_tokens'> | null)[],
    by: 'browser' | 'server'
  ): void {
    if (!counts.some(Boolean)) {
      return;
    }
    const note =
      cutNote(text.length, focus.text.length) +
      (this._counter.serverless ? ` · ${SERVERLESS}` : '');
    this._view.showCounts(text.length, names, counts, note, by);
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
    confirmed = false,
    drawnHere = false
  ): void {
    if (drawnHere) {
      // the view shows what the page drew; the server's answer only confirms its counts
      if (!overtaken) {
        this._view.showAnswer(
          results,
          status,
          focus ? String(focus.text.length) : ''
        );
      }
      this._view.setBusy(false);
      return;
    }
    this._shown = focus ? { focus, results, index: null } : null;
    const drawnChars = focus ? String(focus.text.length) : '';
    const seq = this._seq;
    const draw = () => {
      if (seq !== this._seq || this.isDisposed) {
        return;
      }
      this._view.drawTokens(results, drawnChars);
    };
    if (overtaken) {
      this._view.setBusy(false);
      draw();
      return;
    }
    this._view.showAnswer(results, status, drawnChars);
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
      afterPaint(draw);
    }
  }

  /** A clicked token (`index` in the row of result `row`) selects its characters in the editor. */
  private _selectToken(row: number, index: number): void {
    const shown = this._shown;
    if (!shown) {
      return;
    }
    const result = shown.results[row];
    const span = result && !isError(result) ? result.spans[index] : null;
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
      this._view.markSelected(start, end);
    }
  }

  private _follower: FocusFollower;
  private _server: TokenServer;
  private _counter: PageCounter;
  private _config: IPanelConfig;
  private _pacer: Pacer;
  private _chooser: TokenizerChooser;
  private _model: LocalModel<ITokensState>;
  private _view: PanelView;
  private _shown: {
    focus: IFocusedText;
    results: ResultOrError[];
    index: Uint32Array | null;
  } | null = null;
  private _seq = 0;
  /** The page's count (seq) whose tokens were last drawn here; 0 when none. */
  private _pageDrawn = 0;
  private _site: ITokenizerInfo[] | null = null;
  private _siteTried = false;
  private _stale = true;
  private _configChanged = new Signal<this, Partial<IPanelConfig>>(this);
  private _counted = new Signal<this, ICount>(this);
  private _changedInPage = new Signal<this, void>(this);
  private _settle: () => void = () => undefined;
  private readonly _settled = new Promise<void>(
    resolve => (this._settle = resolve)
  );
}

export namespace TokenLensPanel {
  export interface IOptions {
    follower: FocusFollower;
    serverSettings?: ServerConnection.ISettings;
  }
}

/** Run `fn` in a task of its own once the next frame is painted. */
function afterPaint(fn: () => void): void {
  requestAnimationFrame(() => setTimeout(fn, 0));
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
