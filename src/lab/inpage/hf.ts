/**
 * A tokenizer.json run in the page by @huggingface/tokenizers (tokenizers.js), with the
 * character spans that library does not give: its own steps (added tokens, normaliser,
 * pre-tokeniser, model, post-processor) are run one by one here, and each step's output is found
 * again in its input, so every piece carries the original characters it came from.
 *
 * Chosen over @xenova/transformers' tokenizer (the same code inside a 1.5 MB library with ONNX
 * runtime dependencies) and tiktoken's WASM ports (tiktoken encodings only): ~37 kB minified,
 * no dependencies, Apache-2.0, and the steps are reachable one by one. Its exactness against the
 * Python engine is checked by tests/test_inpage_browser.py; where it differs for a text, the
 * server's answer wins and that tokenizer is counted on the server from then on.
 */
import { SequenceNormalizer, Tokenizer } from '@huggingface/tokenizers';

import { codePointCount } from '../../render/offsets';
import { IExplanation, IExplanationParent } from '../../render/types';

import {
  byteLevelBytes,
  clampSpans,
  codePointIndex16,
  displayBytes,
  explanation,
  IPageEncoding,
  IPageEngine
} from './engine';
import { ANCHOR, PartCache } from './parts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Fn = (...args: unknown[]) => Json;

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const ENCODER = new TextEncoder();
/** A token no text makes: where the post-processor puts the text's own tokens. */
const SENTINEL = '\u0000tokenlens\u0000';
/**
 * Steps that split or clean at whitespace with JavaScript's \s in tokenizers.js, which differs
 * from Rust's char::is_whitespace at U+0085 and U+FEFF: a text holding either is the server's.
 */
const WHITESPACE_STEPS = new Set([
  'BertPreTokenizer',
  'Whitespace',
  'WhitespaceSplit',
  'BertNormalizer'
]);
const JS_WHITESPACE_DIFFERS = /[\u0085\ufeff]/;

/** Characters whose normal form is remembered; the memo starts over beyond this. */
const MEMO_CHARS = 50_000;

/** Every component type named in a tokenizer.json part (Sequence members included). */
function typesIn(part: Json): Set<string> {
  const out = new Set<string>();
  const walk = (p: Json) => {
    if (!p || typeof p !== 'object') {
      return;
    }
    if (typeof p.type === 'string') {
      out.add(p.type);
    }
    for (const key of [
      'normalizers',
      'pretokenizers',
      'decoders',
      'processors'
    ]) {
      (p[key] ?? []).forEach(walk);
    }
  };
  walk(part);
  return out;
}

interface IAligned {
  text: string;
  /** Per UTF-16 unit of `text`: the original [from, to) (UTF-16, within the section). */
  from: Int32Array;
  to: Int32Array;
}

interface IPiece {
  token: string;
  id: number;
  start: number;
  end: number;
}

