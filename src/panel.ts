/**
 * The Tokens side panel: follows the active notebook cell and shows how the chosen
 * tokenizers split its source, through the same view as the notebook widget.
 */
import { INotebookTracker } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';
import { Debouncer } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { tokenLensIcon } from './icon';
import { LocalModel } from './model';
import { ITokenizerInfo, ResultOrError, isError } from './render/types';
import { errorText, listTokenizers, RestExplainer, tokenize } from './request';
import { render } from './view';

type ActiveCell = NonNullable<INotebookTracker['activeCell']>;

/** What the settings (or their defaults) say. */
export interface IPanelConfig {
  tokenizers: string[];
  debounceMs: number;
  showIds: boolean;
}

export const DEFAULT_CONFIG: IPanelConfig = {
  tokenizers: ['gpt2'],
  debounceMs: 150,
  showIds: true
};

export class TokenLensPanel extends Widget {
  constructor(options: TokenLensPanel.IOptions) {
    super();
    this.id = 'tokenlens-panel';
    this.addClass('tl-panel');
    this.title.icon = tokenLensIcon;
    this.title.label = 'Tokens';
    this.title.caption = 'Tokens: how the active cell splits into tokens';
    this._tracker = options.tracker;
    this._serverSettings = options.serverSettings ?? ServerConnection.makeSettings();
    this._config = { ...DEFAULT_CONFIG };
    this._debouncer = new Debouncer(() => this._refresh(), this._config.debounceMs);

    const controls = document.createElement('div');
    controls.className = 'tl-panel-controls';
    this._chooser = document.createElement('fieldset');
    this._chooser.className = 'tl-chooser';
    this._chooser.setAttribute('aria-label', 'Tokenizers to show');
    const legend = document.createElement('legend');
    legend.textContent = 'Tokenizers';
    this._chooser.appendChild(legend);
    controls.appendChild(this._chooser);

    this._status = document.createElement('div');
    this._status.className = 'tl-status';
    this._status.setAttribute('role', 'status');
    this._status.setAttribute('aria-live', 'polite');

    const view = document.createElement('div');
    view.className = 'tl-view';
    this.node.append(controls, this._status, view);

    this._model = new LocalModel({ results: [], error: '', show_ids: this._config.showIds });
    // The view's own toolbar switches ids; the choice is kept in the settings.
    this._model.on('change:show_ids', () => {
      const showIds = this._model.get('show_ids') !== false;
      if (showIds !== this._config.showIds) {
        this._config.showIds = showIds;
        this._configChanged.emit({ showIds });
      }
    });
    this._disposeView = render({
      model: this._model,
      el: view,
      explainer: new RestExplainer(this._serverSettings)
    });

    if (this._tracker) {
      this._tracker.activeCellChanged.connect(this._onActiveCellChanged, this);
      this._tracker.currentChanged.connect(this._onActiveCellChanged, this);
    }
    this._onActiveCellChanged();
    this._setStatus('Loading tokenizers…');
    void this._probe();
  }

  /** Emits the settings a user changed from the panel (to persist them). */
  get configChanged(): ISignal<this, Partial<IPanelConfig>> {
    return this._configChanged;
  }

  /** Apply settings; safe to call with unchanged values. */
  configure(config: Partial<IPanelConfig>): void {
    const next = { ...this._config, ...config };
    if (next.debounceMs !== this._config.debounceMs) {
      this._debouncer.dispose();
      this._debouncer = new Debouncer(() => this._refresh(), Math.max(0, next.debounceMs));
    }
    const selectionChanged = !sameList(next.tokenizers, this._config.tokenizers);
    const showIds = next.showIds !== this._config.showIds;
    this._config = next;
    if (showIds) {
      this._model.set({ show_ids: next.showIds });
    }
    if (selectionChanged) {
      this._drawChooser();
      this._schedule();
    }
  }

  /** The tokenizers currently shown, in the server's order. */
  get selected(): string[] {
    const available = (this._available ?? []).map(t => t.name);
    const wanted = available.filter(name => this._config.tokenizers.includes(name));
    if (wanted.length > 0 || available.length === 0) {
      return wanted;
    }
    return available.includes('gpt2') ? ['gpt2'] : [available[0]];
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._watch(null);
    this._debouncer.dispose();
    this._disposeView();
    Signal.clearData(this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      void this._refresh();
    }
  }

  /** Follow the active cell of the current notebook, like JupyterLab's ActiveCellTool. */
  private _onActiveCellChanged(): void {
    const cell = this._tracker?.activeCell ?? null;
    if (cell === this._cell) {
      return;
    }
    this._watch(cell);
    this._schedule();
  }

