/**
 * What text has focus: the active cell of the current notebook (code, markdown or raw) or the
 * current file editor, and within it the selection when there is one. Follows the trackers like
 * JupyterLab's ActiveCellTool (activeCellChanged and currentChanged) and the shell's current
 * widget, so the panel and the status bar agree on one source.
 */
import { ILabShell } from '@jupyterlab/application';
import { CodeEditor } from '@jupyterlab/codeeditor';
import { IEditorTracker } from '@jupyterlab/fileeditor';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { codePointCount } from '../render/offsets';

/** The text to tokenize and where it lives. */
export interface IFocusedText {
  /** "code cell 3", "markdown cell 1", "notes.md"; for the status line. */
  label: string;
  kind: 'code' | 'markdown' | 'raw' | 'file';
  /** The selected text when there is a selection, else the whole source. */
  text: string;
  /** UTF-16 offset of `text` in the editor's document (0 without a selection). */
  offset: number;
  /** True when `text` is the selection. */
  selection: boolean;
  /** Length of the whole source, in UTF-16 units. */
  sourceLength: number;
  /** Length of the whole source in characters (code points), as the token views count them. */
  sourceChars: number;
}

/** One followed editor: its model (text and selections) and, once drawn, its editor. */
interface ISource {
  owner: Widget;
  model: CodeEditor.IModel;
  editor: () => CodeEditor.IEditor | null;
  label: string;
  kind: IFocusedText['kind'];
  /** Make the editor visible before selecting in it (a rendered markdown cell hides it). */
  reveal?: () => void;
}

export class FocusFollower {
  constructor(options: FocusFollower.IOptions) {
    this._notebooks = options.notebooks;
    this._editors = options.editors;
    this._shell = options.shell;
    this._notebooks?.activeCellChanged.connect(this._update, this);
    this._notebooks?.currentChanged.connect(this._update, this);
    this._editors?.currentChanged.connect(this._update, this);
    this._shell?.currentChanged.connect(this._update, this);
    this._update();
  }

  /** Emitted when the followed source, its text or its selection changes. */
  get changed(): ISignal<this, 'source' | 'text' | 'selection'> {
    return this._changed;
  }

  /** The text that has focus now, or null when nothing is followed. */
  current(): IFocusedText | null {
    const source = this._source;
    if (!source || source.owner.isDisposed) {
      return null;
    }
    const whole = source.model.sharedModel.getSource();
    const base = {
      label: source.label,
      kind: source.kind,
      sourceLength: whole.length,
      sourceChars: codePointCount(whole)
    };
    const range = this._selectedRange(source, whole.length);
    if (range) {
      return {
        ...base,
        text: whole.slice(range[0], range[1]),
        offset: range[0],
        selection: true
      };
    }
    return { ...base, text: whole, offset: 0, selection: false };
  }

  /**
   * Select UTF-16 offsets [start, end) of the followed document in its editor and scroll to
   * them. The selection made here is not taken as the user's (the panel keeps the whole text).
   */
  select(start: number, end: number): boolean {
    const source = this._source;
    source?.reveal?.();
    const editor = source?.editor();
    if (!source || !editor) {
      return false;
    }
    const from = editor.getPositionAt(start);
    const to = editor.getPositionAt(end);
    if (!from || !to) {
      return false;
    }
    this._own.set(source.model, [start, end]);
    const range = { start: from, end: to };
    editor.setSelection(range);
    editor.revealSelection(range);
    return true;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._watch(null);
    Signal.clearData(this);
  }

  /** Pick the source: the shell's current widget if tracked, else the notebook, else the file. */
  private _update(): void {
    if (this._disposed) {
      return;
    }
    const current = this._shell?.currentWidget ?? null;
    let source: ISource | null = null;
    const notebook = this._notebooks?.currentWidget ?? null;
    const file = this._editors?.currentWidget ?? null;
    const fileFirst = !!file && current === file;
    if (fileFirst && file) {
      source = fileSource(file);
    } else if (notebook && !notebook.isDisposed) {
      source = cellSource(notebook, this._notebooks!.activeCell);
    } else if (file && !file.isDisposed) {
      source = fileSource(file);
    }
    if (
      source?.model === this._source?.model &&
      source?.owner === this._source?.owner
    ) {
      return;
    }
    this._watch(source);
    this._changed.emit('source');
  }

