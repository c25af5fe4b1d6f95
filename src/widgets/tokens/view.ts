/**
 * The anywidget view: draws a model's results with the shared renderer, under a small toolbar
 * whose choices are model traits (so Python can set them too). The side panel mounts this same
 * view on a local model.
 *
 * Traits read: results, error, show_ids, show_whitespace, color_by ('id' | 'position'),
 * compare_layout ('aligned' | 'stacked'), add_special_tokens and can_toggle_special (whether the owner
 * re-tokenizes when add_special_tokens changes). The toolbar writes all but the first two.
 */
import {
  CachedExplainer,
  cancelRender,
  ColorBy,
  CompareLayout,
  IExplainer,
  IRenderOptions,
  isError,
  renderMessage,
  renderResults,
  ResultOrError,
  setDisplayOptions
} from '../../render';
import { hasKernel, IModel } from '../model';
import { MessageExplainer } from './explain';

/** The token view's traits (tokenlens/views/tokens.py). */
export interface ITokensState {
  results: ResultOrError[];
  error: string;
  show_ids: boolean;
  show_whitespace: boolean;
  color_by: ColorBy;
  compare_layout: CompareLayout;
  add_special_tokens: boolean;
  can_toggle_special: boolean;
}

export interface IRenderProps {
  model: IModel<ITokensState>;
  el: HTMLElement;
  /** Where the token card gets its details; the widget asks its kernel when none is given. */
  explainer?: IExplainer | null;
}

/** Traits whose change needs a new drawing. */
const REDRAW: (keyof ITokensState)[] = ['results', 'error', 'compare_layout'];
/** Traits that only restyle (or, for the special-token toggle, wait for new results). */
const RESTYLE: (keyof ITokensState)[] = [
  'show_ids',
  'show_whitespace',
  'color_by',
  'add_special_tokens',
  'can_toggle_special'
];

/** Render `model` into `el`; returns a cleanup function (anywidget calls it on removal). */
export function render({ model, el, explainer }: IRenderProps): () => void {
  el.classList.add('tl-widget');
  const toolbar = new Toolbar(model);
  const messages = document.createElement('div');
  messages.className = 'tl-messages';
  const body = document.createElement('div');
  body.className = 'tl-body';
  el.replaceChildren(toolbar.node, messages, body);

  let ownExplainer: MessageExplainer | null = null;
  if (explainer === undefined && hasKernel(model)) {
    ownExplainer = new MessageExplainer(model);
  }
  const base = explainer ?? ownExplainer;
  const cached = base ? new CachedExplainer(base) : null;

  const options = (): IRenderOptions => ({
    showIds: model.get('show_ids') ?? true,
    showWhitespace: model.get('show_whitespace') ?? true,
    colorBy: model.get('color_by') === 'position' ? 'position' : 'id',
    layout: model.get('compare_layout') === 'stacked' ? 'stacked' : 'aligned',
    explainer: cached
  });

  const draw = (): void => {
    const error = String(model.get('error') ?? '');
    if (error) {
      renderMessage(messages, error, 'error');
    } else {
      messages.replaceChildren();
    }
    const results = (model.get('results') ?? []) as ResultOrError[];
    toolbar.update(results);
    renderResults(body, { results }, options());
  };
  const restyle = (): void => {
    toolbar.sync();
    setDisplayOptions(body, options());
  };

  draw();
  for (const trait of REDRAW) {
    model.on(`change:${trait}`, draw);
  }
  for (const trait of RESTYLE) {
    model.on(`change:${trait}`, restyle);
  }
  return () => {
    for (const trait of REDRAW) {
      model.off(`change:${trait}`, draw);
    }
    for (const trait of RESTYLE) {
      model.off(`change:${trait}`, restyle);
    }
    cancelRender(body);
    ownExplainer?.dispose();
  };
}

