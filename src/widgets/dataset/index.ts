/**
 * Entry of the dataset-view anywidget bundle (tokenlens/static/dataset.js).
 *
 * Shows what the kernel computed (summary, histogram SVG made in Python, longest rows);
 * the context length and price inputs and a click on a row go back to the kernel, and the
 * clicked row is drawn by the token view's own render() on a local model.
 */
import '../../../style/render.css';
import '../../../style/dataset.css';
import { ResultOrError } from '../../render/types';
import { IModel, LocalModel } from '../model';
import { ITokensState, render as renderTokens } from '../tokens/view';

/** One of the longest rows, as `DatasetView.longest()` (tokenlens/measure/dataset.py) sends it. */
export interface ILongRow {
  row: number;
  tokens: number;
  chars: number;
  preview: string;
  truncated: boolean;
}

/** The dataset view's traits (tokenlens/views/dataset.py) that it reads or writes. */
export interface IDatasetState {
  title: string;
  summary_rows: [string, string][];
  histogram_svg: string;
  longest: ILongRow[];
  context_length: number | null;
  price: number | null;
  selected: number;
  row_results: ResultOrError[];
  row_note: string;
  error: string;
}

const WATCHED: (keyof IDatasetState)[] = [
  'title',
  'summary_rows',
  'histogram_svg',
  'longest',
  'error',
  'selected'
];

function numberInput(
  label: string,
  value: number | null,
  step: string
): [HTMLLabelElement, HTMLInputElement] {
  const wrap = document.createElement('label');
  wrap.className = 'tl-ds-field';
  wrap.textContent = label + ' ';
  const input = document.createElement('input');
  input.type = 'number';
  input.min = '0';
  input.step = step;
  input.value = value === null || value === undefined ? '' : String(value);
  wrap.appendChild(input);
  return [wrap, input];
}

export function render({
  model,
  el
}: {
  model: IModel<IDatasetState>;
  el: HTMLElement;
}): () => void {
  el.classList.add('tl-widget', 'tl-dataset');
  const title = document.createElement('div');
  title.className = 'tl-ds-title';
  const controls = document.createElement('div');
  controls.className = 'tl-ds-controls';
  const [ctxLabel, ctxInput] = numberInput(
    'context length',
    model.get('context_length'),
    '1'
  );
  ctxInput.min = '1';
  const [priceLabel, priceInput] = numberInput(
    'price per 1M tokens',
    model.get('price'),
    'any'
  );
  controls.append(ctxLabel, priceLabel);
  const error = document.createElement('div');
  error.className = 'tl-ds-error';
  const summary = document.createElement('table');
  summary.className = 'tl-ds-summary';
  const chart = document.createElement('div');
  chart.className = 'tl-ds-chart';
  const longest = document.createElement('table');
  longest.className = 'tl-ds-longest';
  const rowNote = document.createElement('div');
  rowNote.className = 'tl-ds-note';
  const tokens = document.createElement('div');
  tokens.className = 'tl-ds-tokens';
  el.replaceChildren(
    title,
    controls,
    error,
    summary,
    chart,
    longest,
    rowNote,
    tokens
  );

  // The clicked row is drawn by the token view itself, fed from the kernel's answer.
  const local = new LocalModel<ITokensState>({
    results: [],
    error: '',
    show_ids: true
  });
  const cleanupTokens = renderTokens({ model: local, el: tokens });

  const send = <K extends keyof IDatasetState>(
    name: K,
    value: IDatasetState[K]
  ): void => {
    model.set(name, value);
    model.save_changes();
  };
  const readNumber = (
    input: HTMLInputElement,
    whole: boolean
  ): number | null => {
    if (input.value.trim() === '') {
      return null;
    }
    const value = Number(input.value);
    if (!Number.isFinite(value) || value < 0) {
      return NaN;
    }
    return whole ? Math.round(value) : value;
  };
  ctxInput.addEventListener('change', () => {
    const value = readNumber(ctxInput, true);
    if (value === null || value >= 1) {
      send('context_length', value);
    } else {
      error.textContent =
        'The context length is a whole number of tokens, at least 1.';
    }
  });
  priceInput.addEventListener('change', () => {
    const value = readNumber(priceInput, false);
    if (value === null || !Number.isNaN(value)) {
      send('price', value);
    } else {
      error.textContent =
        'The price per million tokens is a number, 0 or more.';
    }
  });

  const draw = (): void => {
    title.textContent = String(model.get('title') ?? '');
    error.textContent = String(model.get('error') ?? '');
    summary.replaceChildren();
    for (const [name, value] of model.get('summary_rows') ?? []) {
      const tr = summary.insertRow();
      tr.insertCell().textContent = name;
      tr.insertCell().textContent = value;
    }
    // The SVG is made by tokenlens/views/charts.py in the kernel: plain shapes and escaped text.
    chart.innerHTML = String(model.get('histogram_svg') ?? '');
    longest.replaceChildren();
    const rows = model.get('longest') ?? [];
    if (rows.length) {
      const head = longest.createTHead().insertRow();
      for (const name of ['row', 'tokens', 'text']) {
        const th = document.createElement('th');
        th.textContent = name;
        head.appendChild(th);
      }
      const body = longest.createTBody();
      const selected = model.get('selected');
      for (const r of rows) {
        const tr = body.insertRow();
        tr.className =
          'tl-ds-row' + (r.row === selected ? ' tl-ds-selected' : '');
        tr.tabIndex = 0;
        tr.title = 'Open this row in the token view';
        tr.insertCell().textContent = String(r.row);
        const count = tr.insertCell();
        count.textContent = r.tokens.toLocaleString();
        if (r.truncated) {
          count.classList.add('tl-ds-over');
        }
        tr.insertCell().textContent = r.preview;
        const open = (): void => send('selected', r.row);
        tr.addEventListener('click', open);
        tr.addEventListener('keydown', (event: KeyboardEvent) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            open();
          }
        });
      }
    }
  };
  const drawRow = (): void => {
    rowNote.textContent = String(model.get('row_note') ?? '');
    local.set({ results: model.get('row_results') ?? [] });
  };

  draw();
  drawRow();
  for (const trait of WATCHED) {
    model.on(`change:${trait}`, draw);
  }
  model.on('change:row_results', drawRow);
  model.on('change:row_note', drawRow);
  return () => {
    for (const trait of WATCHED) {
      model.off(`change:${trait}`, draw);
    }
    model.off('change:row_results', drawRow);
    model.off('change:row_note', drawRow);
    cleanupTokens();
  };
}

export default { render };
