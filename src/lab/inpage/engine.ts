/**
 * One interface for every tokenizer the page runs itself: `encode(text)` gives the ids, the
 * character spans (code points, in the server's convention: a character belongs to the token
 * that holds its first byte; special tokens have empty spans where they stand) and the display
 * strings, so the panel builds the very result shape the server sends and the renderer draws.
 * tiktoken encodings run through bpe.ts, tokenizer.json files through hf.ts.
 */
import { codePointCount } from '../../render/offsets';
import { IExplanation, ITokenizeResult } from '../../render/types';
import { BrowserBpe } from '../bpe';
import { PartCache } from './parts';

/** What the page made of one text. */
export interface IPageEncoding {
  ids: number[];
  /** Code-point offsets [start, end) into the text. */
  spans: [number, number][];
  tokens: string[];
  /** The vocabulary's own strings, e.g. "Ġlove", "##ing", "▁love" (the card and legend read them). */
  pieces: string[];
  special: boolean[];
}

export interface IPageEngine {
  readonly name: string;
  /** The server's kind for it ("tiktoken", "hf", "sentencepiece", "gguf"). */
  readonly kind: string;
  readonly model: string;
  readonly vocabSize: number;
  readonly unkId: number | null;
  /** Null when the page cannot say for this text (the server then answers alone). */
  encode(text: string, addSpecialTokens: boolean): IPageEncoding | null;
  /** The count alone, from the text's parts (made and remembered where they are not yet). */
  count(text: string, addSpecialTokens: boolean): number | null;
  /** A count that is fast even for a text never seen (tiktoken's, line by line), if any. */
  fastCount?(text: string, addSpecialTokens: boolean): number | null;
  /** Characters of `text` that `encode` would tokenize anew (the rest it remembers: parts.ts). */
  cold(text: string, addSpecialTokens: boolean): number;
  /** Make `text`'s parts ready until `deadline` (performance.now()); true once all are. */
  warm(text: string, addSpecialTokens: boolean, deadline: number): boolean;
  /** Why a token has its id, as the server's POST /tokenlens/explain says it (no server). */
  explain(id: number): IExplanation;
}

/** An explanation with what every model knows: the rest is the model's. */
export function explanation(
  engine: IPageEngine,
  id: number,
  facts: Pick<IExplanation, 'piece' | 'display' | 'special'> &
    Partial<Omit<IExplanation, 'bytes'>> & { bytes?: Uint8Array | null }
): IExplanation {
  const { bytes, ...rest } = facts;
  return {
    id,
    model: engine.model,
    kind: engine.kind,
    unknown: id === engine.unkId,
    rank: null,
    parents: [],
    score: null,
    continuation: null,
    ...rest,
    bytes: bytes
      ? Array.from(bytes, b =>
          b.toString(16).toUpperCase().padStart(2, '0')
        ).join(' ')
      : ''
  };
}

/**
 * The two parts byte pair encoding joins last to make `token` (none for one byte), as the
 * server's bpe_parents: the token's own bytes merged, the lowest rank first.
 */
export function bpeParents(
  token: Uint8Array,
  rankOf: (bytes: Uint8Array) => number | undefined
): Uint8Array[] {
  let parts = Array.from(token, b => Uint8Array.of(b));
  while (parts.length > 2) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = rankOf(concat(parts[i], parts[i + 1]));
      if (rank !== undefined && rank < bestRank) {
        best = i;
        bestRank = rank;
      }
    }
    if (best < 0) {
      break;
    }
    parts = [
      ...parts.slice(0, best),
      concat(parts[best], parts[best + 1]),
      ...parts.slice(best + 2)
    ];
  }
  return parts.length === 2 ? parts : [];
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The server's result shape for an encoding made here (no segments: the renderer derives them). */
export function asResult(
  engine: IPageEngine,
  text: string,
  enc: IPageEncoding
): ITokenizeResult {
  return {
    tokenizer: engine.name,
    kind: engine.kind,
    model: engine.model,
    text,
    ids: enc.ids,
    tokens: enc.tokens,
    pieces: enc.pieces,
    spans: enc.spans,
    special: enc.special,
    unk_id: engine.unkId,
    vocab_size: engine.vocabSize,
    n_tokens: enc.ids.length,
    n_chars: codePointCount(text),
    n_bytes: utf8Length(text)
  };
}

/** GPT-2's byte ↔ printable character table, as ByteLevel uses it. */
export const BYTE_OF = (() => {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) {
    bs.push(b);
  }
  for (let b = 161; b <= 172; b++) {
    bs.push(b);
  }
  for (let b = 174; b <= 255; b++) {
    bs.push(b);
  }
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const map = new Map<string, number>();
  bs.forEach((b, i) => map.set(String.fromCharCode(cs[i]), b));
  return map;
})();

/** The printable character GPT-2's table gives each byte (Ġ for a space). */
const CHAR_OF_BYTE: string[] = (() => {
  const out: string[] = new Array(256);
  BYTE_OF.forEach((b, c) => (out[b] = c));
  return out;
})();

/** The bytes a byte-level vocabulary string stands for ("Ġlove" → 20 6C 6F 76 65); null when a
 * character of it is not in GPT-2's table. */
export function byteLevelBytes(piece: string): Uint8Array | null {
  const out = new Uint8Array(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const b = BYTE_OF.get(piece[i]);
    if (b === undefined) {
      return null;
    }
    out[i] = b;
  }
  return out;
}

/** A byte-level token as the vocabulary spells it, e.g. "Ġlove" (the server's piece). */
export function byteLevelPiece(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    out += CHAR_OF_BYTE[b];
  }
  return out;
}

