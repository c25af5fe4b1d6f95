/**
 * Entry of the anywidget ESM bundle (tokenlens/static/widget.js); esbuild emits the
 * imported CSS as tokenlens/static/widget.css.
 */
import '../../../style/render.css';
import { render } from './view';

export default { render };

/** For the renderer harness and benchmark pages, which call the renderer directly. */
export { renderResults } from '../../render';
