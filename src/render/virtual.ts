/**
 * Block virtualisation: a long result is cut into blocks (a few lines of text each); only the
 * blocks near the visible part of their scroller exist in the DOM, the others are empty
 * placeholders of their (measured or estimated) height. A 1 MB text thus costs a few thousand
 * nodes at any time instead of a million, and scrolling anywhere draws what comes into view.
 */
import { div } from './dom';

/** What a block list draws: `count` blocks, each of some weight (units, for height estimates). */
export interface IBlockSource {
  readonly count: number;
  weight(block: number): number;
  render(block: number, el: HTMLElement): void;
}

export interface IBlockListOptions {
  /** False draws every block at once (the naive renderer); true draws near the viewport only. */
  virtual: boolean;
  /** Extra class of each block element. */
  blockClass?: string;
}

/** Weight (tokens) drawn before the first paint: about what a tall scroller shows. */
const FIRST_WEIGHT = 320;
/** Milliseconds of drawing per frame for blocks coming into view; the rest waits a frame. */
const FRAME_BUDGET_MS = 10;
/** A move of a screenful or more within this many ms of the previous report is flying. */
const FLYING_MS = 100;
/** Height of a block before anything is known (px per unit of weight). */
const DEFAULT_PX_PER_UNIT = 2;
const MIN_BLOCK_PX = 18;

export class BlockList {
  constructor(
    private host: HTMLElement,
    private source: IBlockSource,
    options: IBlockListOptions
  ) {
    this.cls = `tl-block${options.blockClass ? ' ' + options.blockClass : ''}`;
    this.virtual =
      options.virtual && typeof IntersectionObserver !== 'undefined';
    const frag = document.createDocumentFragment();
    for (let b = 0; b < source.count; b++) {
      frag.appendChild(this.newBlock(b));
    }
    host.appendChild(frag);

    if (!this.virtual) {
      for (let b = 0; b < source.count; b++) {
        this.materialise(b);
      }
      return;
    }

    // Draw the first blocks now so the first paint shows text; the rest are placeholders of a
    // guessed height until the observer reports how tall drawn blocks really are (no forced
    // layout here: that would lay the page out twice before its first paint).
    let weight = 0;
    let b = 0;
    while (b < source.count && weight < FIRST_WEIGHT) {
      this.materialise(b);
      weight += source.weight(b);
      b++;
    }
    for (let k = b; k < source.count; k++) {
      this.placeholder(k, this.estimate(k));
      this.guessed.add(k);
    }

    this.observer = new IntersectionObserver(
      entries => this.onIntersect(entries),
      {
        root: host,
        rootMargin: '100% 0px 100% 0px'
      }
    );
    for (const el of this.blocks) {
      this.observer.observe(el);
    }
  }

  /** Blocks currently drawn (for tests and the benchmark). */
  get drawn(): number {
    return this.live.size;
  }

  /** Whether blocks are drawn only near the visible part. */
  get isVirtual(): boolean {
    return this.virtual;
  }

  /**
   * Show a new source whose first `keep` blocks draw exactly as the current ones (the same
   * text, tokens and cuts): those stay in the DOM untouched, the rest are replaced. Blocks that
   * were drawn (in or near view) are drawn again at once, so an edit never flashes an empty box.
   */
  update(source: IBlockSource, keep: number): void {
    const old = this.blocks.length;
    keep = Math.max(0, Math.min(keep, old, source.count));
    const wasLive = new Set(this.live);
    for (let b = keep; b < old; b++) {
      this.observer?.unobserve(this.blocks[b]);
      this.blocks[b].remove();
      this.live.delete(b);
      this.queue.delete(b);
      this.guessed.delete(b);
    }
    this.blocks.length = keep;
    this.source = source;
    const frag = document.createDocumentFragment();
    for (let b = keep; b < source.count; b++) {
      frag.appendChild(this.newBlock(b));
    }
    this.host.appendChild(frag);
    const tailLive = old > 0 && wasLive.has(old - 1);
    for (let b = keep; b < source.count; b++) {
      if (!this.virtual || wasLive.has(b) || (b >= old && tailLive)) {
        this.materialise(b);
      } else {
        this.placeholder(b, this.estimate(b));
      }
      this.observer?.observe(this.blocks[b]);
    }
  }

  dispose(): void {
    this.observer?.disconnect();
    this.observer = null;
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    this.queue.clear();
  }

  private onIntersect(entries: IntersectionObserverEntry[]): void {
    this.learn(entries);
    this.noteFlight(entries);
    for (const entry of entries) {
      const b = Number((entry.target as HTMLElement).dataset.block);
      if (entry.isIntersecting) {
        if (!this.live.has(b)) {
          this.queue.add(b);
        }
      } else {
        this.queue.delete(b);
        if (this.live.has(b)) {
          // The entry's box is already measured: no forced layout to learn the height.
          this.dematerialise(b, entry.boundingClientRect.height);
        }
      }
    }
    this.pump();
  }