  private _watch(source: ISource | null): void {
    const old = this._source;
    if (old) {
      old.model.sharedModel.changed.disconnect(this._onTextChanged, this);
      old.model.selections.changed.disconnect(this._onSelections, this);
      old.owner.disposed.disconnect(this._update, this);
    }
    this._source = source;
    this._lastRange = null;
    if (source) {
      source.model.sharedModel.changed.connect(this._onTextChanged, this);
      source.model.selections.changed.connect(this._onSelections, this);
      // A cell deleted or a file closed while followed: look again.
      source.owner.disposed.connect(this._update, this);
    }
  }

  private _onTextChanged(_: unknown, change: { sourceChange?: unknown }): void {
    // Outputs and metadata change too; only the source matters here.
    if (change.sourceChange) {
      this._changed.emit('text');
    }
  }

  private _onSelections(): void {
    const source = this._source;
    if (!source) {
      return;
    }
    const range = this._selectedRange(
      source,
      source.model.sharedModel.getSource().length
    );
    const key = range ? `${range[0]}:${range[1]}` : null;
    // Cursor moves without a selection change nothing the panel shows.
    if (key !== this._lastRange) {
      this._lastRange = key;
      this._changed.emit('selection');
    }
  }

  /** The primary selection as sorted UTF-16 offsets, or null when empty or made by select(). */
  private _selectedRange(
    source: ISource,
    length: number
  ): [number, number] | null {
    const editor = source.editor();
    if (!editor) {
      return null;
    }
    let range: CodeEditor.IRange;
    try {
      range = editor.getSelection();
    } catch {
      return null;
    }
    const a = editor.getOffsetAt(range.start);
    const b = editor.getOffsetAt(range.end);
    const start = Math.max(0, Math.min(a, b, length));
    const end = Math.min(Math.max(a, b), length);
    // Remembered per document, so coming back to it still knows the selection was ours.
    const own = this._own.get(source.model);
    if (end <= start) {
      this._own.delete(source.model);
      return null;
    }
    if (own && own[0] === start && own[1] === end) {
      return null;
    }
    this._own.delete(source.model);
    return [start, end];
  }

  private _notebooks: INotebookTracker | null;
  private _editors: IEditorTracker | null;
  private _shell: ILabShell | null;
  private _source: ISource | null = null;
  private _own = new WeakMap<CodeEditor.IModel, [number, number]>();
  private _lastRange: string | null = null;
  private _disposed = false;
  private _changed = new Signal<this, 'source' | 'text' | 'selection'>(this);
}

export namespace FocusFollower {
  export interface IOptions {
    notebooks: INotebookTracker | null;
    editors: IEditorTracker | null;
    shell: ILabShell | null;
  }
}

type NotebookPanel = NonNullable<INotebookTracker['currentWidget']>;
type Cell = NonNullable<INotebookTracker['activeCell']>;
type FileWidget = NonNullable<IEditorTracker['currentWidget']>;

function cellSource(
  notebook: NotebookPanel,
  cell: Cell | null
): ISource | null {
  if (!cell || cell.isDisposed) {
    return null;
  }
  const type = cell.model.type;
  const kind =
    type === 'markdown' ? 'markdown' : type === 'raw' ? 'raw' : 'code';
  const index = notebook.content.widgets.indexOf(cell);
  return {
    owner: cell,
    model: cell.model,
    // A cell's editor exists once the cell is drawn; until then there is no selection.
    editor: () => (cell.isDisposed ? null : cell.editor),
    label: `${kind} cell ${index + 1}`,
    kind,
    reveal: () => {
      // A rendered markdown cell shows its HTML; selecting characters means editing it.
      const markdown = cell as unknown as { rendered?: boolean };
      if (kind === 'markdown' && markdown.rendered) {
        markdown.rendered = false;
      }
    }
  };
}

function fileSource(widget: FileWidget): ISource {
  const editor = widget.content;
  return {
    owner: widget,
    model: editor.model,
    editor: () => (editor.isDisposed ? null : editor.editor),
    label:
      widget.context.localPath.split('/').pop() || widget.context.localPath,
    kind: 'file'
  };
}