export class HfEngine implements IPageEngine {
  constructor(
    readonly name: string,
    readonly kind: string,
    json: Json
  ) {
    this._tok = new Tokenizer(json, {});
    this._spec = json.model ?? {};
    const t = this._tok as Json;
    const model = this._spec;
    this.model = String(model.type ?? '');
    const pre = typesIn(json.pre_tokenizer);
    const dec = typesIn(json.decoder);
    this._byteLevel = pre.has('ByteLevel') || dec.has('ByteLevel');
    this._metaspace = pre.has('Metaspace');
    this._metaDisplay =
      this._metaspace || dec.has('Metaspace') || dec.has('Replace');
    this._byteFallback = Boolean(model.byte_fallback);
    this._dummyEmpty = kind === 'sentencepiece';
    this._wsSplit = [...pre, ...typesIn(json.normalizer)].some(k =>
      WHITESPACE_STEPS.has(k)
    );
    this._prefix = model.continuing_subword_prefix ?? '';
    this._suffix = model.end_of_word_suffix ?? '';
    this._unk = t.model.unk_token ?? null;
    this.unkId =
      typeof t.model.unk_token_id === 'number' ? t.model.unk_token_id : null;
    this.vocabSize = Math.max(
      t.model.vocab.length,
      ...(json.added_tokens ?? []).map((a: Json) => a.id + 1)
    );
    for (const a of json.added_tokens ?? []) {
      if (a.special) {
        this._specialIds.add(a.id);
      }
    }
    for (const tokenSpec of Object.values(
      json.post_processor?.special_tokens ?? {}
    ) as Json[]) {
      (tokenSpec.ids ?? []).forEach((id: number) => this._specialIds.add(id));
    }
    const steps = normalizerSteps(json);
    if (steps.length > 0) {
      const prepends = steps.filter(s => s.type === 'Prepend');
      // A Prepend after another step cannot be told apart per character: not run here.
      this._alignable =
        prepends.length === 0 ||
        (prepends.length === 1 && steps[0].type === 'Prepend');
      this._prepend = prepends.length === 1 ? String(prepends[0].prepend) : '';
      const rest = steps.filter(s => s.type !== 'Prepend');
      this._unitNorm =
        rest.length > 0
          ? (new SequenceNormalizer({
              type: 'Sequence',
              normalizers: rest
            } as Json) as unknown as Fn)
          : null;
      this._fullNorm = t.normalizer as Fn;
    }
    if (cuttable(json)) {
      this._parts = new PartCache((part, first) =>
        first ? this._encodeOwn(part) : this._encodeLater(part)
      );
    }
  }

  readonly model: string;
  readonly unkId: number | null;
  readonly vocabSize: number;

  cold(text: string): number {
    return this._parts ? this._parts.cold(text, false) : text.length;
  }

  warm(text: string, _special: boolean, deadline: number): boolean {
    return this._parts ? this._parts.warm(text, false, deadline) : true;
  }

  count(text: string, addSpecialTokens: boolean): number | null {
    if (!this._parts) {
      return this.encode(text, addSpecialTokens)?.ids.length ?? null;
    }
    const template = this._template(addSpecialTokens);
    const own = this._readable(text) ? this._parts.count(text, false) : null;
    return own === null || template === null
      ? null
      : own + template[0].ids.length + template[1].ids.length;
  }

  encode(text: string, addSpecialTokens: boolean): IPageEncoding | null {
    if (!this._readable(text)) {
      return null;
    }
    // part by part (a part that will not cut cleanly: the whole text at once)
    const own =
      (this._parts && this._parts.encode(text, false)) ?? this._encodeOwn(text);
    const template = this._template(addSpecialTokens);
    if (own === null || template === null) {
      return null;
    }
    const [before, after] = template;
    if (before.ids.length + after.ids.length > 0) {
      const end = codePointCount(text);
      for (const side of [before, after]) {
        const at = side === before ? 0 : end;
        const put = side === before ? 'unshift' : 'push';
        own.ids[put](...side.ids);
        own.spans[put](...side.ids.map((): [number, number] => [at, at]));
        own.tokens[put](...side.tokens);
        own.pieces[put](...side.pieces);
        own.special[put](...side.special);
      }
    }
    own.spans = clampSpans(own.spans);
    return own;
  }

