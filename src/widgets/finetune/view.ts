/**
 * The live view of a fine-tuning run: status, progress, metrics, the loss chart, samples, the
 * tokenizer check, Stop/Resume and the launch command. Built once; each `state` change updates
 * the parts in place, so an open command box, the log toggle and a hover survive the updates.
 *
 * Traits read: name, run_dir, command, state (IRunState), error.
 * Messages sent: {type: 'stop'}, {type: 'resume'}; answered by {type: 'ack', action, error}.
 */
import { drawLossChart } from './chart';
import { el } from '../../render/dom';
import { ago, duration, num, shortHash } from './format';
import { IModel } from '../model';
import { Action, IAck, IFinetuneState, IRunState, LossPoint } from './types';

const STATUS_WORDS: Record<string, string> = {
  pending: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  completed: 'completed',
  failed: 'failed',
  killed: 'killed'
};

/** The traits whose change redraws the view. */
const TRAITS: (keyof IFinetuneState)[] = [
  'state',
  'error',
  'command',
  'name',
  'run_dir'
];

function ppl(loss: number | null | undefined): number | null {
  return loss === null || loss === undefined || !Number.isFinite(loss)
    ? null
    : Math.exp(Math.min(loss, 50));
}

/** Perplexity: two decimals while small, whole numbers once it is in the hundreds. */
function pplText(value: number | null): string {
  return num(value, value !== null && value >= 100 ? 0 : 2);
}

/** One labelled number of the metrics grid. */
class Metric {
  constructor(label: string, hint: string) {
    this.node = el('div', 'tl-ft-metric');
    this.node.title = hint;
    this.value = el('div', 'tl-ft-metric-value');
    this.sub = el('div', 'tl-ft-metric-sub');
    const name = el('div', 'tl-ft-metric-label', label);
    this.node.append(name, this.value, this.sub);
    this.node.setAttribute('role', 'group');
    this.node.setAttribute('aria-label', label);
  }

  set(value: string, sub = ''): void {
    this.value.textContent = value;
    this.sub.textContent = sub;
  }

  readonly node: HTMLElement;
  private value: HTMLElement;
  private sub: HTMLElement;
}

