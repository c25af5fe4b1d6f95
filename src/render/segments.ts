/**
 * Grapheme-aligned segments: which tokens spell which characters.
 *
 * The server sends them (`segments`); payloads from older versions do not, so they are
 * derived here from the spans in one linear pass.
 */
import { codePointIndex } from './offsets';
import { ITokenizeResult, Segment } from './types';

/** A character that joins the one before it into the same grapheme (marks, ZWJ, modifiers). */
const JOINS_PREVIOUS =
  // eslint-disable-next-line no-misleading-character-class -- it tests one code point, so marks and joiners belong in the class alone
  /[\p{M}\u200d\ufe0e\ufe0f\u{1f3fb}-\u{1f3ff}\u{e0020}-\u{e007f}]/u;

/** The result's segments, from the payload or derived from its spans. */
export function segmentsOf(
  result: ITokenizeResult,
  index?: Uint32Array
): Segment[] {
  if (Array.isArray(result.segments)) {
    return result.segments;
  }
  return deriveSegments(result, index ?? codePointIndex(result.text ?? ''));
}

/**
 * Group tokens into segments whose ends are grapheme boundaries.
 *
 * A token with an empty span (the trailing bytes of a split character) joins the segment
 * before it; a segment that ends inside a grapheme (before a combining mark, after a ZWJ)
 * takes the next token too. Special tokens with no characters stand alone with start == end.
 */
export function deriveSegments(
  result: ITokenizeResult,
  index: Uint32Array
): Segment[] {
  const text = result.text ?? '';
  const n = result.ids?.length ?? 0;
  const out: Segment[] = [];
  let cur: Segment | null = null;
  const insideGrapheme = (p: number): boolean => {
    if (p <= 0 || p >= index.length - 1) {
      return false;
    }
    const next = String.fromCodePoint(text.codePointAt(index[p]) as number);
    const prev = String.fromCodePoint(text.codePointAt(index[p - 1]) as number);
    return JOINS_PREVIOUS.test(next) || prev === '\u200d';
  };
  for (let i = 0; i < n; i++) {
    const here: number = cur ? cur[1] : 0;
    const [s, e]: [number, number] = result.spans[i] ?? [here, here];
    if (result.special?.[i] && e <= s) {
      // a special token that spells characters (BERT's [UNK]) is grouped like any other
      if (cur) {
        out.push(cur);
        cur = null;
      }
      out.push([s, s, i, i + 1]);
      continue;
    }
    const joins =
      cur !== null &&
      ((e <= s && s === cur[1]) ||
        s < cur[1] ||
        (s === cur[1] && insideGrapheme(s)));
    if (cur && joins) {
      cur[1] = Math.max(cur[1], e);
      cur[3] = i + 1;
    } else {
      if (cur) {
        out.push(cur);
      }
      cur = [s, Math.max(s, e), i, i + 1];
    }
  }
  if (cur) {
    out.push(cur);
  }
  return out;
}
