/**
 * Byte pair encoding of tiktoken encodings (GPT-2, cl100k, o200k) in the browser, so the Tokens
 * panel can paint a keystroke's token count in the keystroke's own frame instead of one frame
 * after the server's answer. The server stays the authority: the panel checks every count made
 * here against the server's answer for the same text, and a tokenizer whose counts disagree
 * once is counted on the server only from then on.
 *
 * The algorithm is tiktoken's: the text is cut at special tokens (when they are allowed), each
 * part into pieces by the encoding's regex, each piece's UTF-8 bytes merged pair by pair, the
 * lowest rank first and the leftmost of equal ranks.
 */
import { partsOf } from './inpage/parts';

/** GET /tokenlens/ranks answer. */
export interface IRankTable {
  tokenizer: string;
  encoding: string;
  /** The pattern as tiktoken has it (Rust regex syntax). */
  pattern: string;
  special_tokens: Record<string, number>;
  n_vocab: number;
  /** Lines of a .tiktoken file: base64 of the token's bytes, a space, its rank. */
  ranks: string;
}

const WS = String.raw`\p{White_Space}`;
const NOT_WS = String.raw`\P{White_Space}`;
// (?i:'s|'t|'re|'ve|'m|'ll|'d) spelt out: JavaScript before 2025 has no inline flags. Rust's
// case folding also takes ſ (U+017F, long s) for s.
const CONTRACTION_I = String.raw`'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]`;

/**
 * tiktoken's patterns, exactly as the server sends them, and the same patterns for JavaScript.
 * What changes:
 * - `\s` is `\p{White_Space}`: JavaScript's `\s` also takes U+FEFF and misses U+0085;
 * - possessive quantifiers (`++`, `?+`, `{1,3}+`) become greedy ones. In these patterns that
 *   changes no match: what follows each one cannot match what backtracking would give back
 *   (`\s++$` cannot end inside a run of spaces; `[^\s\p{L}\p{N}]` and `[\r\n]` are disjoint);
 * - `(?i:…)` is spelt out.
 * A pattern not in this table is not counted in the browser.
 */