  /** Why a token has its id, as the server's explain for a tokenizer.json (backends/hf.py). */
  explain(id: number): IExplanation {
    const piece = this._pieceOf(id) ?? '';
    const special = this._specialIds.has(id);
    const facts = {
      piece,
      display: this._display({ token: piece, id, start: 0, end: 0 }),
      special,
      bytes: special ? null : this._tokenBytes(piece)
    };
    const model = this._spec;
    if (this.model === 'BPE') {
      const made = this._merges().get(piece);
      if (!made) {
        return explanation(this, id, facts);
      }
      const [rank, ...parts] = made;
      const parents = parts.map((part): IExplanationParent => {
        const pid = this._idOf(part);
        return {
          id: pid < 0 ? null : pid,
          piece: part,
          display:
            pid < 0
              ? part
              : this._display({ token: part, id: pid, start: 0, end: 0 }),
          rank: this._merges().get(part)?.[0] ?? null
        };
      });
      return explanation(this, id, { ...facts, rank, parents });
    }
    if (this.model === 'Unigram') {
      const entry = (model.vocab ?? [])[id];
      return explanation(this, id, {
        ...facts,
        score: entry ? Number(entry[1]) : null
      });
    }
    if (this.model === 'WordPiece') {
      const prefix = model.continuing_subword_prefix || '##';
      return explanation(this, id, {
        ...facts,
        continuation: piece.startsWith(prefix) && !special
      });
    }
    return explanation(this, id, facts);
  }

  /** The vocabulary's string for `id` (an added token's content first), if any. */
  private _pieceOf(id: number): string | null {
    const t = this._tok as Json;
    for (const [content, token] of t.added_tokens_map as Map<string, Json>) {
      if (token.id === id) {
        return content;
      }
    }
    return t.model.vocab[id] ?? null;
  }

  /** A token's bytes as the server's token_bytes gives them; null where it gives none. */
  private _tokenBytes(piece: string): Uint8Array | null {
    const bytes = this._byteLevel ? byteLevelBytes(piece) : null;
    return bytes ?? (this._metaspace ? metaspaceBytes(piece) : null);
  }

  /** Merged piece → [rank, left, right], from the model's ordered merge list. */
  private _merges(): Map<string, [number, string, string]> {
    if (this._mergeIndex === null) {
      this._mergeIndex = new Map();
      (this._spec.merges ?? []).forEach((merge: Json, rank: number) => {
        const [left, right] =
          typeof merge === 'string' ? splitOnce(merge) : merge;
        const made = left + right;
        if (!this._mergeIndex!.has(made)) {
          this._mergeIndex!.set(made, [rank, left, right]);
        }
      });
    }
    return this._mergeIndex;
  }

  /** Whether the page can say for this text (else the server answers alone). */
  private _readable(text: string): boolean {
    return (
      this._alignable && !(this._wsSplit && JS_WHITESPACE_DIFFERS.test(text))
    );
  }

  /**
   * The tokens the post-processor puts before and after the text's own ("[CLS]", "[SEP]"),
   * with spans to be placed; null when one of them is not in the vocabulary.
   */
  private _template(
    addSpecialTokens: boolean
  ): [IPageEncoding, IPageEncoding] | null {
    if (!this._templates.has(addSpecialTokens)) {
      this._templates.set(
        addSpecialTokens,
        this._makeTemplate(addSpecialTokens)
      );
    }
    return this._templates.get(addSpecialTokens) ?? null;
  }

  private _makeTemplate(
    addSpecialTokens: boolean
  ): [IPageEncoding, IPageEncoding] | null {
    const t = this._tok as Json;
    let before: string[] = [];
    let after: string[] = [];
    if (t.post_processor) {
      const wrapped: string[] = t.post_processor(
        [SENTINEL],
        null,
        addSpecialTokens
      ).tokens;
      const at = wrapped.indexOf(SENTINEL);
      if (at < 0) {
        return null;
      }
      before = wrapped.slice(0, at);
      after = wrapped.slice(at + 1);
    }
    const side = (tokens: string[]): IPageEncoding | null => {
      const pieces = tokens.map(token => ({
        token,
        id: this._idOf(token),
        start: 0,
        end: 0
      }));
      return pieces.some(p => p.id < 0) ? null : this._encoding(pieces, '');
    };
    const b = side(before);
    const a = side(after);
    return b && a ? [b, a] : null;
  }

  private _idOf(token: string): number {
    const t = this._tok as Json;
    return (
      t.added_tokens_map.get(token)?.id ??
      t.model.tokens_to_ids.get(token) ??
      -1
    );
  }

