/**
 * Entry of the training report bundle (tokenlens/static/train_report.js); esbuild emits the
 * imported CSS as tokenlens/static/train_report.css.
 */
import '../../../style/render.css';
import '../../../style/train_report.css';
import { IModel } from '../model';
import { ITrainReportState } from './types';
import { ReportView } from './view';

/** anywidget entry: draw the report; returns the cleanup anywidget calls on removal. */
export function render({
  model,
  el: root
}: {
  model: IModel<ITrainReportState>;
  el: HTMLElement;
}): () => void {
  const view = new ReportView(model, root);
  const drawAll = (): void => view.drawAll();
  const drawBuilt = (): void => view.drawBuilt();
  const drawError = (): void => view.drawError();
  view.drawAll();
  model.on('change:report', drawAll);
  model.on('change:built', drawBuilt);
  model.on('change:error', drawError);
  return () => {
    model.off('change:report', drawAll);
    model.off('change:built', drawBuilt);
    model.off('change:error', drawError);
  };
}

export default { render };