export class TiktokenEngine implements IPageEngine {
  constructor(
    readonly name: string,
    private readonly _bpe: BrowserBpe
  ) {}

  readonly kind = 'tiktoken';
  readonly model = 'BPE';
  readonly unkId = null;

  get vocabSize(): number {
    return this._bpe.vocabSize;
  }

  count(text: string, addSpecialTokens: boolean): number | null {
    return this._parts.count(text, addSpecialTokens);
  }

  fastCount(text: string, addSpecialTokens: boolean): number | null {
    return this._bpe.count(text, addSpecialTokens); // ids only, line by line, each line remembered
  }

  cold(text: string, addSpecialTokens: boolean): number {
    return this._parts.cold(text, addSpecialTokens);
  }

  warm(text: string, addSpecialTokens: boolean, deadline: number): boolean {
    return this._parts.warm(text, addSpecialTokens, deadline);
  }

  encode(text: string, addSpecialTokens: boolean): IPageEncoding | null {
    return this._parts.encode(text, addSpecialTokens);
  }

  explain(id: number): IExplanation {
    const bytes = this._bpe.tokenBytes(id);
    if (this._bpe.isSpecial(id)) {
      const text = DECODER.decode(bytes);
      return explanation(this, id, {
        piece: text,
        display: text,
        special: true,
        bytes
      });
    }
    // In tiktoken the rank is the merge order and the id.
    const parents = bpeParents(bytes, b => this._bpe.rankOf(b)).map(part => {
      const rank = this._bpe.rankOf(part) ?? null;
      return {
        id: rank,
        piece: byteLevelPiece(part),
        display: displayBytes(part),
        rank
      };
    });
    return explanation(this, id, {
      piece: byteLevelPiece(bytes),
      display: displayBytes(bytes),
      special: false,
      bytes,
      rank: id,
      parents
    });
  }

  /** One part alone: nothing before a part changes its tokens in tiktoken's patterns. */
  private _encodePart(
    text: string,
    allowSpecial: boolean
  ): IPageEncoding | null {
    const ids = this._bpe.encode(text, allowSpecial);
    if (ids === null) {
      return null;
    }
    const bytesOf = ids.map(id => this._bpe.tokenBytes(id));
    const spans = byteLengthSpans(
      new TextEncoder().encode(text),
      bytesOf.map(b => b.length)
    );
    return {
      ids,
      spans,
      tokens: bytesOf.map(displayBytes),
      pieces: ids.map((id, k) =>
        this._bpe.isSpecial(id)
          ? DECODER.decode(bytesOf[k])
          : byteLevelPiece(bytesOf[k])
      ),
      special: ids.map(id => this._bpe.isSpecial(id))
    };
  }

  private readonly _parts = new PartCache((part, _first, allowSpecial) =>
    this._encodePart(part, allowSpecial)
  );
}

/** Spans of tokens whose bytes, laid end to end, are `bytes`: each character to the token
 * holding its first byte. */
export function byteLengthSpans(
  bytes: Uint8Array,
  lengths: number[]
): [number, number][] {
  const charsBefore = leadCounts(bytes);
  const spans: [number, number][] = [];
  let at = 0;
  for (const n of lengths) {
    const end = Math.min(at + n, bytes.length);
    spans.push([charsBefore[at], charsBefore[end]]);
    at = end;
  }
  return spans;
}

/** out[b]: characters whose first byte lies before byte b. */
export function leadCounts(bytes: Uint8Array): Int32Array {
  const out = new Int32Array(bytes.length + 1);
  for (let b = 0; b < bytes.length; b++) {
    out[b + 1] = out[b] + ((bytes[b] & 0xc0) !== 0x80 ? 1 : 0);
  }
  return out;
}

/**
 * Engine offsets made monotone and disjoint, as the server's clamp_spans: a later piece of a
 * split character gets an empty span; an empty span stands where the text before it ended.
 */
export function clampSpans(spans: [number, number][]): [number, number][] {
  let prevEnd = 0;
  return spans.map(([s, e]) => {
    if (e <= s) {
      return [prevEnd, prevEnd];
    }
    const start = Math.max(s, prevEnd);
    const end = Math.max(e, start);
    prevEnd = Math.max(prevEnd, e);
    return [start, end];
  });
}

/** The code-point index of each UTF-16 position of `text` (length + 1 entries). */
export function codePointIndex16(text: string): Int32Array {
  const out = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    out[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        out[++i] = cp;
      }
    }
    cp++;
  }
  out[text.length] = cp;
  return out;
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** A token's bytes as a person reads them, as the server's display_bytes: whole characters as
 * text, bytes of a split character as hex (`<E0 AC>`), never U+FFFD. */
export function displayBytes(bytes: Uint8Array): string {
  let out = '';
  let hex: string[] = [];
  const flush = () => {
    if (hex.length > 0) {
      out += `<${hex.join(' ')}>`;
      hex = [];
    }
  };
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      hex.push(bytes[i].toString(16).toUpperCase().padStart(2, '0'));
      i++;
      continue;
    }
    flush();
    out += DECODER.decode(bytes.subarray(i, i + n));
    i += n;
  }
  flush();
  return out;
}

const DECODER = new TextDecoder('utf-8');

/** The length of the well-formed UTF-8 sequence at `i`, or 0. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) {
    return 1;
  }
  const cont = (k: number, lo = 0x80, hi = 0xbf) =>
    i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) {
    return cont(1) ? 2 : 0;
  }
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
