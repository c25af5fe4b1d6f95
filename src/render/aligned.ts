/**
 * Compare view: several tokenizers over the same characters.
 *
 * The text is cut at every boundary any tokenizer makes; each piece is a column holding the
 * characters on top and one lane per tokenizer below. In a lane a token is a bar spanning the
 * columns of its characters, so where one tokenizer cuts and another does not, the bars' ends
 * do not line up, and the text above carries a mark at that boundary. Columns flow and wrap
 * like text, so a long text stays readable in a narrow panel.
 */
import { hueClass, positionClass } from './colors';
import { ResultText } from './context';
import { div, lineBreak, span, thousands } from './dom';
import { markerLegend } from './markers';
import { appendVisible } from './text';
import { BlockList, cutBlocks, IBlockSource } from './virtual';
import { IDrawn } from './stacked';

/** Columns beyond which the aligned view gets its own scroller and draws only what is seen. */
const VIRTUAL_MIN_COLUMNS = 2000;
/**
 * Up to this many columns each token's id is drawn in its bar, columns widening to fit it: a
 * short text (a sentence in a notebook's first cell) is read token by token, a long one skimmed.
 */
export const IDS_MAX_COLUMNS = 400;

/** True when the results can be aligned: the same text, at most 32 of them. */
export function canAlign(contexts: ResultText[]): boolean {
  return (
    contexts.length >= 2 &&
    contexts.length <= 32 &&
    contexts.every(c => c.text === contexts[0].text)
  );
}

/**
 * The counts table: tokens, characters, bytes, characters per token, tokens vs the fewest and
 * the vocabulary's size. Each cell carries its column's label (`data-label`), which a narrow
 * container shows beside the value instead of the header row (style/render.css), so nothing
 * is cut at the side panel's width.
 */
export function countsTable(contexts: ResultText[]): HTMLElement {
  const wrap = div('tl-counts-wrap');
  const table = document.createElement('table');
  wrap.appendChild(table);
  table.className = 'tl-counts';
  const head = table.createTHead().insertRow();
  for (const [label, title] of COLUMNS) {
    const th = document.createElement('th');
    th.textContent = label;
    if (title) {
      th.title = title;
    }
    head.appendChild(th);
  }
  const fewest = Math.min(
    ...contexts.map(c => c.result.n_tokens).filter(n => n > 0)
  );
  const body = table.createTBody();
  contexts.forEach((ctx, lane) => {
    const { result } = ctx;
    const row = body.insertRow();
    row.dataset.tokenizer = result.tokenizer;
    const cell = (cls: string, text: string): void => {
      const td = row.insertCell();
      td.className = cls;
      td.textContent = text;
      const [label, title] = COLUMNS[td.cellIndex];
      td.dataset.label = label;
      if (title) {
        td.title = title;
      }
    };
    cell('tl-lane-no', String(lane + 1));
    const name = row.insertCell();
    name.className = 'tl-n-name';
    name.textContent = result.tokenizer;
    name.title = [result.kind, result.model].filter(Boolean).join(' · ');
    const specials = (result.special ?? []).filter(Boolean).length;
    cell('tl-n-tokens', thousands(result.n_tokens));
    if (specials > 0) {
      (row.lastChild as HTMLElement).title = `${specials} special`;
    }
    cell('tl-n-chars', thousands(result.n_chars));
    cell('tl-n-bytes', thousands(result.n_bytes));
    cell(
      'tl-n-ratio',
      result.n_tokens > 0 ? (result.n_chars / result.n_tokens).toFixed(2) : '–'
    );
    cell(
      'tl-n-relative',
      result.n_tokens > 0 && Number.isFinite(fewest)
        ? `${(result.n_tokens / fewest).toFixed(2)}×`
        : '–'
    );
    cell('tl-n-vocab', result.vocab_size ? thousands(result.vocab_size) : '–');
    if (result.n_tokens === fewest) {
      row.classList.add('tl-fewest');
    }
  });
  return wrap;
}

/** The counts table's columns: label and what it means (a tooltip). */
const COLUMNS: [string, string][] = [
  ['', ''],
  ['tokenizer', ''],
  ['tokens', 'tokens, special tokens included'],
  ['chars', 'characters (code points)'],
  ['bytes', 'UTF-8 bytes'],
  ['chars/token', 'characters per token: higher means fewer, longer tokens'],
  ['vs fewest', 'tokens relative to the tokenizer that needs the fewest'],
  [
    'vocab',
    'vocabulary size: how many tokens the tokenizer knows (ids run up to it)'
  ]
];

