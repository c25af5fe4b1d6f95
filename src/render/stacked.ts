/**
 * One tokenizer's result as a block of chips: a header with its counts, then the text as
 * tokens in reading order, characters first (a character split across tokens is one group).
 */
import { gap, tokenChip, tokenGroup } from './chips';
import { ResultText } from './context';
import { div, lineBreak, span, thousands } from './dom';
import { BlockList, cutBlocks, IBlockSource } from './virtual';

/** Results with more segments than this get their own scroller and draw only what is seen. */
export const VIRTUAL_MIN_UNITS = 3000;
/**
 * Segments per block: cut at the first line end after BLOCK_MIN, at the latest at BLOCK_MAX.
 * Small blocks draw little more than what is seen, and an edit redraws little.
 */
const BLOCK_MIN = 48;
const BLOCK_MAX = 384;

export interface IDrawn {
  root: HTMLElement;
  dispose(): void;
  /**
   * Show a new result of the same tokenizer in place, keeping what did not change (the
   * blocks before the first edit). False when it cannot; the caller then draws anew.
   */
  update?(ctx: ResultText): boolean;
}

export function stackedResult(ctx: ResultText, virtualize: boolean): IDrawn {
  const { result } = ctx;
  const root = div('tl-result');
  root.dataset.r = String(ctx.r);
  root.dataset.tokenizer = result.tokenizer;
  root.dataset.kind = result.kind ?? '';
  root.dataset.nTokens = String(result.n_tokens);
  root.appendChild(resultHeader(ctx));

  if (result.decoded) {
    const note = div('tl-decoded');
    note.appendChild(span('tl-decoded-label', 'decoded from ids'));
    const text = div('tl-decoded-text');
    text.textContent = ctx.text;
    note.appendChild(text);
    root.appendChild(note);
  }

  const row = div('tl-tokens');
  row.setAttribute('role', 'group');
  row.setAttribute(
    'aria-label',
    `Tokens of ${result.tokenizer}; arrow keys move between tokens`
  );
  row.tabIndex = 0;
  row.classList.add('tl-roving');
  root.appendChild(row);

  let source = new SegmentBlocks(ctx);
  const big = ctx.segments.length > VIRTUAL_MIN_UNITS;
  if (big) {
    row.classList.add('tl-scroll');
  }
  const list = new BlockList(row, source, { virtual: virtualize && big });
  root.dataset.rendered = 'complete';
  let current = ctx;
  const update = (next: ResultText): boolean => {
    const { result: was } = current;
    const now = next.result;
    if (
      was.decoded ||
      now.decoded ||
      now.tokenizer !== was.tokenizer ||
      next.r !== current.r ||
      next.segments.length > VIRTUAL_MIN_UNITS !== big
    ) {
      return false;
    }
    const nextSource = new SegmentBlocks(next);
    const keep = nextSource.sameBlocks(
      source,
      firstChangedSegment(current, next)
    );
    source = nextSource;
    current = next;
    root.dataset.kind = now.kind ?? '';
    root.dataset.nTokens = String(now.n_tokens);
    root.replaceChild(resultHeader(next), root.firstChild as Node);
    list.update(nextSource, keep);
    return true;
  };
  return { root, dispose: () => list.dispose(), update };
}

/**
 * The first segment of `next` that is not drawn exactly as in `prev`: a different token, a
 * different character span or grouping, or characters that changed under it.
 */
export function firstChangedSegment(
  prev: ResultText,
  next: ResultText
): number {
  // Characters (code points) both texts share from the start.
  const a = prev.text;
  const b = next.text;
  const limit = Math.min(a.length, b.length);
  let p = 0;
  while (p < limit && a.charCodeAt(p) === b.charCodeAt(p)) {
    p++;
  }
  const index = next.index;
  let lo = 0;
  let hi = index.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (index[mid] <= p) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const sharedChars = lo;
  const ps = prev.segments;
  const ns = next.segments;
  const pr = prev.result;
  const nr = next.result;
  const n = Math.min(ps.length, ns.length);
  for (let k = 0; k < n; k++) {
    const x = ps[k];
    const y = ns[k];
    if (
      x[0] !== y[0] ||
      x[1] !== y[1] ||
      x[2] !== y[2] ||
      x[3] !== y[3] ||
      y[1] > sharedChars
    ) {
      return k;
    }
    for (let i = y[2]; i < y[3]; i++) {
      if (
        pr.ids[i] !== nr.ids[i] ||
        pr.spans[i][0] !== nr.spans[i][0] ||
        pr.spans[i][1] !== nr.spans[i][1] ||
        prev.isSpecial(i) !== next.isSpecial(i) ||
        pr.tokens[i] !== nr.tokens[i]
      ) {
        return k;
      }
    }
  }
  return n;
}

