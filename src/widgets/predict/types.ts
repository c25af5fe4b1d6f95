/**
 * The predictions view's traits: what tokenlens.learn.predict computes, synced by
 * tokenlens/views/learning.py.
 */

/** One candidate next token. */
export interface ICandidate {
  id: number;
  token: string;
  prob: number;
}

/** `Position.to_dict()`. */
export interface IPosition {
  index: number;
  id: number;
  token: string;
  top: ICandidate[];
  actual_next_prob: number | null;
  actual_next_rank: number | null;
  /** Characters [start, end) (code points) the token belongs to; byte tokens share one. */
  span?: [number, number] | null;
}

/** One step of a continuation: the chosen token and the continuation decoded so far. */
export interface IStep {
  id: number;
  token: string;
  prob: number;
  /** Whole characters only; `pending`: the last token(s) hold part of a character still. */
  text: string;
  pending?: boolean;
}

/** `Generation.to_dict()`. */
export interface IGeneration {
  prompt: string;
  text: string;
  steps: IStep[];
  model: string;
  greedy: boolean;
  stopped: 'length' | 'eos' | 'context' | string;
}

/** Another model's predictions of the same ids, shown side by side with the first. */
export interface IOther {
  model_name: string;
  top_k: number;
  positions: IPosition[];
  generation: IGeneration | null;
}

export interface IPredictState {
  model_name: string;
  text: string;
  top_k: number;
  positions: IPosition[];
  generation: IGeneration | null;
  /** The position clicked, kept (-1: none). */
  selected: number;
  error: string;
  /** Side by side: more models' predictions of the same ids (empty: one model). */
  others?: IOther[];
}