export function alignedView(
  contexts: ResultText[],
  virtualize: boolean
): IDrawn {
  const root = div('tl-aligned');
  const legend = div('tl-aligned-legend');
  legend.append(
    span('tl-legend-cut tl-legend-some', ''),
    document.createTextNode(' a boundary only some tokenizers make  '),
    span('tl-legend-cut tl-legend-all', ''),
    document.createTextNode(' all agree')
  );
  const markers = markerLegend(contexts);
  if (markers) {
    legend.appendChild(markers);
  }
  root.appendChild(legend);
  const grid = div('tl-aligned-grid tl-roving');
  grid.tabIndex = 0;
  grid.setAttribute('role', 'group');
  grid.setAttribute(
    'aria-label',
    'Tokens of each tokenizer under the same characters; arrow keys move'
  );
  grid.style.setProperty('--tl-lanes', String(contexts.length));
  root.appendChild(grid);

  const source = new ColumnBlocks(contexts);
  const big = source.columns > VIRTUAL_MIN_COLUMNS;
  if (big) {
    grid.classList.add('tl-scroll');
  }
  if (source.labels) {
    root.classList.add('tl-ids-fit');
  }
  root.dataset.columns = String(source.columns);
  root.dataset.disagreements = String(source.disagreements);
  const list = new BlockList(grid, source, {
    virtual: virtualize && big,
    blockClass: 'tl-col-block'
  });
  return { root, dispose: () => list.dispose() };
}

/** Columns between the union of all boundaries, cut into blocks at line ends. */
class ColumnBlocks implements IBlockSource {
  constructor(private contexts: ResultText[]) {
    const n = contexts[0].nChars;
    const all = contexts.length;
    // cuts[p]: how many tokenizers have a boundary at character p.
    const cuts = new Uint8Array(n + 1);
    const seen = new Uint8Array(n + 1);
    for (const ctx of contexts) {
      seen.fill(0);
      const segs = ctx.segments;
      for (let k = 0; k < segs.length; k++) {
        const seg = segs[k];
        if (seg[1] > seg[0]) {
          seen[Math.min(seg[0], n)] = 1;
          seen[Math.min(seg[1], n)] = 1;
        }
      }
      for (let p = 0; p <= n; p++) {
        cuts[p] += seen[p];
      }
    }
    const bounds: number[] = [0];
    let disagreements = 0;
    for (let p = 1; p < n; p++) {
      if (cuts[p] > 0) {
        bounds.push(p);
        if (cuts[p] < all) {
          disagreements++;
        }
      }
    }
    if (n > 0) {
      bounds.push(n);
    }
    this.bounds = Int32Array.from(bounds);
    this.cuts = cuts;
    this.disagreements = disagreements;
    this.all = all;
    this.labels = this.columns <= IDS_MAX_COLUMNS;
    const first = contexts[0];
    this.starts = cutBlocks(
      this.columns,
      j => first.newlines(this.bounds[j + 1] - 1, this.bounds[j + 1]) > 0
    );
  }

  /** Number of columns. */
  get columns(): number {
    return Math.max(0, this.bounds.length - 1);
  }

  get count(): number {
    return this.columns === 0
      ? this.hasSpecials()
        ? 1
        : 0
      : this.starts.length - 1;
  }

  weight(b: number): number {
    return (
      Math.max(1, this.starts[b + 1] - this.starts[b]) * (1 + this.all / 2)
    );
  }

  readonly disagreements: number;
  /** Whether bars carry their ids (a short text). */
  readonly labels: boolean;

  render(b: number, el: HTMLElement): void {
    const from = this.starts[b] ?? 0;
    const to = Math.min(this.columns, this.starts[b + 1] ?? 0);
    const last = b === this.count - 1;
    const frag = document.createDocumentFragment();
    frag.appendChild(this.labelColumn());
    // A cursor per lane: the segment at or before the block's first column.
    const at = this.contexts.map(ctx =>
      firstSegmentAt(ctx, this.bounds[from] ?? 0)
    );
    for (let j = from; j < to; j++) {
      const a = this.bounds[j];
      const z = this.bounds[j + 1];
      const col = span('tl-col');
      col.dataset.start = String(a);
      const cut = this.cuts[a];
      col.dataset.cut =
        j === 0 ? 'edge' : cut === this.all ? 'all' : cut > 0 ? 'some' : 'none';
      const text = span('tl-col-text');
      appendVisible(text, this.contexts[0].slice(a, z), true);
      col.appendChild(text);
      this.contexts.forEach((ctx, lane) => {
        col.appendChild(this.laneCell(ctx, lane, at, a, z, false));
      });
      frag.appendChild(col);
      const newlines = this.contexts[0].newlines(a, z);
      const breaks = j === to - 1 && !last ? newlines - 1 : newlines;
      for (let k = 0; k < breaks; k++) {
        frag.appendChild(lineBreak());
      }
      if (newlines > 0 && j < to - 1) {
        // Every line of the text starts with the lanes' names.
        frag.appendChild(this.labelColumn());
      }
    }
    if (last && this.hasSpecials()) {
      // Special tokens after the text (e.g. [SEP], </s>) get a last, empty column.
      const n = this.contexts[0].nChars;
      const col = span('tl-col tl-col-end');
      col.dataset.cut = 'edge';
      col.appendChild(span('tl-col-text', ''));
      this.contexts.forEach((ctx, lane) => {
        col.appendChild(this.laneCell(ctx, lane, at, n, n, true));
      });
      frag.appendChild(col);
    }
    el.appendChild(frag);
  }