export class FinetuneView {
  constructor(
    private model: IModel<IFinetuneState>,
    host: HTMLElement
  ) {
    host.classList.add('tl-ft');
    host.setAttribute('role', 'region');

    // header: status, name, buttons
    this.badge = el('span', 'tl-ft-badge');
    this.badge.setAttribute('role', 'status');
    this.badge.setAttribute('aria-live', 'polite');
    this.title = el('span', 'tl-ft-name');
    this.folder = el('span', 'tl-ft-folder');
    this.stopButton = this.button(
      'Stop',
      'Save a checkpoint, then stop the run',
      'stop'
    );
    this.resumeButton = this.button(
      'Resume',
      'Start again from the newest complete checkpoint',
      'resume'
    );
    const titles = el('div', 'tl-ft-titles');
    titles.append(this.title, this.folder);
    const buttons = el('div', 'tl-ft-buttons');
    buttons.append(this.stopButton, this.resumeButton);
    const head = el('div', 'tl-ft-head');
    head.append(this.badge, titles, buttons);

    this.note = el('div', 'tl-ft-note');
    this.note.setAttribute('role', 'status');
    this.note.setAttribute('aria-live', 'polite');
    this.problems = el('div', 'tl-ft-problems');

    // progress
    this.stepText = el('span', 'tl-ft-step');
    this.bar = el('div', 'tl-ft-bar');
    this.barFill = el('div', 'tl-ft-bar-fill');
    this.bar.append(this.barFill);
    this.bar.setAttribute('role', 'progressbar');
    this.bar.setAttribute('aria-label', 'Training steps done');
    this.bar.setAttribute('aria-valuemin', '0');
    this.epochText = el('span', 'tl-ft-epoch');
    this.etaText = el('span', 'tl-ft-eta');
    const progress = el('div', 'tl-ft-progress');
    progress.append(this.stepText, this.bar, this.epochText, this.etaText);

    // metrics
    this.train = new Metric(
      'train loss',
      'Training loss at the last logged step; perplexity = exp(loss)'
    );
    this.eval = new Metric(
      'eval loss',
      'Loss on the validation split at the last evaluation'
    );
    this.lr = new Metric(
      'learning rate',
      'The optimizer’s learning rate at the last logged step'
    );
    this.grad = new Metric(
      'gradient norm',
      'Norm of the gradient at the last logged step'
    );
    this.speed = new Metric(
      'tokens/s',
      'Training tokens per second since the previous log'
    );
    this.gpu = new Metric(
      'GPU memory',
      'Peak GPU memory allocated by the trainer'
    );
    this.ckpt = new Metric(
      'last checkpoint',
      'The newest complete checkpoint: Resume starts from it'
    );
    const metrics = el('div', 'tl-ft-metrics');
    metrics.append(
      ...[
        this.train,
        this.eval,
        this.lr,
        this.grad,
        this.speed,
        this.gpu,
        this.ckpt
      ].map(m => m.node)
    );

    // chart
    const chartHead = el('div', 'tl-ft-chart-head');
    const legend = el('span', 'tl-ft-legend');
    legend.append(
      el('span', 'tl-ft-key tl-ft-key-train', 'train'),
      el('span', 'tl-ft-key tl-ft-key-eval', 'eval')
    );
    const logLabel = el('label', 'tl-ft-log');
    this.logBox = el('input');
    this.logBox.type = 'checkbox';
    this.logBox.addEventListener('change', () => this.drawChart(true));
    logLabel.append(this.logBox, document.createTextNode(' log scale'));
    chartHead.append(
      el('span', 'tl-ft-section-title', 'Loss'),
      legend,
      logLabel
    );
    this.chart = el('div', 'tl-ft-chart');
    const chartBox = el('div', 'tl-ft-chart-box');
    chartBox.append(chartHead, this.chart);

    // samples, tokenizer check, final model
    this.samples = el('div', 'tl-ft-samples');
    this.samples.setAttribute('aria-label', 'Sample generations');
    this.hash = el('div', 'tl-ft-hash');
    this.final = el('div', 'tl-ft-final');

    // launch command
    this.commandBox = el('details', 'tl-ft-command');
    const summary = el('summary', '', 'Launch command');
    this.copyButton = el('button', 'tl-ft-copy', 'Copy');
    this.copyButton.type = 'button';
    this.copyButton.title = 'Copy the launch command';
    this.copyButton.setAttribute('aria-label', 'Copy the launch command');
    this.copyButton.addEventListener('click', event => {
      event.preventDefault(); // a click inside <summary> would also open or close the box
      void this.copy();
    });
    this.commandText = el('code', 'tl-ft-command-text');
    const pre = el('pre');
    pre.append(this.commandText);
    summary.append(this.copyButton);
    this.commandBox.append(summary, pre);

    host.replaceChildren(
      head,
      this.note,
      this.problems,
      progress,
      metrics,
      chartBox,
      this.samples,
      this.hash,
      this.final,
      this.commandBox
    );
    this.host = host;

    this.onChange = () => this.update();
    this.onMessage = (content: unknown) => this.answer(content);
    for (const trait of TRAITS) {
      model.on(`change:${trait}`, this.onChange);
    }
    model.on('msg:custom', this.onMessage);
    // relative times ("12 s ago") age without new events
    this.timer = window.setInterval(() => this.updateCheckpoint(), 5000);
    this.update();
  }

  dispose(): void {
    for (const trait of TRAITS) {
      this.model.off(`change:${trait}`, this.onChange);
    }
    this.model.off('msg:custom', this.onMessage);
    window.clearInterval(this.timer);
    window.clearTimeout(this.pendingTimer);
  }

