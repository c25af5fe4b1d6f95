/**
 * The anywidget view: draws a model's `results`, `error` and `show_ids` with the
 * shared renderer. The side panel mounts this same view on a local model.
 */
import { cancelRender, renderMessage, renderResults, ResultOrError } from './render';

/** The part of anywidget's model API this view uses. */
export interface IViewModel {
  get(name: string): any;
  on(event: string, callback: () => void): void;
  off(event?: string | null, callback?: (() => void) | null): void;
}

export interface IRenderProps {
  model: IViewModel;
  el: HTMLElement;
}

/** Watched traits; a change to any of them redraws. */
const TRAITS = ['results', 'error', 'show_ids'];

/** Render `model` into `el`; returns a cleanup function (anywidget calls it on removal). */
export function render({ model, el }: IRenderProps): () => void {
  el.classList.add('tl-widget');
  const messages = document.createElement('div');
  messages.className = 'tl-messages';
  const body = document.createElement('div');
  body.className = 'tl-body';
  el.replaceChildren(messages, body);

  const draw = (): void => {
    const error = String(model.get('error') ?? '');
    if (error) {
      renderMessage(messages, error, 'error');
    } else {
      messages.replaceChildren();
    }
    const results = (model.get('results') ?? []) as ResultOrError[];
    const showIds = model.get('show_ids');
    renderResults(body, { results }, { showIds: showIds === undefined ? true : !!showIds });
  };

  draw();
  for (const trait of TRAITS) {
    model.on(`change:${trait}`, draw);
  }
  return () => {
    for (const trait of TRAITS) {
      model.off(`change:${trait}`, draw);
    }
    cancelRender(body);
  };
}