  /** One lane's part of column [a, z): the bar of the segment covering it, or nothing (a gap). */
  private laneCell(
    ctx: ResultText,
    lane: number,
    at: number[],
    a: number,
    z: number,
    end: boolean
  ): HTMLElement {
    const cell = span('tl-lane');
    cell.dataset.r = String(ctx.r);
    cell.dataset.lane = String(lane);
    const segs = ctx.segments;
    let k = at[lane];
    while (k < segs.length) {
      const [s, e, lo, hi] = segs[k];
      if (s === e) {
        // Tokens with no characters (specials such as [CLS]) stand before the column they precede.
        if (!end && s > a) {
          break;
        }
        for (let i = lo; i < hi; i++) {
          cell.appendChild(
            this.bar(
              ctx,
              i,
              ctx.isSpecial(i)
                ? 'tl-bar tl-bar-special'
                : 'tl-bar tl-bar-empty',
              true
            )
          );
        }
      } else if (e > a) {
        break;
      }
      k++;
    }
    at[lane] = k;
    if (end) {
      return cell;
    }
    if (k >= segs.length) {
      cell.classList.add('tl-lane-gap');
      return cell;
    }
    const [s, e, lo, hi] = segs[k];
    if (s > a || e <= a) {
      cell.classList.add('tl-lane-gap'); // the tokenizer dropped these characters
      return cell;
    }
    if (s === a) {
      cell.classList.add('tl-lane-start');
      const multi = hi - lo > 1;
      for (let i = lo; i < hi; i++) {
        const edges = multi
          ? 'tl-bar-part'
          : e === z
            ? 'tl-first tl-last'
            : 'tl-first';
        cell.appendChild(this.bar(ctx, i, `tl-bar ${edges}`, true));
      }
    } else {
      // The token goes on from an earlier column: same colour, no edge.
      const edges = e === z ? 'tl-cont tl-last' : 'tl-cont';
      cell.appendChild(this.bar(ctx, lo, `tl-bar ${edges}`));
    }
    return cell;
  }

  /** A token's bar; where the token starts (`labelled`) it carries its id, shown where it fits. */
  private bar(
    ctx: ResultText,
    i: number,
    cls: string,
    labelled = false
  ): HTMLElement {
    const id = ctx.result.ids[i];
    const bar = span(`${cls} ${positionClass(i)} ${hueClass(id)}`);
    bar.dataset.index = String(i);
    bar.dataset.id = String(id);
    if (labelled && this.labels) {
      bar.classList.add('tl-bar-labelled');
      const label = String(id);
      bar.appendChild(
        span(`tl-bar-id tl-d${Math.min(6, label.length)}`, label)
      );
    }
    if (ctx.isUnknown(i)) {
      bar.classList.add('tl-unk');
    }
    return bar;
  }

  /** A column of tokenizer names at the start of each block, so lanes are named on every line group. */
  private labelColumn(): HTMLElement {
    const col = span('tl-col tl-col-label');
    col.setAttribute('aria-hidden', 'true');
    col.appendChild(span('tl-col-text', ''));
    this.contexts.forEach(ctx => {
      const label = span('tl-lane tl-lane-label');
      label.appendChild(document.createTextNode(ctx.result.tokenizer));
      col.appendChild(label);
    });
    return col;
  }

  private hasSpecials(): boolean {
    if (this._trailing === null) {
      const n = this.contexts[0].nChars;
      this._trailing = this.contexts.some(ctx => {
        const segs = ctx.segments;
        const lastSeg = segs[segs.length - 1];
        return (
          lastSeg !== undefined && lastSeg[0] === lastSeg[1] && lastSeg[0] >= n
        );
      });
    }
    return this._trailing;
  }

  private _trailing: boolean | null = null;
  private bounds: Int32Array;
  private cuts: Uint8Array;
  private starts: Int32Array;
  private all: number;
}

/** A lower bound for the first segment at or after character `p` (ends are in order). */
function firstSegmentAt(ctx: ResultText, p: number): number {
  const segs = ctx.segments;
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (segs[mid][1] < p) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
