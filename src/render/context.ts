/**
 * One result prepared for drawing: code-point index, segments and newline counts, computed
 * once in linear time so every later lookup (a block, a card) is cheap.
 */
import { codePointIndex, sliceCodePoints } from './offsets';
import { segmentsOf } from './segments';
import { ITokenizeResult, Segment } from './types';

export class ResultText {
  constructor(
    readonly result: ITokenizeResult,
    /** Position of the result in the payload; the DOM carries it as data-r. */
    readonly r: number
  ) {
    this.text = result.text ?? '';
    // Results of one comparison share their text: index it once.
    const shared =
      lastIndexed && lastIndexed.text === this.text ? lastIndexed : null;
    this.index = shared?.index ?? codePointIndex(this.text);
    this._newlines = shared?.newlines ?? newlinePrefix(this.text, this.index);
    lastIndexed = {
      text: this.text,
      index: this.index,
      newlines: this._newlines
    };
    this.nChars = this.index.length - 1;
    this.segments = segmentsOf(result, this.index);
    this.unkId = typeof result.unk_id === 'number' ? result.unk_id : null;
  }

  readonly text: string;
  readonly index: Uint32Array;
  readonly nChars: number;
  readonly segments: Segment[];
  readonly unkId: number | null;

  get nTokens(): number {
    return this.result.ids?.length ?? 0;
  }

  /** Characters [start, end) of the text (code-point offsets). */
  slice(start: number, end: number): string {
    return sliceCodePoints(this.text, this.index, start, end);
  }

  /** Newlines among the characters [start, end). */
  newlines(start: number, end: number): number {
    const last = this.nChars;
    const s = Math.max(0, Math.min(start, last));
    const e = Math.max(s, Math.min(end, last));
    return this._newlines[e] - this._newlines[s];
  }

  isSpecial(i: number): boolean {
    return this.result.special?.[i] ?? false;
  }

  isUnknown(i: number): boolean {
    return (
      this.unkId !== null &&
      this.result.ids[i] === this.unkId &&
      !this.isSpecial(i)
    );
  }

  display(i: number): string {
    return this.result.tokens[i] ?? '';
  }

  piece(i: number): string {
    return this.result.pieces?.[i] ?? this.display(i);
  }

  span(i: number): [number, number] {
    const s = this.result.spans[i];
    return s ? [s[0], s[1]] : [0, 0];
  }

  /** Index of the segment holding token i (segments are ordered by their tokens). */
  segmentOfToken(i: number): number {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid][2] <= i) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  private _newlines: Uint32Array;
}

/** The last text indexed (code points, newlines), reused by the next result on the same text. */
let lastIndexed: {
  text: string;
  index: Uint32Array;
  newlines: Uint32Array;
} | null = null;

/** prefix[k] = newlines among the first k characters. */
function newlinePrefix(text: string, index: Uint32Array): Uint32Array {
  const n = index.length - 1;
  const prefix = new Uint32Array(n + 1);
  if (text.indexOf('\n') === -1) {
    return prefix;
  }
  let count = 0;
  for (let k = 0; k < n; k++) {
    prefix[k] = count;
    if (text.charCodeAt(index[k]) === 10) {
      count++;
    }
  }
  prefix[n] = count;
  return prefix;
}