export function resultHeader(ctx: ResultText): HTMLElement {
  const { result } = ctx;
  const header = div('tl-result-header');
  header.appendChild(span('tl-name', result.tokenizer));
  const kind = [result.kind, result.model].filter(Boolean).join(' · ');
  if (kind) {
    header.appendChild(span('tl-kind', kind));
  }
  const perToken =
    result.n_tokens > 0 ? (result.n_chars / result.n_tokens).toFixed(2) : '–';
  const stats = span('tl-stats');
  stats.append(
    stat(
      'tl-count',
      thousands(result.n_tokens),
      result.n_tokens === 1 ? 'token' : 'tokens'
    ),
    stat('tl-chars', thousands(result.n_chars), 'chars'),
    stat('tl-bytes', thousands(result.n_bytes), 'bytes'),
    stat('tl-ratio', perToken, 'chars/token')
  );
  header.appendChild(stats);
  return header;
}

function stat(cls: string, value: string, unit: string): HTMLElement {
  const el = span(`tl-stat ${cls}`);
  el.appendChild(span('tl-stat-value', value));
  el.appendChild(document.createTextNode(` ${unit}`));
  return el;
}

/** The segments of one result, cut into blocks at line ends. */
class SegmentBlocks implements IBlockSource {
  constructor(private ctx: ResultText) {
    const segs = ctx.segments;
    // Where the text before each block stops (the end of the segments drawn so far).
    this.starts = cutBlocks(
      segs.length,
      k => this.endsLine(k),
      BLOCK_MIN,
      BLOCK_MAX
    );
    this.cursors = new Int32Array(this.starts.length);
    let cursor = 0;
    let b = 0;
    for (let k = 0; k < segs.length; k++) {
      if (k === this.starts[b]) {
        this.cursors[b++] = cursor;
      }
      cursor = Math.max(cursor, segs[k][1]);
    }
  }

  get count(): number {
    return this.ctx.segments.length === 0 && this.ctx.nChars === 0
      ? 0
      : this.starts.length - 1;
  }

  /** A block's weight is its tokens (a character built from four byte tokens draws four chips). */
  weight(b: number): number {
    const segs = this.ctx.segments;
    const from = this.starts[b];
    const to = Math.min(segs.length, this.starts[b + 1]) - 1;
    return to >= from ? Math.max(1, segs[to][3] - segs[from][2]) : 1;
  }

  /**
   * How many leading blocks draw exactly as `prev`'s, given that segments before `changed`
   * are the same in both: the same cuts, every segment of the block and the one after it
   * unchanged (the gap after a block's last segment runs to the next one), and never
   * `prev`'s last block (the last block ends without a line break).
   */
  sameBlocks(prev: SegmentBlocks, changed: number): number {
    const n = Math.min(this.count, prev.count - 1);
    let b = 0;
    while (
      b < n &&
      this.starts[b + 1] === prev.starts[b + 1] &&
      this.starts[b + 1] < changed &&
      this.cursors[b] === prev.cursors[b]
    ) {
      b++;
    }
    return b;
  }

  render(b: number, el: HTMLElement): void {
    const { ctx } = this;
    const segs = ctx.segments;
    const from = this.starts[b];
    const to = Math.min(segs.length, this.starts[b + 1]);
    const last = b === this.count - 1;
    const frag = document.createDocumentFragment();
    let cursor = this.cursors[b] ?? 0;
    let breaks = 0;
    const put = (node: Node, newlines: number): void => {
      for (; breaks > 0; breaks--) {
        frag.appendChild(lineBreak());
      }
      frag.appendChild(node);
      breaks = newlines;
    };
    // Text no token covers goes after the segment before it, so a line's end stays in its block.
    const gapTo = (stop: number): void => {
      if (stop > cursor) {
        put(gap(ctx.slice(cursor, stop)), ctx.newlines(cursor, stop));
        cursor = stop;
      }
    };
    if (from === 0) {
      gapTo(segs.length > 0 ? segs[0][0] : ctx.nChars);
    }
    for (let k = from; k < to; k++) {
      const [start, end, lo, hi] = segs[k];
      if (hi - lo === 1) {
        put(
          tokenChip(ctx, lo),
          ctx.isSpecial(lo) ? 0 : ctx.newlines(start, end)
        );
      } else if (end > start) {
        put(tokenGroup(ctx, start, end, lo, hi), ctx.newlines(start, end));
      } else {
        // Several tokens with no characters of their own: chips side by side.
        for (let i = lo; i < hi; i++) {
          put(tokenChip(ctx, i), 0);
        }
      }
      cursor = Math.max(cursor, end);
      gapTo(k + 1 < segs.length ? segs[k + 1][0] : ctx.nChars);
    }
    // The block's own end breaks the line once; a blank line needs the rest.
    for (breaks = last ? 0 : breaks - 1; breaks > 0; breaks--) {
      frag.appendChild(lineBreak());
    }
    el.appendChild(frag);
  }

  private endsLine(k: number): boolean {
    const segs = this.ctx.segments;
    const end = segs[k][1];
    const next =
      k + 1 < segs.length ? Math.max(end, segs[k + 1][0]) : this.ctx.nChars;
    // The segment (with the gap after it) ends with a newline.
    return next > 0 && this.ctx.newlines(next - 1, next) > 0;
  }

  readonly starts: Int32Array;
  readonly cursors: Int32Array;
}
