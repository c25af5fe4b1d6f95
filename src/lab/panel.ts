/**
 * The Tokens side panel: follows the text that has focus (a notebook cell, a file, a selection)
 * and shows how the chosen tokenizers split it, through the same view as the notebook widget.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { BrowserBpe } from './bpe';
import { TokenizerChooser } from './chooser';
import { FocusFollower, IFocusedText } from './follow';
import { tokenLensIcon } from './icon';
import { LocalModel } from '../widgets/model';
import { Pacer } from './pace';
import { codePointCount, codePointIndex } from '../render/offsets';
import {
  ColorBy,
  CompareLayout,
  ITokenCounts,
  ITokenizerInfo,
  ResultOrError,
  isError
} from '../render/types';
import {
  countTokens,
  errorText,
  listTokenizers,
  rankTable,
  RestExplainer,
  SERVER_MISSING_MESSAGE,
  tokenize,
  TokenlensError
} from './request';
import { FRONTEND_VERSION, sameVersion } from './version';
import { render } from '../widgets/tokens/view';

/** What the settings (or their defaults) say. */
export interface IPanelConfig {
  tokenizers: string[];
  debounceMs: number;
  showIds: boolean;
  showWhitespace: boolean;
  colorBy: ColorBy;
  layout: CompareLayout;
  maxChars: number;
  addSpecialTokens: boolean;
}

/**
 * Texts longer than this get their counts from a counts-only request sent beside the full one:
 * the count then paints in tens of milliseconds while the tokens (megabytes of JSON for a long
 * text) are still on their way.
 */
const COUNTS_FIRST_CHARS = 20_000;

/**
 * The tiktoken encodings are counted in the browser too (src/bpe.ts), in the keystroke's own
 * task, so the count paints with the typed character; the server's answer checks it. Up to this
 * many characters times tokenizers: beyond, the counting would cost the keystroke a frame.
 */
const BROWSER_COUNT_CHARS = 120_000;

/** An answer taking longer than this dims the view, so it does not pass for the new text's. */
const SLOW_MS = 500;

export const DEFAULT_CONFIG: IPanelConfig = {
  tokenizers: ['gpt2'],
  debounceMs: 150,
  showIds: true,
  showWhitespace: true,
  colorBy: 'id',
  layout: 'aligned',
  maxChars: 1_000_000,
  addSpecialTokens: true
};

