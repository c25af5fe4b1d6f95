/**
 * The tokenizer chooser: a searchable checklist of what the server offers (GET
 * /tokenlens/tokenizers), where a typed name that is not listed (a hub id, say) can be added
 * too. Each shown tokenizer carries its token count for the current text.
 */
import { ITokenizerInfo } from '../render/types';

let nextId = 0;

export class TokenizerChooser {
  constructor(options: TokenizerChooser.IOptions) {
    this._onChange = options.onChange;
    const uid = `tl-chooser-${++nextId}`;

    this.node = document.createElement('div');
    this.node.className = 'tl-chooser';
    this.node.setAttribute('role', 'group');
    this.node.setAttribute('aria-label', 'Tokenizers to show');

    const head = document.createElement('div');
    head.className = 'tl-chooser-head';
    const label = document.createElement('label');
    label.className = 'tl-chooser-title';
    label.textContent = 'Tokenizers';
    label.htmlFor = `${uid}-search`;
    this._search = document.createElement('input');
    this._search.type = 'search';
    this._search.id = `${uid}-search`;
    this._search.className = 'tl-chooser-search';
    this._search.placeholder = 'Search or add a hub id';
    this._search.setAttribute(
      'aria-label',
      'Search tokenizers, or type a name and press Enter to add it'
    );
    this._search.setAttribute('aria-controls', `${uid}-list`);
    this._search.autocomplete = 'off';
    this._search.spellcheck = false;
    this._search.addEventListener('input', () => this._filter());
    this._search.addEventListener('keydown', event => this._onSearchKey(event));
    head.append(label, this._search);

    this._list = document.createElement('div');
    this._list.className = 'tl-chooser-list';
    this._list.id = `${uid}-list`;
    this._list.setAttribute('role', 'group');
    this._list.setAttribute('aria-label', 'Tokenizers');

    this._hint = document.createElement('div');
    this._hint.className = 'tl-chooser-hint';
    this._hint.setAttribute('aria-live', 'polite');
    this.node.append(head, this._list, this._hint);
  }

  readonly node: HTMLElement;

  /** What the server offers (null: not known yet). */
  setAvailable(available: ITokenizerInfo[] | null): void {
    this._available = available ?? [];
    this._draw();
  }

  /** The names shown, in order. */
  setChosen(names: string[]): void {
    this._chosen = [...names];
    this._draw();
  }

  /** Token counts by tokenizer name; a string is an error, null unknown. */
  setCounts(counts: Map<string, number | string>): void {
    if (counts !== this._counts && !this._search.value) {
      this._hint.textContent = ''; // "Showing x." has served once the counts arrive
    }
    this._counts = counts;
    for (const row of Array.from(
      this._list.querySelectorAll<HTMLElement>('.tl-chooser-option')
    )) {
      const name = row.dataset.tokenizer ?? '';
      const badge = row.querySelector<HTMLElement>('.tl-chooser-count')!;
      const value = counts.get(name);
      const checked = this._chosen.includes(name);
      if (!checked || value === undefined) {
        badge.textContent = '';
        badge.removeAttribute('title');
        delete badge.dataset.kind;
      } else if (typeof value === 'string') {
        badge.textContent = '!';
        badge.title = value;
        badge.dataset.kind = 'error';
      } else {
        badge.textContent = value.toLocaleString('en-US');
        badge.title = `${value} ${value === 1 ? 'token' : 'tokens'}`;
        badge.dataset.kind = 'ok';
      }
    }
  }

  /** Put the keyboard in the search field. */
  focus(): void {
    this._search.focus();
    this._search.select();
  }

  /** Add a name (listed or typed) at the end of the chosen ones. */
  add(name: string): void {
    const clean = name.trim();
    if (!clean) {
      return;
    }
    if (!this._chosen.includes(clean)) {
      this._chosen = [...this._chosen, clean];
      this._draw();
      this._onChange(this._chosen);
    }
    this._hint.textContent = `Showing ${clean}.`;
  }

