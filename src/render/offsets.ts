/**
 * Spans from Python count code points; JavaScript strings index UTF-16 units.
 * An emoji or many CJK extension characters take two units, so convert before slicing.
 */

/** utf16[k] is the UTF-16 offset of code point k; utf16[n] is text.length. */
export function codePointIndex(text: string): Uint32Array {
  // Sized for the worst case (no surrogate pairs), then trimmed: one pass, no growing arrays.
  const index = new Uint32Array(text.length + 1);
  let k = 0;
  for (let unit = 0; unit < text.length; k++) {
    index[k] = unit;
    const c = text.charCodeAt(unit);
    const pair =
      c >= 0xd800 &&
      c <= 0xdbff &&
      (text.charCodeAt(unit + 1) & 0xfc00) === 0xdc00;
    unit += pair ? 2 : 1;
  }
  index[k] = text.length;
  return k === text.length ? index : index.slice(0, k + 1);
}

/** Code points in `text` (what codePointIndex(text).length - 1 is, without the array). */
export function codePointCount(text: string): number {
  let pairs = 0;
  for (let unit = 0; unit + 1 < text.length; unit++) {
    const c = text.charCodeAt(unit);
    if (
      c >= 0xd800 &&
      c <= 0xdbff &&
      (text.charCodeAt(unit + 1) & 0xfc00) === 0xdc00
    ) {
      pairs++;
      unit++;
    }
  }
  return text.length - pairs;
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