  private get state(): IRunState {
    return (this.model.get('state') ?? {}) as IRunState;
  }

  update(): void {
    const s = this.state;
    const status = String(s.status ?? 'pending');
    const name = String(this.model.get('name') ?? '');
    this.host.dataset.status = status;
    this.host.setAttribute('aria-label', `Fine-tune run ${name}`);
    this.badge.textContent = STATUS_WORDS[status] ?? status;
    this.badge.dataset.status = status;
    this.title.textContent = name || 'fine-tune run';
    const folder = String(this.model.get('run_dir') ?? '');
    this.folder.title = folder;
    this.folder.replaceChildren(el('span', 'tl-ft-folder-path', folder));

    if (status !== this.lastStatus) {
      this.say(''); // "Stop asked…" and refusals are old news once the status moves on
    }
    this.lastStatus = status;

    // buttons: what the kernel will accept now
    if (this.pending === 'stop' && status !== 'running') {
      this.pending = null; // the trainer took the request
    }
    if (this.pending === 'resume' && status === 'running') {
      this.pending = null;
    }
    this.stopButton.disabled = status !== 'running' || this.pending !== null;
    this.resumeButton.disabled =
      !['stopped', 'failed', 'killed'].includes(status) ||
      !(s.resume_from ?? s.last_checkpoint) ||
      this.pending !== null;
    this.resumeButton.hidden = status === 'completed';

    // progress
    const step = s.step ?? 0;
    const max = s.max_steps ?? 0;
    this.stepText.textContent = max ? `step ${step} / ${max}` : `step ${step}`;
    const fraction = max ? Math.min(step / max, 1) : 0;
    this.barFill.style.width = `${(fraction * 100).toFixed(1)}%`;
    this.bar.hidden = !max;
    this.bar.setAttribute('aria-valuemax', String(max));
    this.bar.setAttribute('aria-valuenow', String(step));
    this.bar.setAttribute(
      'aria-valuetext',
      max ? `${Math.round(fraction * 100)}%` : `step ${step}`
    );
    this.epochText.textContent = `epoch ${num(s.epoch ?? 0, 2)}`;
    this.etaText.textContent =
      s.eta_s !== null && s.eta_s !== undefined
        ? `ETA ${duration(s.eta_s)}`
        : '';
    this.etaText.hidden = !this.etaText.textContent;

    // metrics
    const history = s.loss_history ?? [];
    const first = history.length > 1 ? history[0] : null;
    this.train.set(
      num(s.loss, 4),
      s.loss === null || s.loss === undefined
        ? 'no step logged yet'
        : `ppl ${pplText(s.perplexity ?? ppl(s.loss))}` +
            (first
              ? ` · step ${first[0]}: ${num(first[1], 3)} (ppl ${pplText(ppl(first[1]))})`
              : '')
    );
    this.eval.set(
      num(s.eval_loss, 4),
      s.eval_loss === null || s.eval_loss === undefined
        ? 'no evaluation yet'
        : `ppl ${pplText(s.eval_perplexity ?? ppl(s.eval_loss))}` +
            this.evalTrend(s.eval_history ?? [])
    );
    this.lr.set(num(s.lr, 6));
    this.grad.set(num(s.grad_norm, 3));
    this.speed.set(
      num(s.tokens_per_s, 0),
      s.mfu === null || s.mfu === undefined
        ? ''
        : `MFU ${(100 * s.mfu).toFixed(1)}%`
    );
    this.speed.node.title = s.switches
      ? `Training tokens per second since the previous log; ${s.switches}`
      : 'Training tokens per second since the previous log';
    this.gpu.node.hidden = s.gpu_mem_gb === null || s.gpu_mem_gb === undefined;
    this.gpu.set(`${num(s.gpu_mem_gb, 2)} GiB`, 'peak');
    this.updateCheckpoint();

    this.drawChart(false);
    this.drawSamples(s);
    this.drawHash(s);
    this.final.replaceChildren();
    if (s.final) {
      this.final.append(
        el('span', 'tl-ft-label', 'Final model '),
        el('code', '', s.final)
      );
      this.final.title = 'Loads with from_pretrained';
    }
    this.final.hidden = !s.final;

    // problems: the run's own error, then the view's
    this.problems.replaceChildren();
    for (const [text, label] of [
      [s.error, status === 'killed' ? 'The run was killed' : 'The run failed'],
      [String(this.model.get('error') ?? ''), 'The view has a problem']
    ] as [string | null, string][]) {
      if (text) {
        const box = el('div', 'tl-ft-error', text);
        box.setAttribute('role', 'alert');
        box.setAttribute('aria-label', label);
        this.problems.append(box);
      }
    }

    const command = String(this.model.get('command') ?? '');
    this.commandText.textContent = command;
    this.commandBox.hidden = !command;
  }

