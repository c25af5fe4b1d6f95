/**
 * A text cut into parts that every tokenizer here tokenizes on their own, each part's tokens
 * remembered: a keystroke then tokenizes its own line, and the rest of a 100,000-character cell
 * is put together from what earlier keystrokes made.
 *
 * A text is cut after a newline that follows a character other than white space and precedes a
 * letter or a number. In tiktoken's three patterns no piece crosses such a place and none before
 * it depends on what follows (the newline is a piece of its own, or ends a run of punctuation);
 * whitespace-splitting pre-tokenisers split there; and a vocabulary with no piece that joins a
 * newline to what follows cannot merge across it. What a part's start changes (a prepended "▁",
 * add_prefix_space, a Metaspace "first" scheme) is kept by tokenizing a later part after a short
 * anchor that ends the same way, and the anchor's tokens must end exactly where the part starts,
 * or the part is not cut there. tests/test_inpage_browser.py holds the whole text and its parts to
 * the Python engine's tokens.
 */
import { codePointCount } from '../../render/offsets';
import type { IPageEncoding } from './engine';

const WHITE_SPACE = /\p{White_Space}/u;
const LETTER_OR_NUMBER = /[\p{L}\p{N}]/uy;

/** What a later part is tokenized after: it ends as the text before a cut does. */
export const ANCHOR = 'a\n';

/**
 * Parts remembered per tokenizer, at most this many characters in all (four 100,000-character
 * cells; a part's tokens, spans and strings take many times the part's own size); the least
 * recently used go first (a long line edited keystroke by keystroke leaves a part per keystroke).
 */
export const PART_CACHE_CHARS = 400_000;

/** Where each part of `text` starts (UTF-16 offsets, the first 0). */
function partStarts(text: string): number[] {
  const starts = [0];
  for (
    let nl = text.indexOf('\n', 1);
    nl >= 0;
    nl = text.indexOf('\n', nl + 1)
  ) {
    const next = nl + 1;
    LETTER_OR_NUMBER.lastIndex = next;
    if (!WHITE_SPACE.test(text[nl - 1]) && LETTER_OR_NUMBER.test(text)) {
      starts.push(next);
    }
  }
  return starts;
}

/**
 * The parts of `text`, end to end (the caller does not change the list). The last text's are
 * kept: a keystroke asks for them several times (how much is new, the count, then the tokens),
 * for each tokenizer.
 */
export function partsOf(text: string): readonly string[] {
  if (text !== lastText) {
    const starts = partStarts(text);
    lastParts = starts.map((s, k) =>
      text.slice(s, starts[k + 1] ?? text.length)
    );
    lastText = text;
  }
  return lastParts;
}

let lastText: string | null = null;
let lastParts: readonly string[] = [];

/** One part's tokens: spans in code points from the part's start, not yet made monotone. */
interface IPart {
  enc: IPageEncoding;
  /** The part's length in code points. */
  chars: number;
}

/**
 * Tokenizes a text part by part through `encodePart`, which gives a part's tokens alone (`first`:
 * the part begins the text) or null when it cannot. `key` tells apart what changes a part's tokens
 * besides its text (tiktoken's allowed special tokens).
 */
export class PartCache {
  constructor(
    private readonly _encodePart: (
      part: string,
      first: boolean,
      flag: boolean
    ) => IPageEncoding | null,
    private readonly _limit = PART_CACHE_CHARS
  ) {}

  /** Characters of `text` whose parts are not remembered yet (the work `encode` has left). */
  cold(text: string, flag: boolean): number {
    let n = 0;
    partsOf(text).forEach((part, k) => {
      if (!this._parts.has(keyOf(part, k === 0, flag))) {
        n += part.length;
      }
    });
    return n;
  }

  /**
   * Remember parts of `text` until `deadline` (performance.now()); true once all are. Lets a
   * long text be made ready a slice at a time, between frames.
   */
  warm(text: string, flag: boolean, deadline: number): boolean {
    const parts = partsOf(text);
    for (let k = 0; k < parts.length; k++) {
      if (performance.now() >= deadline) {
        return false;
      }
      if (this._get(parts[k], k === 0, flag) === null) {
        return true; // nothing more to make: encode() gives null for this text
      }
    }
    return true;
  }

  /** The tokens of `text`, its parts' put end to end; null when a part cannot be made. */
  encode(text: string, flag: boolean): IPageEncoding | null {
    const parts = partsOf(text);
    const made: IPart[] = [];
    for (let k = 0; k < parts.length; k++) {
      const part = this._get(parts[k], k === 0, flag);
      if (part === null) {
        return null;
      }
      made.push(part);
    }
    if (made.length === 1) {
      return copy(made[0].enc, 0);
    }
    const out: IPageEncoding = {
      ids: [],
      spans: [],
      tokens: [],
      pieces: [],
      special: []
    };
    let offset = 0;
    for (const { enc, chars } of made) {
      for (let i = 0; i < enc.ids.length; i++) {
        out.ids.push(enc.ids[i]);
        out.spans.push([enc.spans[i][0] + offset, enc.spans[i][1] + offset]);
        out.tokens.push(enc.tokens[i]);
        out.pieces.push(enc.pieces[i]);
        out.special.push(enc.special[i]);
      }
      offset += chars;
    }
    return out;
  }

  /** The count of `text`'s tokens, from the parts' (each made and remembered if need be). */
  count(text: string, flag: boolean): number | null {
    let n = 0;
    const parts = partsOf(text);
    for (let k = 0; k < parts.length; k++) {
      const part = this._get(parts[k], k === 0, flag);
      if (part === null) {
        return null;
      }
      n += part.enc.ids.length;
    }
    return n;
  }

  /** Characters of the parts remembered. */
  get cachedChars(): number {
    return this._chars;
  }

  private _get(part: string, first: boolean, flag: boolean): IPart | null {
    const key = keyOf(part, first, flag);
    const hit = this._parts.get(key);
    if (hit !== undefined) {
      // most recently used last: the oldest are forgotten first
      this._parts.delete(key);
      this._parts.set(key, hit);
      return hit;
    }
    if (hit === null) {
      return null;
    }
    const enc = this._encodePart(part, first, flag);
    const made = enc === null ? null : { enc, chars: codePointCount(part) };
    this._parts.set(key, made);
    this._chars += part.length;
    while (this._chars > this._limit && this._parts.size > 1) {
      const [oldest] = this._parts.keys();
      this._parts.delete(oldest);
      this._chars -= oldest.length - 2;
    }
    return made;
  }

  private readonly _parts = new Map<string, IPart | null>();
  private _chars = 0;
}

/** Two flag characters, then the part. */
function keyOf(part: string, first: boolean, flag: boolean): string {
  return (first ? '1' : '0') + (flag ? '1' : '0') + part;
}

function copy(enc: IPageEncoding, offset: number): IPageEncoding {
  return {
    ids: enc.ids.slice(),
    spans: enc.spans.map(([s, e]) => [s + offset, e + offset]),
    tokens: enc.tokens.slice(),
    pieces: enc.pieces.slice(),
    special: enc.special.slice()
  };
}
