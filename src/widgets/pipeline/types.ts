/**
 * The pipeline view's traits: what tokenlens.learn.pipeline computes (`Pipeline.to_dict()`),
 * synced by tokenlens/views/learning.py.
 */

/** A run of a stage's output: unchanged (`same`) or changed (`was` → `now`). */
export interface IDiffRun {
  same?: string;
  was?: string;
  now?: string;
}

/** One stage of `Pipeline.to_dict()`; which fields are present depends on `stage`. */
export interface IStage {
  stage: string;
  what: string;
  output?: string;
  diff?: IDiffRun[];
  changes?: { was: string; now: string }[];
  pieces?: [string, [number, number]][] | string[];
  tokens?: string[];
  ids?: number[];
  spans?: [number, number][];
  special?: boolean[];
  round_trip?: boolean;
}

export interface IPipelineState {
  /** The text typed in the view, sent to the kernel to run. */
  text: string;
  /** The text the stages were computed for. */
  shown_text: string;
  tokenizer: string;
  stages: IStage[];
  error: string;
}
