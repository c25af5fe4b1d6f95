/**
 * The JSON the kernel syncs as the `state` trait: `RunState.to_dict()` of
 * tokenlens/finetune/events.py, plus `final` (the saved model folder) from the widget.
 */

export type RunStatus =
  | 'pending'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'completed'
  | 'failed'
  | 'killed';

/** [step, loss] */
export type LossPoint = [number, number];

export interface ICheckpoint {
  step: number | null;
  path: string | null;
  /** seconds since the epoch */
  time: number | null;
  /** "steps", "time" or "stop" */
  reason: string | null;
}

export interface ISample {
  step: number | null;
  prompt: string | null;
  text: string | null;
}

export interface IRunState {
  status: RunStatus | string;
  step: number;
  max_steps: number;
  epoch: number;
  eta_s: number | null;
  loss: number | null;
  perplexity: number | null;
  eval_loss: number | null;
  eval_perplexity: number | null;
  lr: number | null;
  grad_norm: number | null;
  tokens_per_s: number | null;
  /** share of the GPU's dense bf16 peak; null on CPU or an unknown GPU */
  mfu?: number | null;
  /** the speed switches in words, with why any is off */
  switches?: string;
  gpu_mem_gb: number | null;
  last_checkpoint: ICheckpoint | null;
  samples: ISample[];
  tokenizer_hash: string | null;
  tokenizer_hash_after: string | null;
  error: string | null;
  /** with killed: the signal's name or the exit code, where known */
  signal?: string | null;
  exit_code?: number | null;
  /** with stopped, killed or failed: the checkpoint Resume continues from */
  resume_from?: string | null;
  loss_history: LossPoint[];
  eval_history: LossPoint[];
  plan: Record<string, unknown>;
  final?: string | null;
}

/** Messages the view sends, and the kernel's answer. */
export type Action = 'stop' | 'resume';

export interface IAck {
  type: 'ack';
  action: Action;
  error: string | null;
}

/** The run view's traits (tokenlens/views/finetune.py). */
export interface IFinetuneState {
  name: string;
  run_dir: string;
  command: string;
  state: IRunState;
  error: string;
}