export const PATTERNS: ReadonlyMap<string, string> = new Map([
  [
    // r50k_base, p50k_base (GPT-2)
    String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s`,
    String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|${WS}+$|${WS}+(?!${NOT_WS})|${WS}`
  ],
  [
    // cl100k_base
    String.raw`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`,
    String.raw`'(?:[sSſdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^${WS}\p{L}\p{N}]+[\r\n]*|${WS}+$|${WS}*[\r\n]|${WS}+(?!${NOT_WS})|${WS}`
  ],
  [
    // o200k_base
    [
      String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
      String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
      String.raw`\p{N}{1,3}`,
      String.raw` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
      String.raw`\s*[\r\n]+`,
      String.raw`\s+(?!\S)`,
      String.raw`\s+`
    ].join('|'),
    [
      String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:${CONTRACTION_I})?`,
      String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:${CONTRACTION_I})?`,
      String.raw`\p{N}{1,3}`,
      String.raw` ?[^${WS}\p{L}\p{N}]+[\r\n/]*`,
      String.raw`${WS}*[\r\n]+`,
      String.raw`${WS}+(?!${NOT_WS})`,
      String.raw`${WS}+`
    ].join('|')
  ]
]);

/**
 * Pieces longer than this many bytes are not merged here (merging is quadratic in a piece's
 * length; a long run of one symbol while typing would cost a frame): the text is counted on the
 * server instead.
 */
export const MAX_PIECE_BYTES = 256;

/** Pieces remembered with their ids; the cache starts over beyond this. */
const CACHE_PIECES = 100_000;

/**
 * Lines remembered with their counts; the cache starts over beyond this many characters in all
 * (a long line edited keystroke by keystroke leaves a key per keystroke).
 */
export const CACHE_LINE_CHARS = 4_000_000;

const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class BrowserBpe {
  /**
   * The encoder for a rank table, or null when its pattern has no JavaScript equivalent here.
   * Builds the rank map a slice at a time, giving the page a turn between slices.
   */
  static async fromTable(
    table: IRankTable,
    sliceLines = 20_000
  ): Promise<BrowserBpe | null> {
    const source = PATTERNS.get(table.pattern);
    if (source === undefined) {
      return null;
    }
    const ranks = new Map<string, number>();
    const lines = table.ranks;
    let start = 0;
    let n = 0;
    while (start < lines.length) {
      let end = lines.indexOf('\n', start);
      if (end < 0) {
        end = lines.length;
      }
      const space = lines.indexOf(' ', start);
      if (space < 0 || space > end) {
        throw new Error(
          `${table.tokenizer}: rank line ${n + 1} is not "base64 rank".`
        );
      }
      // atob gives the token's bytes as a string of char codes 0-255: the map's key.
      ranks.set(
        atob(lines.slice(start, space)),
        parseInt(lines.slice(space + 1, end), 10)
      );
      start = end + 1;
      if (++n % sliceLines === 0) {
        await new Promise(resolve => setTimeout(resolve, 0));
      }
    }
    return new BrowserBpe(table, new RegExp(source, 'gu'), ranks);
  }

  private constructor(
    table: IRankTable,
    private readonly _pattern: RegExp,
    private readonly _ranks: Map<string, number>
  ) {
    this.tokenizer = table.tokenizer;
    this.encoding = table.encoding;
    this._specials = new Map(Object.entries(table.special_tokens));
    this._specialText = new Map([...this._specials].map(([t, id]) => [id, t]));
    this._nVocab = table.n_vocab;
    const names = [...this._specials.keys()].sort(
      (a, b) => b.length - a.length
    );
    this._special =
      names.length > 0
        ? new RegExp(
            names.map(s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
            'g'
          )
        : null;
  }

  readonly tokenizer: string;
  readonly encoding: string;

  /** Ids in the encoding, its special tokens included. */
  get vocabSize(): number {
    return this._nVocab;
  }

  /** Whether `id` is a special token (`<|endoftext|>`). */
  isSpecial(id: number): boolean {
    return this._specialText.has(id);
  }

  /** The rank (the id) of a token's bytes, or undefined when they are no token. */
  rankOf(bytes: Uint8Array): number | undefined {
    let key = '';
    for (const b of bytes) {
      key += String.fromCharCode(b);
    }
    return this._ranks.get(key);
  }

  /** The bytes token `id` stands for (a special token: its text), for spans and display. */
  tokenBytes(id: number): Uint8Array {
    if (this._bytesOf === null) {
      this._bytesOf = new Map();
      for (const [bytes, rank] of this._ranks) {
        this._bytesOf.set(rank, bytes);
      }
    }
    const special = this._specialText.get(id);
    if (special !== undefined) {
      return new TextEncoder().encode(special);
    }
    const binary = this._bytesOf.get(id) ?? '';
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      out[i] = binary.charCodeAt(i);
    }
    return out;
  }

  /** Characters of the lines whose counts are remembered (at most CACHE_LINE_CHARS). */
  get cachedLineChars(): number {
    return this._lineChars;
  }

  /**
   * The ids of `text`, as the server's tiktoken gives them: special-token text ("<|endoftext|>")
   * is the special token when `allowSpecial`, else ordinary text. Null when this encoder cannot
   * say (a lone surrogate, which the server refuses, or a piece over MAX_PIECE_BYTES).
   */
  encode(text: string, allowSpecial = true): number[] | null {
    const out: number[] = [];
    return this._walk(text, allowSpecial, out) === null ? null : out;
  }

  /** How many tokens `encode` gives, without keeping the ids. */
  count(text: string, allowSpecial = true): number | null {
    return this._walk(text, allowSpecial, null);
  }

  private _walk(
    text: string,
    allowSpecial: boolean,
    out: number[] | null
  ): number | null {
    if (!wellFormed(text)) {
      return null;
    }
    const special = allowSpecial ? this._special : null;
    if (special === null) {
      return this._part(text, out);
    }
    let n = 0;
    let start = 0;
    special.lastIndex = 0;
    for (let m = special.exec(text); m !== null; m = special.exec(text)) {
      // tiktoken runs the pattern on the text between special tokens: `$` is the part's end.
      const part = this._part(text.slice(start, m.index), out);
      if (part === null) {
        return null;
      }
      n += part + 1;
      out?.push(this._specials.get(m[0])!);
      start = m.index + m[0].length;
    }
    const rest = this._part(start === 0 ? text : text.slice(start), out);
    return rest === null ? null : n + rest;
  }

  /** Text without special tokens: its ids into `out`, or only its count (line by line). */
  private _part(text: string, out: number[] | null): number | null {
    return out === null ? this._countLines(text) : this._ordinary(text, out);
  }

  /**
   * The count of `text` part by part (inpage/parts.ts says where a text is cut and why the counts
   * add up to the whole text's), each part's count remembered: a keystroke then runs the pattern
   * over its own line only.
   */
  private _countLines(text: string): number | null {
    let n = 0;
    for (const part of partsOf(text)) {
      const line = this._countLine(part);
      if (line === null) {
        return null;
      }
      n += line;
    }
    return n;
  }

  private _countLine(line: string): number | null {
    let n = this._lines.get(line);
    if (n === undefined) {
      const counted = this._ordinary(line, null);
      if (counted === null) {
        return null;
      }
      n = counted;
      if (this._lineChars + line.length > CACHE_LINE_CHARS) {
        this._lines.clear();
        this._lineChars = 0;
      }
      this._lines.set(line, n);
      this._lineChars += line.length;
    }
    return n;
  }

  private _ordinary(text: string, out: number[] | null): number | null {
    const pattern = this._pattern;
    const cache = this._cache;
    let n = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const piece = m[0];
      if (piece.length === 0) {
        pattern.lastIndex++; // no alternative matches nothing; kept from looping all the same
        continue;
      }
      let ids = cache.get(piece);
      if (ids === undefined) {
        const bytes = utf8Binary(piece);
        if (bytes.length > MAX_PIECE_BYTES) {
          return null;
        }
        ids = this._merge(bytes);
        if (cache.size >= CACHE_PIECES) {
          cache.clear();
        }
        cache.set(piece, ids);
      }
      n += ids.length;
      if (out !== null) {
        for (const id of ids) {
          out.push(id);
        }
      }
    }
    return n;
  }

  /** tiktoken's byte pair merge of one piece (its UTF-8 bytes as char codes 0-255). */
  private _merge(bytes: string): number[] {
    const ranks = this._ranks;
    const whole = ranks.get(bytes);
    if (whole !== undefined) {
      return [whole];
    }
    const rankOf = (a: number, b: number) =>
      ranks.get(bytes.slice(a, b)) ?? Infinity;
    // starts[i]: where part i begins; pair[i]: rank of parts i and i + 1 joined.
    const starts: number[] = [];
    const pair: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      starts.push(i);
      pair.push(i + 1 < bytes.length ? rankOf(i, i + 2) : Infinity);
    }
    starts.push(bytes.length);
    pair.push(Infinity);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < pair.length - 1; i++) {
        if (pair[i] < bestRank) {
          bestRank = pair[i];
          best = i;
        }
      }
      if (best < 0) {
        break;
      }
      // Parts best and best + 1 become one: the pairs on either side of it are new.
      const after = (i: number) =>
        i + 3 < starts.length ? rankOf(starts[i], starts[i + 3]) : Infinity;
      if (best > 0) {
        pair[best - 1] = after(best - 1);
      }
      pair[best] = after(best);
      starts.splice(best + 1, 1);
      pair.splice(best + 1, 1);
    }
    const ids: number[] = [];
    for (let i = 0; i + 1 < starts.length; i++) {
      const id = ranks.get(bytes.slice(starts[i], starts[i + 1]));
      if (id === undefined) {
        throw new Error(
          `${this.tokenizer}: a single byte has no rank; the rank table is damaged.`
        );
      }
      ids.push(id);
    }
    return ids;
  }

  private readonly _specials: Map<string, number>;
  private readonly _specialText: Map<number, string>;
  private readonly _nVocab: number;
  /** Each rank's bytes, made on first use (only drawing needs them, not counting). */
  private _bytesOf: Map<number, string> | null = null;
  private readonly _special: RegExp | null;
  private readonly _cache = new Map<string, number[]>();
  private readonly _lines = new Map<string, number>();
  private _lineChars = 0;
}

function wellFormed(text: string): boolean {
  const native = (text as unknown as { isWellFormed?: () => boolean })
    .isWellFormed;
  return native ? native.call(text) : !LONE_SURROGATE.test(text);
}

/** The UTF-8 bytes of well-formed `text`, as a string of char codes 0-255. */
function utf8Binary(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out += String.fromCharCode(c);
    } else if (c < 0x800) {
      out += String.fromCharCode(0xc0 | (c >> 6), 0x80 | (c & 63));
    } else if (c >= 0xd800 && c < 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      out += String.fromCharCode(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 63),
        0x80 | ((c >> 6) & 63),
        0x80 | (c & 63)
      );
    } else {
      out += String.fromCharCode(
        0xe0 | (c >> 12),
        0x80 | ((c >> 6) & 63),
        0x80 | (c & 63)
      );
    }
  }
  return out;
}
