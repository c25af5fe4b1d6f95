/**
 * The training report's traits (tokenlens/views/train_report.py): the report of what
 * `%train_tokenizer` made (`TrainingResult.to_report()`), the word asked for and its answer.
 */
import { ITokenizeResult } from '../../render/types';

/** One row of the fit table: mirrors `Fit` in tokenlens/vocab/train.py. */
export interface IFit {
  tokenizer: string;
  tokens: number;
  chars: number;
  words: number;
  chars_per_token: number;
  fertility: number;
  continued_words: number;
  byte_pieces: number;
  unknown: number;
}

/** [rank, left_id, right_id, id, frequency] */
export type MergeRow = [number, number, number, number, number];

/** TrainingResult.to_report() */
export interface ITrainReport {
  name: string;
  path: string;
  algorithm: string;
  algorithm_label: string;
  requested_vocab_size: number;
  vocab_size: number;
  alphabet_size: number;
  special_tokens: string[];
  merges: MergeRow[];
  displays: string[];
  uses: number[];
  corpus: {
    description?: string;
    bytes_read?: number;
    lines?: number;
    files?: number;
    files_skipped?: [string, string][];
    items_skipped?: number;
    heldout_lines?: number;
    distinct_words?: number;
  };
  fit: IFit[];
  seconds: Record<string, number>;
  memory: { rss_start?: number; peak_rss?: number };
  example_words: string[];
  sample: ITokenizeResult[];
}

/** The kernel's answer to a word: rows of chips, one per merge. */
export interface IBuilt {
  word?: string;
  rows?: ITokenizeResult[];
  note?: string;
}

export interface ITrainReportState {
  report: ITrainReport;
  /** The word to build, written by the view. */
  word: string;
  built: IBuilt;
  error: string;
}
