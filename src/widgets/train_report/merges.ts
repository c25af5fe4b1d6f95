/**
 * The merge table: the merges in order (or by uses, or by pair frequency), searchable by token,
 * parent or id; a row clicked shows that token's story and marks it on the charts.
 */
import { el } from '../../render/dom';
import { fmt, tokenText, visible } from './format';
import { ITrainReport, MergeRow } from './types';

/** Rows of the merge table drawn at once; a search narrows the rest. */
const TABLE_LIMIT = 200;

type SortKey = 'rank' | 'uses' | 'frequency';

export interface IMergeTableHooks {
  /** A token was selected: `merge` is the merge that made it, if one did. */
  select(id: number, merge: MergeRow | undefined): void;
  /** Build this word in the word builder. */
  build(word: string): void;
}

export class MergeTable {
  constructor(
    private root: HTMLElement,
    private hooks: IMergeTableHooks
  ) {
    this.detail = el('div', 'tl-train-detail');
  }

  draw(report: ITrainReport): void {
    this.report = report;
    this.byId = new Map();
    for (const row of report.merges ?? []) {
      if (!this.byId.has(row[3])) {
        this.byId.set(row[3], row);
      }
    }
    this.root.replaceChildren(el('h4', '', 'Merges in order'));
    const merges = report.merges ?? [];
    if (!merges.length) {
      this.root.appendChild(
        el(
          'p',
          'tl-muted',
          report.algorithm === 'unigram'
            ? 'Unigram learns no merges: it starts from many pieces and prunes the least useful.'
            : 'No merges were learnt.'
        )
      );
      return;
    }
    const controls = el('div', 'tl-train-controls');
    const search = el('input', 'tl-train-search') as HTMLInputElement;
    search.type = 'search';
    search.placeholder = 'search a token, a parent or an id';
    search.setAttribute('aria-label', 'search the merges');
    const sort = el('select') as HTMLSelectElement;
    for (const [value, label] of [
      ['rank', 'in merge order (= id order)'],
      ['uses', 'by uses in the training text'],
      ['frequency', 'by pair frequency when merged']
    ]) {
      const opt = el('option', '', label) as HTMLOptionElement;
      opt.value = value;
      sort.appendChild(opt);
    }
    const count = el('span', 'tl-muted');
    controls.append(search, sort, count);
    const table = el('table', 'tl-train-table tl-merge-table');
    const body = el('tbody');
    const head = el('tr');
    for (const h of [
      'rank',
      'left + right',
      'token',
      'id',
      'pair frequency',
      'uses'
    ]) {
      head.appendChild(el('th', '', h));
    }
    table.append(el('thead'), body);
    (table.firstChild as HTMLElement).appendChild(head);
    const uses = report.uses ?? [];
    const text = (id: number): string => tokenText(report, id);
    const update = (): void => {
      const q = search.value.trim().toLowerCase();
      let rows = merges;
      if (q) {
        const asNumber = /^\d+$/.test(q) ? Number(q) : null;
        rows = merges.filter(
          m =>
            (asNumber !== null && (m[3] === asNumber || m[0] === asNumber)) ||
            text(m[3]).toLowerCase().includes(q) ||
            text(m[1]).toLowerCase() === q ||
            text(m[2]).toLowerCase() === q
        );
      }
      const key = sort.value as SortKey;
      if (key === 'uses') {
        rows = [...rows].sort((a, b) => (uses[b[3]] ?? 0) - (uses[a[3]] ?? 0));
      } else if (key === 'frequency') {
        rows = [...rows].sort((a, b) => b[4] - a[4]);
      }
      count.textContent =
        rows.length > TABLE_LIMIT
          ? `${fmt(rows.length)} merges; the first ${TABLE_LIMIT} shown`
          : `${fmt(rows.length)} merge${rows.length === 1 ? '' : 's'}`;
      body.replaceChildren();
      for (const m of rows.slice(0, TABLE_LIMIT)) {
        const tr = el('tr');
        tr.dataset.id = String(m[3]);
        tr.tabIndex = 0;
        tr.append(
          el('td', '', String(m[0])),
          el('td', '', `${visible(text(m[1]))} + ${visible(text(m[2]))}`),
          el('td', 'tl-train-token', visible(text(m[3]))),
          el('td', '', String(m[3])),
          el('td', '', fmt(m[4])),
          el('td', '', fmt(uses[m[3]] ?? 0))
        );
        tr.addEventListener('click', () => this.select(m[3]));
        tr.addEventListener('keydown', ev => {
          if (ev.key === 'Enter') {
            this.select(m[3]);
          }
        });
        body.appendChild(tr);
      }
    };
    search.addEventListener('input', update);
    sort.addEventListener('change', update);
    update();
    // The details of the token selected last stay across redraws.
    this.root.append(controls, this.detail, table);
  }

  /** Details of one token: its id next to its frequency, and its parents. */
  private select(id: number): void {
    const text = (k: number): string => tokenText(this.report, k);
    const m = this.byId.get(id);
    const uses = this.report.uses?.[id] ?? 0;
    this.detail.replaceChildren();
    const token = el('span', 'tl-train-token', visible(text(id)));
    const lines = [el('div', '', '')];
    lines[0].append('Token ', token, ` has id ${id}`);
    if (m) {
      lines.push(
        el(
          'div',
          '',
          `It was merge #${m[0]}: ${visible(text(m[1]))} (id ${m[1]}) + ${visible(text(m[2]))} ` +
            `(id ${m[2]}), when that pair occurred ${fmt(m[4])} times.`
        ),
        // A merge's pair count is the bigram count an n-gram model keeps, over that step's tokens.
        el(
          'div',
          'tl-train-bigram',
          `This pair was seen ${fmt(m[4])} times: the bigram count of (${visible(text(m[1]))}, ` +
            `${visible(text(m[2]))}) in the corpus at that step.`
        ),
        el(
          'div',
          '',
          `With every merge applied it is used ${fmt(uses)} times in the training text. Its id says when it was ` +
            'made, not how often it is used.'
        )
      );
    }
    this.hooks.select(id, m);
    const build = el(
      'button',
      'tl-chip-button',
      'build this token'
    ) as HTMLButtonElement;
    build.type = 'button';
    build.addEventListener('click', () => this.hooks.build(text(id).trim()));
    this.detail.append(...lines, build);
  }

  private report: ITrainReport = {} as ITrainReport;
  private byId = new Map<number, MergeRow>();
  private detail: HTMLElement;
}