/** Colour rule, whitespace, ids and (for several results) the layout. */
class Toolbar {
  constructor(private model: IModel<ITokensState>) {
    this.node = document.createElement('div');
    this.node.className = 'tl-toolbar';
    this.node.setAttribute('role', 'toolbar');
    this.node.setAttribute('aria-label', 'Token view options');

    this.color = choice<ColorBy>(
      'tl-opt-color',
      'Colour by',
      [
        [
          'id',
          'id',
          'The same token id has the same colour in every cell and view'
        ],
        ['position', 'position', 'Neighbouring tokens always differ']
      ],
      value => this.write('color_by', value)
    );
    this.ws = toggle(
      'tl-opt-ws',
      'whitespace',
      'Mark spaces (·), tabs (→) and newlines (↵)',
      on => this.write('show_whitespace', on)
    );
    this.ids = toggle(
      'tl-opt-ids',
      'ids',
      'Show each token’s id under it',
      on => this.write('show_ids', on)
    );
    this.special = toggle(
      'tl-opt-special',
      'special tokens',
      'Add the special tokens the model sees ([CLS] … [SEP], <s>): tokenizes the text again',
      on => this.write('add_special_tokens', on)
    );
    this.layout = choice<CompareLayout>(
      'tl-opt-layout',
      'Compare',
      [
        [
          'aligned',
          'aligned',
          'Tokenizers under the same characters: cuts that differ stand out'
        ],
        ['stacked', 'stacked', 'Each tokenizer’s chips in its own block']
      ],
      value => this.write('compare_layout', value)
    );
    this.node.append(
      this.color.node,
      this.ws.node,
      this.ids.node,
      this.special.node,
      this.layout.node
    );
    this.sync();
  }

  readonly node: HTMLElement;

  /** Show the toolbar only with results, and the layout switch only with several. */
  update(results: ResultOrError[]): void {
    const ok = results.filter(r => !isError(r)).length;
    this.node.hidden = ok === 0;
    this.layout.node.hidden = ok < 2;
    this.sync();
  }

  /** Reflect the model's values. */
  sync(): void {
    this.color.set(
      this.model.get('color_by') === 'position' ? 'position' : 'id'
    );
    this.ws.set(this.model.get('show_whitespace') ?? true);
    this.ids.set(this.model.get('show_ids') ?? true);
    this.special.set(this.model.get('add_special_tokens') ?? true);
    this.special.node.hidden = !this.model.get('can_toggle_special');
    this.layout.set(
      this.model.get('compare_layout') === 'stacked' ? 'stacked' : 'aligned'
    );
  }

  private write<K extends keyof ITokensState>(
    name: K,
    value: ITokensState[K]
  ): void {
    this.model.set(name, value);
    this.model.save_changes();
  }

  private color: IControl<ColorBy>;
  private ws: IControl<boolean>;
  private ids: IControl<boolean>;
  private special: IControl<boolean>;
  private layout: IControl<CompareLayout>;
}

interface IControl<T> {
  node: HTMLElement;
  set(value: T): void;
}

/** A small segmented control of buttons with aria-pressed. */
function choice<T extends string>(
  cls: string,
  label: string,
  options: [T, string, string][],
  onChange: (value: T) => void
): IControl<T> {
  const node = document.createElement('span');
  node.className = `tl-choice ${cls}`;
  node.setAttribute('role', 'group');
  node.setAttribute('aria-label', label);
  const name = document.createElement('span');
  name.className = 'tl-choice-label';
  name.textContent = label;
  node.appendChild(name);
  const buttons = options.map(([value, text, title]) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tl-choice-option';
    b.dataset.value = value;
    b.textContent = text;
    b.title = title;
    b.addEventListener('click', () => onChange(value));
    node.appendChild(b);
    return b;
  });
  return {
    node,
    set: (value: T) => {
      for (const b of buttons) {
        b.setAttribute('aria-pressed', String(b.dataset.value === value));
      }
    }
  };
}

function toggle(
  cls: string,
  text: string,
  title: string,
  onChange: (on: boolean) => void
): IControl<boolean> {
  const node = document.createElement('label');
  node.className = `tl-toggle ${cls}`;
  node.title = title;
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.addEventListener('change', () => onChange(box.checked));
  node.append(box, document.createTextNode(` ${text}`));
  return {
    node,
    set: (on: boolean) => {
      box.checked = !!on;
    }
  };
}