  private _draw(): void {
    const names = this._available.map(t => t.name);
    const typed = this._chosen.filter(n => !names.includes(n));
    const rows: [string, string][] = [
      ...this._available.map((t): [string, string] => [
        t.name,
        [t.kind, t.source].filter(Boolean).join(' · ')
      ]),
      ...typed.map((n): [string, string] => [
        n,
        'typed name (the server resolves it)'
      ])
    ];
    this._list.replaceChildren();
    for (const [name, detail] of rows) {
      const row = document.createElement('label');
      row.className = 'tl-chooser-option';
      row.dataset.tokenizer = name;
      row.title = detail;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = 'tl-tokenizer-option';
      box.value = name;
      box.checked = this._chosen.includes(name);
      box.setAttribute('aria-label', `Show ${name}`);
      box.addEventListener('change', () => this._onBox(name, box.checked));
      const text = document.createElement('span');
      text.className = 'tl-chooser-name';
      text.textContent = name;
      const badge = document.createElement('span');
      badge.className = 'tl-chooser-count';
      badge.setAttribute('aria-label', `token count for ${name}`);
      row.append(box, text, badge);
      this._list.appendChild(row);
    }
    this.setCounts(this._counts);
    this._filter();
  }

  /** Hide rows that do not match the search; chosen ones always stay visible. */
  private _filter(): void {
    const query = this._search.value.trim().toLowerCase();
    let shown = 0;
    for (const row of Array.from(
      this._list.querySelectorAll<HTMLElement>('.tl-chooser-option')
    )) {
      const name = row.dataset.tokenizer ?? '';
      const match =
        !query ||
        name.toLowerCase().includes(query) ||
        (row.title ?? '').toLowerCase().includes(query) ||
        this._chosen.includes(name);
      row.hidden = !match;
      shown += match && !this._chosen.includes(name) ? 1 : 0;
    }
    if (
      query &&
      shown === 0 &&
      !this._chosen.includes(this._search.value.trim())
    ) {
      this._hint.textContent = `Press Enter to add “${this._search.value.trim()}”.`;
    } else if (query) {
      this._hint.textContent = '';
    }
  }

  private _onSearchKey(event: KeyboardEvent): void {
    if (event.key === 'Enter') {
      event.preventDefault();
      const query = this._search.value.trim();
      if (!query) {
        return;
      }
      // An exact or single match among the listed names wins; otherwise the typed name.
      const visible = Array.from(
        this._list.querySelectorAll<HTMLElement>(
          '.tl-chooser-option:not([hidden])'
        )
      )
        .map(row => row.dataset.tokenizer ?? '')
        .filter(name => !this._chosen.includes(name));
      const exact = visible.find(n => n.toLowerCase() === query.toLowerCase());
      const pick = exact ?? (visible.length === 1 ? visible[0] : query);
      this._search.value = '';
      this.add(pick);
    } else if (event.key === 'Escape' && this._search.value) {
      event.preventDefault();
      event.stopPropagation();
      this._search.value = '';
      this._filter();
    } else if (event.key === 'ArrowDown') {
      const first = this._list.querySelector<HTMLInputElement>(
        '.tl-chooser-option:not([hidden]) input'
      );
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  }

  private _onBox(name: string, checked: boolean): void {
    const chosen = checked
      ? [...this._chosen.filter(n => n !== name), name]
      : this._chosen.filter(n => n !== name);
    this._chosen = chosen;
    // A typed name that is unticked goes away with its row.
    if (!checked && !this._available.some(t => t.name === name)) {
      this._draw();
    } else {
      this._filter();
    }
    this._onChange(chosen);
  }

  private _onChange: (names: string[]) => void;
  private _search: HTMLInputElement;
  private _list: HTMLElement;
  private _hint: HTMLElement;
  private _available: ITokenizerInfo[] = [];
  private _chosen: string[] = [];
  private _counts = new Map<string, number | string>();
}

export namespace TokenizerChooser {
  export interface IOptions {
    /** Called with the new list when the user ticks, unticks or adds a tokenizer. */
    onChange: (names: string[]) => void;
  }
}