  private _watch(cell: ActiveCell | null): void {
    if (this._cell && !this._cell.isDisposed) {
      this._cell.model.sharedModel.changed.disconnect(this._onCellChanged, this);
    }
    this._cell = cell;
    if (cell) {
      cell.model.sharedModel.changed.connect(this._onCellChanged, this);
    }
  }

  private _onCellChanged(_: unknown, change: { sourceChange?: unknown }): void {
    // Outputs and metadata change too; only the source matters here.
    if (change.sourceChange) {
      this._schedule();
    }
  }

  private _schedule(): void {
    if (!this.isVisible) {
      this._stale = true;
      return;
    }
    void this._debouncer.invoke();
  }

  private async _probe(): Promise<void> {
    if (!this._probing) {
      this._probing = listTokenizers(this._serverSettings)
        .then(reply => {
          this._available = reply.tokenizers ?? [];
          this._drawChooser();
          this._schedule();
        })
        .catch(error => {
          this._available = null;
          // The status line carries the message; the view stays empty.
          this._model.set({ results: [], error: '' });
          this._setStatus(errorText(error), 'error');
        })
        .finally(() => {
          this._probing = null;
        });
    }
    return this._probing;
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
    const cell = this._cell;
    if (!cell || cell.isDisposed) {
      this._show([], 'No active cell');
      return;
    }
    const names = this.selected;
    if (names.length === 0) {
      this._show([], 'No tokenizers available on the server');
      return;
    }
    const text = cell.model.sharedModel.getSource();
    if (text.length === 0) {
      this._show([], 'Empty cell');
      return;
    }
    this.node.dataset.busy = 'true';
    try {
      const payload = await tokenize({ text, tokenizers: names }, this._serverSettings);
      if (seq !== this._seq || this.isDisposed) {
        return; // The user moved on; a newer request owns the view.
      }
      this._show(payload.results ?? [], summary(payload.results ?? []));
    } catch (error) {
      if (seq !== this._seq || this.isDisposed) {
        return;
      }
      this._model.set({ results: [], error: '' });
      this._setStatus(errorText(error), 'error');
    } finally {
      if (seq === this._seq && !this.isDisposed) {
        this.node.dataset.busy = 'false';
      }
    }
  }

  private _show(results: ResultOrError[], status: string): void {
    this._model.set({ results, error: '' });
    const failed = results.length > 0 && results.every(isError);
    this._setStatus(status, failed ? 'error' : 'ok');
  }

  private _setStatus(text: string, kind: 'ok' | 'error' = 'ok'): void {
    this._status.textContent = text;
    this._status.dataset.kind = kind;
  }

  private _drawChooser(): void {
    for (const old of Array.from(this._chooser.querySelectorAll('label'))) {
      old.remove();
    }
    const selected = this.selected;
    for (const info of this._available ?? []) {
      const label = document.createElement('label');
      label.className = 'tl-chooser-option';
      label.title = [info.kind, info.source].filter(Boolean).join(' · ');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = 'tl-tokenizer-option';
      box.value = info.name;
      box.checked = selected.includes(info.name);
      box.setAttribute('aria-label', `Show ${info.name}`);
      box.addEventListener('change', () => this._onChooserChanged());
      label.append(box, document.createTextNode(` ${info.name}`));
      this._chooser.appendChild(label);
    }
  }

  private _onChooserChanged(): void {
    const boxes = Array.from(
      this._chooser.querySelectorAll<HTMLInputElement>('input.tl-tokenizer-option')
    );
    const tokenizers = boxes.filter(b => b.checked).map(b => b.value);
    this._config = { ...this._config, tokenizers };
    this._configChanged.emit({ tokenizers });
    this._schedule();
  }

  private _tracker: INotebookTracker | null;
  private _serverSettings: ServerConnection.ISettings;
  private _config: IPanelConfig;
  private _debouncer: Debouncer;
  private _chooser: HTMLFieldSetElement;
  private _status: HTMLElement;
  private _model: LocalModel;
  private _disposeView: () => void;
  private _cell: ActiveCell | null = null;
  private _available: ITokenizerInfo[] | null = null;
  private _probing: Promise<void> | null = null;
  private _seq = 0;
  private _stale = true;
  private _configChanged = new Signal<this, Partial<IPanelConfig>>(this);
}

export namespace TokenLensPanel {
  export interface IOptions {
    tracker: INotebookTracker | null;
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
        : `${r.n_tokens} ${r.n_tokens === 1 ? 'token' : 'tokens'} · ${r.tokenizer}`
    )
    .join(' | ');
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