  private evalTrend(history: LossPoint[]): string {
    if (history.length < 2) {
      return '';
    }
    const [step, loss] = history[0];
    return ` · step ${step}: ${num(loss, 3)} (ppl ${pplText(ppl(loss))})`;
  }

  private updateCheckpoint(): void {
    const c = this.state.last_checkpoint;
    if (!c) {
      this.ckpt.set('none yet');
      return;
    }
    this.ckpt.set(
      ago(c.time),
      `step ${c.step ?? '?'}` + (c.reason ? ` · ${c.reason}` : '')
    );
    this.ckpt.node.title = c.path
      ? `${c.path}\nResume starts from the newest complete checkpoint`
      : '';
  }

  /** Redraw the chart when its data or the scale changed (hover survives other updates). */
  private drawChart(force: boolean): void {
    const s = this.state;
    const train = s.loss_history ?? [];
    const evals = s.eval_history ?? [];
    const key = JSON.stringify([
      train.length,
      train[train.length - 1],
      evals.length,
      evals[evals.length - 1],
      this.logBox.checked
    ]);
    if (!force && key === this.chartKey) {
      return;
    }
    this.chartKey = key;
    drawLossChart(this.chart, train, evals, { log: this.logBox.checked });
  }

  private drawSamples(s: IRunState): void {
    const samples = (s.samples ?? []).slice().reverse();
    this.samples.replaceChildren();
    this.samples.hidden = !samples.length;
    if (!samples.length) {
      return;
    }
    this.samples.append(
      el('div', 'tl-ft-section-title', 'Samples at evaluation (newest first)')
    );
    const list = el('ol', 'tl-ft-sample-list');
    for (const sample of samples) {
      const item = el('li', 'tl-ft-sample');
      item.append(
        el('span', 'tl-ft-sample-step', `step ${sample.step ?? '?'}`),
        el('span', 'tl-ft-sample-prompt', sample.prompt || '(empty prompt)'),
        el('span', 'tl-ft-arrow', '→'),
        el('span', 'tl-ft-sample-text', sample.text ?? '')
      );
      list.append(item);
    }
    this.samples.append(list);
  }

  private drawHash(s: IRunState): void {
    this.hash.replaceChildren(el('span', 'tl-ft-label', 'Tokenizer hash '));
    this.hash.title =
      'Training never changes the tokenizer: the same text keeps the same ids.';
    if (!s.tokenizer_hash) {
      this.hash.append(el('span', 'tl-ft-muted', 'not recorded yet'));
      return;
    }
    this.hash.append(
      el('code', '', shortHash(s.tokenizer_hash)),
      el('span', 'tl-ft-arrow', '→')
    );
    if (!s.tokenizer_hash_after) {
      const ended = ['completed', 'stopped', 'failed', 'killed'].includes(
        String(s.status)
      );
      this.hash.append(
        el(
          'span',
          'tl-ft-muted',
          ended
            ? 'not checked again: the run did not finish'
            : 'checked again when the run ends'
        )
      );
      return;
    }
    const same = s.tokenizer_hash_after === s.tokenizer_hash;
    const verdict = el(
      'span',
      `tl-ft-verdict tl-ft-verdict-${same ? 'same' : 'changed'}`,
      same ? 'unchanged' : 'CHANGED'
    );
    this.hash.append(
      el('code', '', shortHash(s.tokenizer_hash_after)),
      verdict
    );
    if (same) {
      this.hash.append(
        el('span', 'tl-ft-muted', 'the ids mean what they meant')
      );
    }
  }

