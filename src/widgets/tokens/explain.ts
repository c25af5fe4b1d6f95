/**
 * The widget's explainer: asks the kernel with an anywidget custom message
 * `{type: "explain", request, tokenizer, ids}` and waits for the answer with the same
 * `request` number, `{type: "explain", request, explanations}` (or `error`).
 */
import { IExplainer, IExplanation } from '../../render/types';
import { KernelModel } from '../model';

/** How long to wait for the kernel before saying so. */
const TIMEOUT_MS = 20000;

interface IWaiting {
  resolve(list: IExplanation[]): void;
  reject(error: Error): void;
  timer: number;
}

export class MessageExplainer implements IExplainer {
  constructor(private model: KernelModel<object>) {
    model.on('msg:custom', this.onMessage);
  }

  explain(tokenizer: string, ids: number[]): Promise<IExplanation[]> {
    const request = ++this.requests;
    return new Promise<IExplanation[]>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.waiting.delete(request);
        reject(
          new Error(
            'The kernel did not answer. Is it still running? Re-run the cell to reconnect the view.'
          )
        );
      }, TIMEOUT_MS);
      this.waiting.set(request, { resolve, reject, timer });
      try {
        this.model.send({ type: 'explain', request, tokenizer, ids });
      } catch (error) {
        window.clearTimeout(timer);
        this.waiting.delete(request);
        reject(
          new Error(
            'Token details need a running kernel: the view is not connected.'
          )
        );
      }
    });
  }

  dispose(): void {
    this.model.off('msg:custom', this.onMessage);
    for (const w of this.waiting.values()) {
      window.clearTimeout(w.timer);
      w.reject(new Error('The view was closed.'));
    }
    this.waiting.clear();
  }

  private onMessage = (msg: any): void => {
    if (!msg || msg.type !== 'explain') {
      return;
    }
    const waiting = this.waiting.get(msg.request);
    if (!waiting) {
      return;
    }
    this.waiting.delete(msg.request);
    window.clearTimeout(waiting.timer);
    if (typeof msg.error === 'string' && msg.error) {
      waiting.reject(new Error(msg.error));
    } else {
      waiting.resolve(Array.isArray(msg.explanations) ? msg.explanations : []);
    }
  };

  private requests = 0;
  private waiting = new Map<number, IWaiting>();
}