  /**
   * While the scroller flies (a scrollbar drag: a screenful or more between two reports),
   * drawing what passes by would cost more than a frame each time and be gone at the next:
   * the blocks stay placeholders until it slows. Read here, after the browser's layout (a
   * scroll listener reading the position would force an extra layout in every frame).
   */
  private noteFlight(entries: IntersectionObserverEntry[]): void {
    const now = performance.now();
    const top = this.host.scrollTop;
    const root = entries[0]?.rootBounds;
    const screen = root ? root.height / 3 : this.host.clientHeight; // the margins add a screen each side
    if (
      Math.abs(top - this.lastTop) >= screen &&
      now - this.lastReportAt < FLYING_MS
    ) {
      this.flyingAt = now;
    }
    this.lastTop = top;
    this.lastReportAt = now;
  }

  /** Draw queued blocks within a frame budget; the rest in the next frames. */
  private pump(): void {
    if (this.frame || this.queue.size === 0) {
      return;
    }
    const run = (): void => {
      this.frame = 0;
      const t0 = performance.now();
      if (t0 - this.flyingAt < FLYING_MS) {
        this.frame = requestAnimationFrame(run); // still flying: placeholders, draw once it slows
        return;
      }
      for (const b of this.queue) {
        this.queue.delete(b);
        this.materialise(b);
        if (performance.now() - t0 > FRAME_BUDGET_MS) {
          break;
        }
      }
      if (this.queue.size > 0) {
        this.frame = requestAnimationFrame(run);
      }
    };
    // The first batch goes now: the observer calls back before paint, so it shows this frame.
    run();
  }

  private newBlock(b: number): HTMLElement {
    const el = div(this.cls);
    el.dataset.block = String(b);
    this.blocks.push(el);
    return el;
  }

  private materialise(b: number): void {
    const el = this.blocks[b];
    if (this.live.has(b)) {
      return;
    }
    el.style.height = '';
    el.classList.remove('tl-placeholder');
    this.source.render(b, el);
    this.live.add(b);
  }

  private dematerialise(b: number, height: number): void {
    const el = this.blocks[b];
    const active = document.activeElement;
    if (active && el.contains(active)) {
      return; // Keep the focused token (keyboard users) in the DOM.
    }
    this.live.delete(b);
    this.placeholder(b, height);
    el.replaceChildren();
  }

  private placeholder(b: number, height: number): void {
    const el = this.blocks[b];
    el.classList.add('tl-placeholder');
    el.style.height = `${Math.max(MIN_BLOCK_PX, Math.round(height))}px`;
  }

  private estimate(b: number): number {
    return this.source.weight(b) * this.pxPerUnit;
  }

  /**
   * Once, from the first report on drawn blocks: how many pixels a unit of weight takes here
   * (fonts, width, ids shown or not); then re-guess the height of every block not yet drawn,
   * so the scrollbar tells the truth. Scroll anchoring keeps what is in view in place.
   */
  private learn(entries: IntersectionObserverEntry[]): void {
    if (this.learned) {
      return;
    }
    let px = 0;
    let weight = 0;
    for (const entry of entries) {
      const b = Number((entry.target as HTMLElement).dataset.block);
      if (
        this.live.has(b) &&
        !this.guessed.has(b) &&
        entry.boundingClientRect.height > 0
      ) {
        px += entry.boundingClientRect.height;
        weight += this.source.weight(b);
      }
    }
    if (weight === 0) {
      return;
    }
    this.learned = true;
    this.pxPerUnit = px / weight;
    for (const b of this.guessed) {
      if (!this.live.has(b)) {
        this.placeholder(b, this.estimate(b));
      }
    }
    this.guessed.clear();
  }

  private readonly cls: string;
  private readonly virtual: boolean;
  private blocks: HTMLElement[] = [];
  /** Placeholders whose height is still the first guess. */
  private guessed = new Set<number>();
  private learned = false;
  private live = new Set<number>();
  private queue = new Set<number>();
  private observer: IntersectionObserver | null = null;
  private frame = 0;
  private lastTop = 0;
  private lastReportAt = -Infinity;
  private flyingAt = -Infinity;
  private pxPerUnit = DEFAULT_PX_PER_UNIT;
}

/**
 * Cut `count` units into blocks: after a unit that ends a line once a block holds `min`
 * units, and in any case at `max`. Returns the first unit of each block, plus `count`.
 */
export function cutBlocks(
  count: number,
  endsLine: (unit: number) => boolean,
  min = 96,
  max = 768
): Int32Array {
  const starts: number[] = [0];
  let size = 0;
  for (let u = 0; u < count; u++) {
    size++;
    if (u + 1 < count && ((size >= min && endsLine(u)) || size >= max)) {
      starts.push(u + 1);
      size = 0;
    }
  }
  starts.push(count);
  return Int32Array.from(starts);
}