/** The model traits the view's toolbar writes, and the settings they are kept in. */
const TRAITS: [keyof IPanelConfig, string][] = [
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
    this._serverSettings = options.serverSettings ?? ServerConnection.makeSettings();
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
    this.node.append(this._notice, this._chooser.node, this._source, this._status, view);

    this._model = new LocalModel(this._traits());
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
      explainer: new RestExplainer(this._serverSettings)
    });

    this._follower.changed.connect(this._schedule, this);
    this._setStatus('Loading tokenizers…');
    void this._probe();
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
    const available = (this._available ?? []).map(t => t.name);
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

  private _traits(): Record<string, unknown> {
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
    this._loadCounters();
    this._countHere();
    this._pacer.invoke();
  }

  /** Fetch the rank tables of the chosen tiktoken encodings, once each, in the background. */
  private _loadCounters(): void {
    for (const name of this.selected) {
      if (this._bpeAsked.has(name)) {
        continue;
      }
      const info = (this._available ?? []).find(t => t.name === name);
      if (info?.kind !== 'tiktoken') {
        continue; // asked again once the server's list has it (typed names, a new registry entry)
      }
      this._bpeAsked.add(name);
      rankTable(name, this._serverSettings)
        .then(table => BrowserBpe.fromTable(table))
        .then(bpe => {
          if (bpe && !this.isDisposed) {
            this._bpe.set(name, bpe);
            this._markBrowserCounts();
          }
        })
        .catch(reason => {
          // Nothing lost: the server counts it, as it does every other tokenizer.
          console.warn(`tokenlens: ${name} is counted on the server only:`, reason);
        });
    }
  }

  /**
   * Count the focused text here, now, when every chosen tokenizer can be counted in the
   * browser: the counts then paint in the same frame as the typed character. The server's
   * answer follows with the tokens, and checks these counts.
   */
  private _countHere(): void {
    if (this._bpe.size === 0 || this._available === null) {
      return;
    }
    const focus = this._follower.current();
    const names = this.selected;
    if (!focus || names.length === 0) {
      return;
    }
    const text = this._cut(focus.text);
    if (text.length === 0 || text.length * names.length > BROWSER_COUNT_CHARS) {
      return;
    }
    const special = this._config.addSpecialTokens;
    const counts: number[] = [];
    const start = performance.now();
    for (const name of names) {
      const n = this._bpe.get(name)?.count(text, special);
      if (n === undefined || n === null) {
        return; // one of them is the server's to count: it counts all of them, as one answer
      }
      counts.push(n);
    }
    // What counting costs the keystroke (the Performance panel of devtools; bench_panel.py).
    performance.measure('tokenlens:count-here', { start, end: performance.now() });
    this._countedHere = { text, special, counts: new Map(names.map((name, k) => [name, counts[k]])) };
    this._countedHereSeq++;
    this._showSource(focus);
    this._showCounts(
      { ...focus, text },
      names,
      counts.map(n => ({ n_tokens: n })),
      this._cutNote(text, focus),
      'browser'
    );
  }

  /**
   * The server's answer for `text` against the counts made here for it: a tokenizer whose
   * count disagrees is counted on the server only from now on (the server's count is shown).
   * True when every count shown was made here and the server agrees with each.
   */
  private _checkCountedHere(text: string, special: boolean, results: ResultOrError[]): boolean {
    const here = this._countedHereFor(text, special);
    if (!here) {
      return false;
    }
    let agreed = results.length > 0;
    for (const r of results) {
      const mine = here.counts.get(r.tokenizer);
      agreed &&= !isError(r) && mine === r.n_tokens;
      if (!isError(r) && mine !== undefined && mine !== r.n_tokens) {
        this._bpe.delete(r.tokenizer);
        this._markBrowserCounts();
        this.node.dataset.countMismatch = r.tokenizer;
        console.warn(
          `tokenlens: ${r.tokenizer} counted ${mine} tokens in the browser and ${r.n_tokens} on ` +
            `the server for the same text; it is counted on the server only from now on. ` +
            'Please report this with the text.'
        );
      }
    }
    return agreed;
  }

  /** The counts made in the browser for this very text, if they were. */
  private _countedHereFor(text: string, special: boolean): TokenLensPanel['_countedHere'] {
    const here = this._countedHere;
    return here && here.text === text && here.special === special ? here : null;
  }

  /** Which tokenizers are counted in the browser: a hook for tests and benchmarks. */
  private _markBrowserCounts(): void {
    this.node.dataset.browserCounts = [...this._bpe.keys()].sort().join(' ');
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

  private async _probe(): Promise<void> {
    if (!this._probing) {
      this._probing = listTokenizers(this._serverSettings)
        .then(reply => {
          this._available = Array.isArray(reply.tokenizers) ? reply.tokenizers : [];
          this._serverMissing = false;
          this._chooser.setAvailable(this._available);
          this._chooser.setChosen(this.selected);
          this._checkVersion(String(reply.version ?? ''));
          this._schedule();
        })
        .catch(error => {
          this._available = null;
          this._model.set({ results: [], error: '' });
          this._showServerProblem(error);
        })
        .finally(() => {
          this._probing = null;
        });
    }
    return this._probing;
  }

  private _checkVersion(server: string): void {
    if (!server || sameVersion(server, FRONTEND_VERSION)) {
      this._setNotice(null);
      return;
    }
    this._setNotice(
      'version',
      `The tokenlens server part is version ${server}, but this panel is version ` +
        `${FRONTEND_VERSION}. Install one version of jupyterlab-tokenlens in the environment that ` +
        `runs JupyterLab (pip install "jupyterlab-tokenlens==${FRONTEND_VERSION}"), restart ` +
        'JupyterLab and reload this page.'
    );
  }

  private _showServerProblem(error: unknown): void {
    const missing = error instanceof TokenlensError && error.serverMissing;
    this._serverMissing = missing;
    const text = missing ? 'No tokens: the server part is not answering.' : errorText(error);
    if (missing) {
      this._setNotice('missing', SERVER_MISSING_MESSAGE);
    }
    this._setStatus(text, 'error');
    // The status bar says so too, instead of a count that is not coming.
    this._counted.emit({
      tokenizer: this.selected[0] ?? 'tokens',
      label: '',
      count: null,
      error: missing ? `${text} ${SERVER_MISSING_MESSAGE}` : text
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
    if (this._available === null) {
      // The probe failed before (server missing?): try again now that someone looks.
      await this._probe();
      if (seq !== this._seq || this._available === null) {
        return;
      }
    }
    const focus = this._follower.current();
    this._showSource(focus);
    if (!focus) {
      this._show(null, [], 'Nothing to tokenize: open a notebook or a text file.');
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
    const countedHereSeq = this._countedHereSeq;
    if (text.length > COUNTS_FIRST_CHARS && !this._countedHereFor(text, special)) {
      const shownText = text;
      void Promise.all(
        names.map(name =>
          countTokens(
            { text: shownText, tokenizers: [name], add_special_tokens: special },
            this._serverSettings
          ).then(
            reply => reply.results?.[0] ?? null,
            () => null // the full request reports the problem
          )
        )
      ).then(counts => {
        // Only while the full answer for this text has not been shown yet.
        if (seq === this._seq && !this.isDisposed && this.node.dataset.busy === 'true') {
          this._showCounts({ ...focus, text: shownText }, names, counts, cutNote, 'server');
        }
      });
    }
    // One request per tokenizer: they run side by side in the server's pool, each answer is
    // cached on its own, and an unknown name fails only its own row.
    const serverDown: unknown[] = [];
    const results = await Promise.all(
      names.map(name =>
        tokenize({ text, tokenizers: [name], add_special_tokens: special }, this._serverSettings)
          .then((payload): ResultOrError =>
            payload.results?.[0] ?? { tokenizer: name, error: 'The server sent no result.' }
          )
          .catch((error): ResultOrError => {
            if (error instanceof TokenlensError && error.serverMissing) {
              serverDown.push(error);
            }
            return { tokenizer: name, error: errorText(error) };
          })
      )
    );
    if (seq !== this._seq || this.isDisposed) {
      return; // The user moved on; a newer request owns the view.
    }
    performance.mark('tokenlens:answer');
    this._setBusy(false);
    if (serverDown.length > 0) {
      this._available = null;
      this._model.set({ results: [], error: '' });
      this._showServerProblem(serverDown[0]);
      return;
    }
    if (this._serverMissing) {
      this._serverMissing = false;
      this._setNotice(null);
    }
    const confirmed = this._checkCountedHere(text, special, results);
    const overtaken = this._countedHereSeq !== countedHereSeq;
    this._show({ ...focus, text }, results, summary(results) + cutNote, overtaken, confirmed);
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
    const token = target?.closest<HTMLElement>('.tl-token[data-index], .tl-bar[data-index]');
    const row = token?.closest<HTMLElement>('[data-r]');
    if (!shown || !token || !row) {
      return;
    }
    const result = shown.results[Number(row.dataset.r)];
    const span = result && !isError(result) ? result.spans[Number(token.dataset.index)] : null;
    if (!span || span[1] <= span[0]) {
      return; // special tokens cover no characters
    }
    const now = this._follower.current();
    // Only while the editor still holds the text these tokens were made from.
    if (!now || now.offset !== shown.focus.offset || !now.text.startsWith(shown.focus.text)) {
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
  private _serverSettings: ServerConnection.ISettings;
  private _config: IPanelConfig;
  private _pacer: Pacer;
  private _chooser: TokenizerChooser;
  private _notice: HTMLElement;
  private _source: HTMLElement;
  private _status: HTMLElement;
  private _model: LocalModel;
  private _disposeView: () => void;
  private _available: ITokenizerInfo[] | null = null;
  private _serverMissing = false;
  private _probing: Promise<void> | null = null;
  private _shown: {
    focus: IFocusedText;
    results: ResultOrError[];
    index: Uint32Array | null;
  } | null = null;
  private _seq = 0;
  private _slowTimer = 0;
  /** The tiktoken encodings ready to count in the browser, and the names already asked for. */
  private _bpe = new Map<string, BrowserBpe>();
  private _bpeAsked = new Set<string>();
  /** The last counts made in the browser, and how many times counts were made here. */
  private _countedHere: { text: string; special: boolean; counts: Map<string, number> } | null = null;
  private _countedHereSeq = 0;
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
      isError(r)
        ? `${r.tokenizer}: error`
        : tokensOf(r.tokenizer, r.n_tokens)
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
