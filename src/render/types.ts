/**
 * TypeScript mirrors of the JSON the server (and the Python widget) sends.
 * One shape per concept; keep these in step with tokenlens/tokenized.py.
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
  n_tokens: number;
  n_chars: number;
  n_bytes: number;
}

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

/** How results are drawn. */
export interface IRenderOptions {
  /** Show each token's id under it (default true). */
  showIds?: boolean;
  /** Tokens drawn per animation frame after the first batch (default 2000). */
  chunkSize?: number;
}

export function isError(result: ResultOrError): result is ITokenizeError {
  return typeof (result as ITokenizeError).error === 'string';
}
