/**
 * TypeScript mirrors of the JSON the server (and the Python widget) sends.
 * One shape per concept; keep these in step with tokenlens/core/tokenized.py.
 */

/** Which engine produced a result. */
export type TokenizerKind = 'tiktoken' | 'hf' | 'sentencepiece';

/** One tokenizer's view of one text. */
export interface ITokenizeResult {
  tokenizer: string;
  kind: TokenizerKind | string;
  /** Tokenizer model family: "BPE", "WordPiece", "Unigram" or "". */
  model?: string;
  text: string;
  ids: number[];
  /** Display strings; a piece of a multi-byte character is shown as hex, e.g. "<E0 AC>". */
  tokens: string[];
  /** The vocabulary's own strings, e.g. "Ġlove". */
  pieces?: string[];
  /** Code-point offsets [start, end) into `text`; special tokens have empty spans. */
  spans: [number, number][];
  special?: boolean[];
  /**
   * Grapheme-aligned groups, in order, covering every token once: tokens [lo, hi) cover the
   * characters [start, end) (code points); start and end are grapheme and token boundaries.
   * A special token has its own segment with start == end. Older payloads lack it; the
   * renderer then derives it (see render/segments.ts).
   */
  segments?: Segment[];
  /** Id of the unknown token ([UNK]), or null when the vocabulary has none. */
  unk_id?: number | null;
  vocab_size?: number;
  /** True when the result came from ids (`%%tokenize --decode`): `text` is the decoded text. */
  decoded?: boolean;
  n_tokens: number;
  n_chars: number;
  n_bytes: number;
}

/** [start, end, lo, hi]: tokens lo..hi-1 spell the characters start..end-1. */
export type Segment = [number, number, number, number];

/** A tokenizer that could not run on this text. */
export interface ITokenizeError {
  tokenizer: string;
  error: string;
}

export type ResultOrError = ITokenizeResult | ITokenizeError;

/** POST /tokenlens/tokenize answer; also the widget's `results` trait wrapped. */
export interface ITokenizePayload {
  results: ResultOrError[];
}

/** POST /tokenlens/tokenize body. */
export interface ITokenizeRequest {
  text: string;
  tokenizers: string[];
  add_special_tokens?: boolean;
  /** Only the counts (no ids, spans or strings): a fast answer for a long text. */
  counts_only?: boolean;
}

/** One result of a counts_only request. */
export interface ITokenCounts {
  tokenizer: string;
  n_tokens: number;
  n_chars: number;
  n_bytes: number;
  counts_only: true;
}

/** One entry of GET /tokenlens/tokenizers. */
export interface ITokenizerInfo {
  name: string;
  kind: TokenizerKind | string;
  source?: string;
}

/** GET /tokenlens/tokenizers answer. */
export interface ITokenizersReply {
  version: string;
  tokenizers: ITokenizerInfo[];
}

/** Body of a non-2xx answer from the server. */
export interface IErrorReply {
  message: string;
  suggestions?: string[];
}

/** One token's story, from POST /tokenlens/explain or the widget's "explain" message. */
export interface IExplanation {
  id: number;
  /** The vocabulary's own string, e.g. "Ġlove". */
  piece: string;
  /** The token as text, e.g. " love"; hex for bytes of a split character. */
  display: string;
  /** Its bytes in hex, e.g. "20 6C 6F 76 65". */
  bytes: string;
  /** "BPE", "WordPiece", "Unigram" or "". */
  model: string;
  kind: string;
  special: boolean;
  /** BPE: the merge rank (for GPT-2 and tiktoken, the rank is the merge order). */
  rank: number | null;
  /** BPE: the two tokens it was merged from; empty when none. */
  parents: IExplanationParent[];
  /** Unigram: the log-probability score. */
  score: number | null;
  /** WordPiece: whether it continues a word (a ## piece). */
  continuation: boolean | null;
  unknown: boolean;
}

export interface IExplanationParent {
  id: number | null;
  piece: string;
  display: string;
  rank: number | null;
}

/** POST /tokenlens/explain body and answer. */
export interface IExplainRequest {
  tokenizer: string;
  ids: number[];
}

export interface IExplainReply {
  explanations: IExplanation[];
}

/** Fetches explanations lazily: REST in the panel, custom messages in the widget. */
export interface IExplainer {
  explain(tokenizer: string, ids: number[]): Promise<IExplanation[]>;
}

/** Colour tokens by their id (stable everywhere) or by position (neighbours always differ). */
export type ColorBy = 'id' | 'position';

/** Several results: aligned by character, or one block of chips per tokenizer. */
export type CompareLayout = 'aligned' | 'stacked';

/** How results are drawn. */
export interface IRenderOptions {
  /** Show each token's id under it (default true). */
  showIds?: boolean;
  /** Mark spaces, tabs and newlines (default true). */
  showWhitespace?: boolean;
  /** Default 'id'. */
  colorBy?: ColorBy;
  /** Layout when there are two or more results (default 'aligned'). */
  layout?: CompareLayout;
  /** Where the hover card gets its details; without one the card shows what the payload has. */
  explainer?: IExplainer | null;
  /**
   * Draw only what is near the visible part of long results (default true). False draws
   * everything at once: the naive renderer, kept for the benchmark.
   */
  virtualize?: boolean;
}

export function isError(result: ResultOrError): result is ITokenizeError {
  return typeof (result as ITokenizeError).error === 'string';
}
