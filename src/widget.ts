/**
 * Entry of the anywidget ESM bundle (tokenlens/static/widget.js); esbuild emits the
 * imported CSS as tokenlens/static/widget.css.
 */
import '../style/render.css';
import { render } from './view';

export default { render };
