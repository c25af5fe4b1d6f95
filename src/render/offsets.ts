/**
 * Spans from Python count code points; JavaScript strings index UTF-16 units.
 * An emoji or many CJK extension characters take two units, so convert before slicing.
 */

/** utf16[k] is the UTF-16 offset of code point k; utf16[n] is text.length. */
export function codePointIndex(text: string): Uint32Array {
  const index: number[] = [];
  let unit = 0;
  while (unit < text.length) {
    index.push(unit);
    const cp = text.codePointAt(unit) as number;
    unit += cp > 0xffff ? 2 : 1;
  }
  index.push(text.length);
  return Uint32Array.from(index);
}

/** Slice `text` between two code-point offsets, clamped to the text. */
export function sliceCodePoints(
  text: string,
  index: Uint32Array,
  start: number,
  end: number
): string {
  const last = index.length - 1;
  const s = Math.max(0, Math.min(start, last));
  const e = Math.max(s, Math.min(end, last));
  return text.slice(index[s], index[e]);
}