  /** The text's own tokens (no post-processor), spans not yet made monotone; null: the server's. */
  private _encodeOwn(text: string): IPageEncoding | null {
    const pieces = this._piecesOf(text);
    return !pieces || pieces.some(p => p.id < 0)
      ? null
      : this._encoding(pieces, text);
  }

  /** The library's steps run on `text`, each piece with its place; null: the server's. */
  private _piecesOf(text: string): IPiece[] | null {
    const pieces: IPiece[] = [];
    try {
      return this._encodeText(text, pieces) ? pieces : null;
    } catch {
      return null; // a pattern or step the library cannot run on this text
    }
  }

  /**
   * A part after the first (parts.ts): its tokens after the anchor, which must end exactly
   * where the part starts; null when they do not (the text is then tokenized whole).
   */
  private _encodeLater(part: string): IPageEncoding | null {
    const pieces = this._piecesOf(ANCHOR + part);
    if (!pieces) {
      return null;
    }
    const cut = ANCHOR.length;
    const k = pieces.findIndex(p => p.start >= cut && p.end > p.start);
    const mine = k < 0 ? [] : pieces.slice(k);
    if (
      pieces.slice(0, k < 0 ? pieces.length : k).some(p => p.end > cut) ||
      mine.some(p => p.start < cut || p.id < 0)
    ) {
      return null;
    }
    const shifted = mine.map(p => ({
      ...p,
      start: p.start - cut,
      end: p.end - cut
    }));
    return this._encoding(shifted, part);
  }

  /** Pieces (UTF-16 offsets into `text`) as the page's encoding, spans in code points. */
  private _encoding(pieces: IPiece[], text: string): IPageEncoding {
    const cp = codePointIndex16(text);
    return {
      ids: pieces.map(p => p.id),
      spans: pieces.map(p => [cp[p.start], cp[p.end]]),
      tokens: pieces.map(p => this._display(p)),
      // a piece outside the vocabulary is the unknown token, as the engine names it
      pieces: pieces.map(p =>
        p.id === this.unkId && this._unk !== null ? this._unk : p.token
      ),
      special: pieces.map(p => this._specialIds.has(p.id))
    };
  }