  private button(
    text: string,
    title: string,
    action: Action
  ): HTMLButtonElement {
    const b = el('button', `tl-ft-button tl-ft-${action}`, text);
    b.type = 'button';
    b.title = title;
    b.setAttribute('aria-label', title);
    b.addEventListener('click', () => this.ask(action));
    return b;
  }

  private ask(action: Action): void {
    if (typeof this.model.send !== 'function') {
      this.say('This view is not connected to a kernel.', true);
      return;
    }
    this.pending = action;
    // the buttons come back even if the trainer never answers (a hung step)
    window.clearTimeout(this.pendingTimer);
    this.pendingTimer = window.setTimeout(() => {
      this.pending = null;
      this.update();
    }, 30000);
    this.model.send({ type: action });
    this.say(
      action === 'stop'
        ? 'Stop asked: the trainer saves a checkpoint after this step, then stops…'
        : 'Resuming from the newest complete checkpoint…'
    );
    this.update();
  }

  private answer(content: unknown): void {
    const ack = content as IAck;
    if (!ack || ack.type !== 'ack') {
      return;
    }
    if (ack.error) {
      this.pending = null;
      this.say(ack.error, true);
    } else if (ack.action === 'resume') {
      this.say('Resumed: a new trainer process is starting.');
    } else {
      this.say(
        'Stop asked: the trainer saves a checkpoint after this step, then stops.'
      );
    }
    this.update();
  }

  private say(text: string, error = false): void {
    this.note.textContent = text;
    this.note.classList.toggle('tl-ft-note-error', error);
  }

  private async copy(): Promise<void> {
    const text = this.commandText.textContent ?? '';
    try {
      await navigator.clipboard.writeText(text);
      this.copyButton.textContent = 'Copied';
    } catch {
      // no clipboard permission (an http page, an iframe): select it for Ctrl+C instead
      const range = document.createRange();
      range.selectNodeContents(this.commandText);
      const sel = window.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
      this.copyButton.textContent = 'Selected: press Ctrl+C';
    }
    window.setTimeout(() => (this.copyButton.textContent = 'Copy'), 2000);
  }

  private host: HTMLElement;
  private badge: HTMLElement;
  private title: HTMLElement;
  private folder: HTMLElement;
  private stopButton: HTMLButtonElement;
  private resumeButton: HTMLButtonElement;
  private note: HTMLElement;
  private problems: HTMLElement;
  private stepText: HTMLElement;
  private bar: HTMLElement;
  private barFill: HTMLElement;
  private epochText: HTMLElement;
  private etaText: HTMLElement;
  private train: Metric;
  private eval: Metric;
  private lr: Metric;
  private grad: Metric;
  private speed: Metric;
  private gpu: Metric;
  private ckpt: Metric;
  private logBox: HTMLInputElement;
  private chart: HTMLElement;
  private chartKey = '';
  private samples: HTMLElement;
  private hash: HTMLElement;
  private final: HTMLElement;
  private commandBox: HTMLDetailsElement;
  private commandText: HTMLElement;
  private copyButton: HTMLButtonElement;
  private pending: Action | null = null;
  private lastStatus = '';
  private pendingTimer = 0;
  private timer: number;
  private onChange: () => void;
  private onMessage: (content: unknown) => void;
}
