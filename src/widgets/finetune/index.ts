/**
 * Entry of the fine-tune run view bundle (tokenlens/static/finetune.js); esbuild emits the
 * imported CSS as tokenlens/static/finetune.css.
 */
import '../../../style/finetune.css';
import { FinetuneView } from './view';
import { IModel } from '../model';
import { IFinetuneState } from './types';

/** Render the run view into `el`; the returned function removes its listeners and timer. */
export function render({
  model,
  el
}: {
  model: IModel<IFinetuneState>;
  el: HTMLElement;
}): () => void {
  const view = new FinetuneView(model, el);
  return () => view.dispose();
}

export default { render };