  /** The library's encode_text, step by step, keeping where each piece came from. */
  private _encodeText(text: string, out: IPiece[]): boolean {
    const t = this._tok as Json;
    const sections: string[] = t.splitter_unnormalized.split(text);
    const starts = offsetsOf(sections, text);
    if (starts === null) {
      return false;
    }
    stripAround(sections, starts, t.added_tokens_map);
    for (let i = 0; i < sections.length; i++) {
      const section = sections[i];
      const start = starts[i];
      if (section.length === 0) {
        continue;
      }
      const added = t.added_tokens_map.get(section);
      if (added) {
        out.push({
          token: section,
          id: added.id,
          start,
          end: start + section.length
        });
        continue;
      }
      const aligned = this._align(section);
      if (aligned === null) {
        return false;
      }
      if (aligned.text.length === 0) {
        continue;
      }
      const subs: string[] = t.splitter_normalized.split(aligned.text);
      const subStarts = offsetsOf(subs, aligned.text);
      if (subStarts === null) {
        return false;
      }
      stripAround(subs, subStarts, t.added_tokens_map);
      for (let j = 0; j < subs.length; j++) {
        const sub = subs[j];
        const o = subStarts[j];
        if (sub.length === 0) {
          continue;
        }
        const addedHere = t.added_tokens_map.get(sub);
        if (addedHere) {
          out.push({
            token: sub,
            id: addedHere.id,
            start: start + aligned.from[o],
            end: start + aligned.to[o + sub.length - 1]
          });
          continue;
        }
        const pretokens: string[] = t.pre_tokenizer
          ? t.pre_tokenizer(sub, { section_index: i })
          : [sub];
        if (!this._pieces(sub, o, pretokens, aligned, start, out)) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Each pre-token found in its normalised text, each model piece found in its pre-token, by
   * their bytes; a piece's span is the original characters of the normalised characters its
   * bytes lie in.
   */
  private _pieces(
    sub: string,
    o: number,
    pretokens: string[],
    aligned: IAligned,
    start: number,
    out: IPiece[]
  ): boolean {
    const t = this._tok as Json;
    const subBytes = ENCODER.encode(sub);
    const unitOf = unitOfByte(sub, subBytes.length);
    const span = (b0: number, b1: number): [number, number] => {
      if (b1 <= b0) {
        const u = unitOf[Math.min(b0, subBytes.length - 1)];
        return [start + aligned.from[o + u], start + aligned.from[o + u]];
      }
      return [
        start + aligned.from[o + unitOf[b0]],
        start + aligned.to[o + unitOf[b1 - 1]]
      ];
    };
    let cursor = 0;
    for (const pre of pretokens) {
      const preBytes = this._surface(pre, true);
      if (preBytes === null) {
        return false;
      }
      let inserted = 0;
      let at = indexOfBytes(subBytes, preBytes, cursor);
      if (at < 0 && preBytes[0] === 0x20) {
        // a space the pre-tokeniser put before the word (add_prefix_space, Metaspace's prepend)
        at = indexOfBytes(subBytes, preBytes.subarray(1), cursor);
        inserted = 1;
      }
      if (at < 0) {
        return false;
      }
      const pieces: string[] = t.model([pre]);
      let pc = 0;
      for (let k = 0; k < pieces.length; k++) {
        const piece = pieces[k];
        let length: number;
        if (piece === this._unk && !this._isText(piece, pre)) {
          // the unknown token stands for what lies before the next piece (or the rest)
          if (k === pieces.length - 1) {
            length = preBytes.length - pc;
          } else {
            const next = this._surface(pieces[k + 1], false);
            const found =
              next === null ? -1 : indexOfBytes(preBytes, next, pc + 1);
            if (found < 0) {
              return false;
            }
            length = found - pc;
          }
        } else {
          const bytes = this._surface(piece, k === 0);
          if (bytes === null || !startsWithBytes(preBytes, bytes, pc)) {
            return false;
          }
          length = bytes.length;
        }
        // a piece holding the inserted space stands where the word's first character does
        const b0 = Math.max(at, at + pc - inserted);
        const b1 = Math.max(
          b0 + (inserted && pc === 0 ? 1 : 0),
          at + pc + length - inserted
        );
        const [s, e] = span(b0, b1);
        out.push({
          token: piece,
          id: t.model.tokens_to_ids.get(piece) ?? this.unkId ?? -1,
          start: s,
          end: e
        });
        pc += length;
      }
      if (pc !== preBytes.length) {
        return false;
      }
      cursor = at + preBytes.length - inserted;
    }
    return true;
  }

  /** Whether the unknown token's own spelling is the text here (it rarely is). */
  private _isText(piece: string, pre: string): boolean {
    return pre.includes(piece);
  }

  /** The bytes of text a pre-token or piece stands for. */
  private _surface(piece: string, first: boolean): Uint8Array | null {
    if (this._byteFallback) {
      const m = BYTE_PIECE.exec(piece);
      if (m) {
        return Uint8Array.of(parseInt(m[1], 16));
      }
    }
    let p = piece;
    if (this._prefix && !first && p.startsWith(this._prefix)) {
      p = p.slice(this._prefix.length);
    }
    if (this._suffix && p.endsWith(this._suffix)) {
      p = p.slice(0, p.length - this._suffix.length);
    }
    if (this._byteLevel) {
      return byteLevelBytes(p);
    }
    return ENCODER.encode(this._metaspace ? p.replace(/\u2581/g, ' ') : p);
  }

  /** As the server's display: special tokens as they are, bytes as text or hex. */
  private _display(p: IPiece): string {
    if (this._specialIds.has(p.id)) {
      return p.token;
    }
    const piece = p.token;
    if (this._byteLevel) {
      const bytes = byteLevelBytes(piece);
      return bytes ? displayBytes(bytes) : piece;
    }
    return this._metaDisplay ? displayBytes(metaspaceBytes(piece)) : piece;
  }

  /**
   * The normalised section and, for each of its units, the original characters it came from:
   * the normaliser run on each character must give, end to end, what it gives on the whole
   * section; else null.
   */
  private _align(section: string): IAligned | null {
    const whole = this._fullNorm ? String(this._fullNorm(section)) : section;
    if (whole === section) {
      return identity(section);
    }
    // Where characters combine (e + ◌́ under NFC), tokenizers' alignment of the composed
    // character is not told by the normal forms alone: such a text is the server's.
    const aligned = this._alignUnits(section, codePointUnits(section));
    return aligned.text === whole ? aligned : null;
  }

  private _alignUnits(section: string, units: number[]): IAligned {
    let text = '';
    const from: number[] = [];
    const to: number[] = [];
    const put = (s: string, a: number, b: number) => {
      text += s;
      for (let k = 0; k < s.length; k++) {
        from.push(a);
        to.push(b);
      }
    };
    if (this._prepend && section.length > 0) {
      // sentencepiece's dummy prefix stands for no character; tokenizers aligns a prepended
      // string with the first character
      put(this._normal(this._prepend), 0, this._dummyEmpty ? 0 : units[1]);
    }
    for (let u = 0; u + 1 < units.length; u++) {
      const a = units[u];
      const b = units[u + 1];
      put(this._normal(section.slice(a, b)), a, b);
    }
    return { text, from: Int32Array.from(from), to: Int32Array.from(to) };
  }

  private _normal(unit: string): string {
    if (!this._unitNorm) {
      return unit;
    }
    let n = this._memo.get(unit);
    if (n === undefined) {
      n = String(this._unitNorm(unit));
      if (this._memo.size >= MEMO_CHARS) {
        this._memo.clear();
      }
      this._memo.set(unit, n);
    }
    return n;
  }

  private readonly _tok: Tokenizer;
  private readonly _byteLevel: boolean;
  private readonly _metaspace: boolean;
  private readonly _metaDisplay: boolean;
  private readonly _byteFallback: boolean;
  private readonly _dummyEmpty: boolean;
  private readonly _wsSplit: boolean;
  private readonly _prefix: string;
  private readonly _suffix: string;
  private readonly _unk: string | null;
  private readonly _specialIds = new Set<number>();
  private _alignable = true;
  private _prepend = '';
  private _unitNorm: Fn | null = null;
  private _fullNorm: Fn | null = null;
  private readonly _memo = new Map<string, string>();
  /** Tokens of the text's parts, remembered (parts.ts); null: always the whole text at once. */
  private readonly _parts: PartCache | null = null;
  private readonly _spec: Json;
  private _mergeIndex: Map<string, [number, string, string]> | null = null;
  private readonly _templates = new Map<
    boolean,
    [IPageEncoding, IPageEncoding] | null
  >();
}

/** The bytes a SentencePiece-style piece stands for: a byte piece (<0x0A>) its byte, else its
 * text with ▁ as a space. */
function metaspaceBytes(piece: string): Uint8Array {
  const m = BYTE_PIECE.exec(piece);
  return m
    ? Uint8Array.of(parseInt(m[1], 16))
    : ENCODER.encode(piece.replace(/\u2581/g, ' '));
}

/** "a b" → ["a", "b"]: a merge as tokenizer.json's older string form writes it. */
function splitOnce(merge: string): [string, string] {
  const at = merge.indexOf(' ');
  return [merge.slice(0, at), merge.slice(at + 1)];
}

/** A tokenizer.json's normaliser as its list of steps (a Sequence's members; none: empty). */
function normalizerSteps(json: Json): Json[] {
  const norm = json.normalizer;
  return !norm ? [] : norm.type === 'Sequence' ? norm.normalizers : [norm];
}

/** Normalisers that may join or drop what lies on either side of a newline. */
const ACROSS_LINES = new Set(['Strip', 'Replace', 'Precompiled', 'Prepend']);

/**
 * Whether a text may be cut into parts for this tokenizer (parts.ts): no added token holds a
 * newline, and no normaliser but a leading Prepend works across characters.
 */
function cuttable(json: Json): boolean {
  if (
    (json.added_tokens ?? []).some((a: Json) =>
      String(a.content).includes('\n')
    )
  ) {
    return false;
  }
  return normalizerSteps(json).every(
    (step, k) =>
      !ACROSS_LINES.has(step.type) ||
      (step.type === 'Prepend' && k === 0) ||
      (step.type === 'Replace' &&
        !String(step.pattern?.String ?? '\n').includes('\n'))
  );
}

/** Where each part of `text`, split end to end, starts; null if they are not `text`. */
function offsetsOf(parts: string[], text: string): number[] | null {
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) {
    if (text.startsWith(p, at)) {
      starts.push(at);
      at += p.length;
    } else {
      return null;
    }
  }
  return at === text.length ? starts : null;
}

/** Added tokens' lstrip/rstrip, as the library applies them, moving the parts' starts. */
function stripAround(
  parts: string[],
  starts: number[],
  added: Map<string, Json>
): void {
  parts.forEach((part, i) => {
    const token = added.get(part);
    if (!token) {
      return;
    }
    if (token.lstrip && i > 0) {
      parts[i - 1] = parts[i - 1].trimEnd();
    }
    if (token.rstrip && i < parts.length - 1) {
      const trimmed = parts[i + 1].trimStart();
      starts[i + 1] += parts[i + 1].length - trimmed.length;
      parts[i + 1] = trimmed;
    }
  });
}

function identity(section: string): IAligned {
  const from = new Int32Array(section.length);
  const to = new Int32Array(section.length);
  for (let i = 0; i < section.length; i++) {
    const c = section.charCodeAt(i);
    const pair = c >= 0xd800 && c < 0xdc00 && i + 1 < section.length;
    from[i] = i;
    to[i] = pair ? i + 2 : i + 1;
    if (pair) {
      from[i + 1] = i;
      to[i + 1] = i + 2;
      i++;
    }
  }
  return { text: section, from, to };
}

/** The UTF-16 offsets where each code point starts, and the end. */
function codePointUnits(text: string): number[] {
  const out: number[] = [];
  let i = 0;
  for (const c of text) {
    out.push(i);
    i += c.length;
  }
  out.push(i);
  return out;
}

/** For each UTF-8 byte of `text`, the UTF-16 unit its character starts at. */
function unitOfByte(text: string, nBytes: number): Int32Array {
  const out = new Int32Array(nBytes);
  let b = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let n = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    const start = i;
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n = 4;
      i++;
    }
    for (let k = 0; k < n && b < nBytes; k++) {
      out[b++] = start;
    }
  }
  return out;
}

function startsWithBytes(
  hay: Uint8Array,
  needle: Uint8Array,
  at: number
): boolean {
  if (at + needle.length > hay.length) {
    return false;
  }
  for (let k = 0; k < needle.length; k++) {
    if (hay[at + k] !== needle[k]) {
      return false;
    }
  }
  return true;
}

function indexOfBytes(
  hay: Uint8Array,
  needle: Uint8Array,
  from: number
): number {
  for (let at = from; at + needle.length <= hay.length; at++) {
    if (startsWithBytes(hay, needle, at)) {
      return at;
    }
  }
  return -1;
}
