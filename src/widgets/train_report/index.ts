/**
 * The training report widget (anywidget ESM entry, bundled to tokenlens/static/train_report.js).
 *
 * Shows what `%train_tokenizer` made: the vocabulary reached, the fit on held-out text against
 * baselines, merge frequency against rank, token uses against id ("an id is not a frequency"),
 * a word built merge by merge (token chips from the shared renderer), and the merges, searchable.
 */
import '../../../style/render.css';
import '../../../style/train_report.css';
import { IViewModel } from '../tokens/view';
import { ITokenizeResult, renderResults } from '../../render';
import { el, svg } from '../../render/dom';

/** One row of the fit table: mirrors tokenlens.training.Fit. */
export interface IFit {
  tokenizer: string;
  tokens: number;
  chars: number;
  words: number;
  chars_per_token: number;
  fertility: number;
  continued_words: number;
  byte_pieces: number;
  unknown: number;
}

/** [rank, left_id, right_id, id, frequency] */
export type MergeRow = [number, number, number, number, number];

/** TrainingResult.to_report() */
export interface ITrainReport {
  name: string;
  path: string;
  algorithm: string;
  algorithm_label: string;
  requested_vocab_size: number;
  vocab_size: number;
  alphabet_size: number;
  special_tokens: string[];
  merges: MergeRow[];
  displays: string[];
  uses: number[];
  corpus: {
    description?: string;
    bytes_read?: number;
    lines?: number;
    files?: number;
    files_skipped?: [string, string][];
    items_skipped?: number;
    heldout_lines?: number;
    distinct_words?: number;
  };
  fit: IFit[];
  seconds: Record<string, number>;
  memory: { rss_start?: number; peak_rss?: number };
  example_words: string[];
  sample: ITokenizeResult[];
}

/** The kernel's answer to a word: rows of chips, one per merge. */
export interface IBuilt {
  word?: string;
  rows?: ITokenizeResult[];
  note?: string;
}

type SortKey = 'rank' | 'uses' | 'frequency';

/** The part of anywidget's model API the report uses (it also writes the word back). */
export interface IReportModel extends IViewModel {
  set(name: string, value: unknown): void;
  save_changes?(): void;
}

/** Rows of the merge table drawn at once; a search narrows the rest. */
const TABLE_LIMIT = 200;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Make whitespace in a token visible, as the chips do (not the spaces of a byte run "<E0 AC>"). */
function visible(s: string): string {
  return s
    .replace(/(<[0-9A-F]{2}(?: [0-9A-F]{2})*>)| /g, (_m: string, hex?: string) => hex ?? '·')
    .replace(/\n/g, '↵')
    .replace(/\t/g, '→');
}

/**
 * A log-scale line or dot chart in plain SVG; returns the element and a function that marks
 * one x value (the selected token).
 */
function chart(
  points: [number, number][],
  opts: { xLabel: string; yLabel: string; dots?: boolean; onHover?: (i: number | null) => void }
): { root: SVGSVGElement; mark: (x: number | null) => void } {
  const width = 560;
  const height = 200;
  const left = 56;
  const bottom = 28;
  const top = 10;
  const right = 10;
  const w = width - left - right;
  const h = height - top - bottom;
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `${opts.yLabel} against ${opts.xLabel}`,
    class: 'tl-chart'
  }) as SVGSVGElement;
  const maxX = Math.max(1, ...points.map(p => p[0]));
  const maxY = Math.max(1, ...points.map(p => p[1]));
  const logTop = Math.max(1, Math.log10(maxY));
  const px = (x: number): number => left + (x / maxX) * w;
  const py = (y: number): number => top + h - (Math.log10(Math.max(1, y)) / logTop) * h;
  root.appendChild(svg('line', { x1: left, y1: top + h, x2: left + w, y2: top + h, class: 'tl-axis' }));
  root.appendChild(svg('line', { x1: left, y1: top, x2: left, y2: top + h, class: 'tl-axis' }));
  for (let k = 0; k <= Math.floor(logTop); k++) {
    const y = top + h - (k / logTop) * h;
    root.appendChild(svg('line', { x1: left - 4, x2: left, y1: y, y2: y, class: 'tl-axis' }));
    const label = svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'tl-tick' });
    label.textContent = fmt(10 ** k);
    root.appendChild(label);
  }
  const xl = svg('text', { x: left + w / 2, y: height - 6, 'text-anchor': 'middle', class: 'tl-label' });
  xl.textContent = `${opts.xLabel} (0 … ${fmt(maxX)})`;
  root.appendChild(xl);
  const yl = svg('text', {
    x: 12,
    y: top + h / 2,
    'text-anchor': 'middle',
    transform: `rotate(-90 12 ${top + h / 2})`,
    class: 'tl-label'
  });
  yl.textContent = opts.yLabel;
  root.appendChild(yl);

  const step = Math.max(1, Math.floor(points.length / (opts.dots ? 2500 : 1000)));
  if (opts.dots) {
    const g = svg('g', { class: 'tl-dots' });
    for (let i = 0; i < points.length; i += step) {
      g.appendChild(svg('circle', { cx: px(points[i][0]), cy: py(points[i][1]), r: 1.4 }));
    }
    root.appendChild(g);
  } else {
    const pts: string[] = [];
    for (let i = 0; i < points.length; i += step) {
      pts.push(`${px(points[i][0]).toFixed(1)},${py(points[i][1]).toFixed(1)}`);
    }
    root.appendChild(svg('polyline', { points: pts.join(' '), class: 'tl-line' }));
  }
  const marker = svg('line', { x1: 0, x2: 0, y1: top, y2: top + h, class: 'tl-marker', visibility: 'hidden' });
  root.appendChild(marker);
  if (opts.onHover) {
    const hover = opts.onHover;
    const overlay = svg('rect', { x: left, y: top, width: w, height: h, class: 'tl-overlay' });
    overlay.addEventListener('mousemove', (ev: Event) => {
      const box = root.getBoundingClientRect();
      const scale = box.width > 0 ? width / box.width : 1;
      const x = ((ev as MouseEvent).clientX - box.left) * scale;
      const value = Math.round(((x - left) / w) * maxX);
      hover(Math.min(maxX, Math.max(0, value)));
    });
    overlay.addEventListener('mouseleave', () => hover(null));
    root.appendChild(overlay);
  }
  const mark = (x: number | null): void => {
    if (x === null) {
      marker.setAttribute('visibility', 'hidden');
      return;
    }
    marker.setAttribute('x1', String(px(x)));
    marker.setAttribute('x2', String(px(x)));
    marker.setAttribute('visibility', 'visible');
  };
  return { root, mark };
}

/** The report view. */
class ReportView {
  constructor(
    private model: IReportModel,
    root: HTMLElement
  ) {
    root.classList.add('tl-widget', 'tl-train-report');
    this.messages = el('div', 'tl-train-messages');
    this.summary = el('div', 'tl-train-summary');
    this.fit = el('section', 'tl-train-fit');
    this.charts = el('section', 'tl-train-charts');
    this.builder = el('section', 'tl-train-builder');
    this.table = el('section', 'tl-train-merges');
    this.detail = el('div', 'tl-train-detail');
    this.builtBody = el('div', 'tl-train-built');
    root.replaceChildren(this.messages, this.summary, this.fit, this.charts, this.builder, this.table);
  }

  drawAll(): void {
    this.report = (this.model.get('report') ?? {}) as ITrainReport;
    this.byId = new Map();
    for (const row of this.report.merges ?? []) {
      if (!this.byId.has(row[3])) {
        this.byId.set(row[3], row);
      }
    }
    this.drawSummary();
    this.drawFit();
    this.drawCharts();
    this.drawBuilder();
    this.drawTable();
    this.drawError();
  }

  drawError(): void {
    const error = String(this.model.get('error') ?? '');
    this.messages.replaceChildren();
    if (error) {
      const box = el('div', 'tl-message tl-message-error', error);
      box.setAttribute('role', 'alert');
      this.messages.appendChild(box);
    }
  }

  private display(id: number): string {
    return this.report.displays?.[id] ?? String(id);
  }

  private drawSummary(): void {
    const r = this.report;
    const s = r.seconds ?? {};
    const c = r.corpus ?? {};
    const nMerges = r.merges?.length ?? 0;
    const title = el('div', 'tl-train-title');
    title.append(
      el('span', 'tl-name', r.name),
      el('span', 'tl-kind', r.algorithm_label ?? r.algorithm)
    );
    const reached = el(
      'div',
      'tl-train-vocab',
      `${fmt(r.vocab_size)} tokens (asked for ${fmt(r.requested_vocab_size)}): ` +
        (r.algorithm === 'unigram'
          ? `${fmt(r.vocab_size - r.special_tokens.length)} pieces`
          : `${fmt(r.alphabet_size)} alphabet + ${fmt(nMerges)} merges`) +
        ` + ${r.special_tokens.length} special`
    );
    const lines: string[] = [];
    if (r.vocab_size < r.requested_vocab_size) {
      lines.push('The corpus ran out of pairs to merge before the size asked for.');
    }
    const skipped = (c.files_skipped?.length ?? 0) + (c.items_skipped ?? 0);
    lines.push(
      `Corpus: ${c.description ?? ''}, ${((c.bytes_read ?? 0) / 1e6).toFixed(1)} MB, ` +
        `${fmt(c.lines ?? 0)} lines, ${fmt(c.distinct_words ?? 0)} distinct words` +
        (skipped ? `, ${skipped} skipped as not text` : '') +
        (c.heldout_lines ? `, ${fmt(c.heldout_lines)} lines held out` : '')
    );
    lines.push(
      `Trained in ${(s.train ?? 0).toFixed(1)} s; merge frequencies counted in ` +
        `${(s.count ?? 0).toFixed(1)} s; total ${(s.total ?? 0).toFixed(1)} s; peak memory ` +
        `${fmt((r.memory?.peak_rss ?? 0) / 2 ** 20)} MB`
    );
    const facts = el('div', 'tl-train-facts');
    for (const line of lines) {
      facts.appendChild(el('div', '', line));
    }
    const path = el('div', 'tl-train-path');
    path.append('Saved in ', el('code', '', r.path));
    this.summary.replaceChildren(title, reached, facts, path);
  }

  private drawFit(): void {
    const fits = this.report.fit ?? [];
    this.fit.replaceChildren(el('h4', '', 'Fit on held-out text'));
    if (!fits.length) {
      this.fit.appendChild(
        el(
          'p',
          'tl-muted',
          'No held-out text was given. Add --eval FILE (or --holdout 0.05) and --compare gpt2 to see how this tokenizer fits text it did not see.'
        )
      );
      return;
    }
    const table = el('table', 'tl-train-table');
    const head = el('tr');
    for (const h of ['tokenizer', 'tokens', 'chars/token', 'fertility', 'continued words', 'byte pieces', 'unknown']) {
      head.appendChild(el('th', '', h));
    }
    table.appendChild(head);
    const best = Math.min(...fits.map(f => f.fertility));
    for (const f of fits) {
      const tr = el('tr');
      tr.dataset.tokenizer = f.tokenizer;
      const cells = [
        f.tokenizer,
        fmt(f.tokens),
        f.chars_per_token.toFixed(2),
        f.fertility.toFixed(2),
        pct(f.continued_words),
        pct(f.byte_pieces),
        pct(f.unknown)
      ];
      cells.forEach((text, k) => {
        const td = el('td', k === 3 && f.fertility === best ? 'tl-best' : '', text);
        tr.appendChild(td);
      });
      table.appendChild(tr);
    }
    this.fit.appendChild(table);
    this.fit.appendChild(
      el('p', 'tl-muted', 'Fertility: tokens per word (lower is better). Continued words: words split into two or more tokens.')
    );
    if (this.report.sample?.length) {
      this.fit.appendChild(el('div', 'tl-train-subtitle', 'A held-out line under each tokenizer'));
      const sample = el('div', 'tl-train-sample');
      this.fit.appendChild(sample);
      renderResults(sample, { results: this.report.sample }, { showIds: true });
    }
  }

  private drawCharts(): void {
    const merges = this.report.merges ?? [];
    this.charts.replaceChildren();
    if (!merges.length) {
      return;
    }
    const caption = el('div', 'tl-train-caption', 'Hover the chart to see a merge.');
    const freq = chart(
      merges.map(m => [m[0], m[4]] as [number, number]),
      {
        xLabel: 'merge rank',
        yLabel: 'pair frequency',
        onHover: rank => {
          const m = rank === null ? undefined : merges[rank];
          caption.textContent = m
            ? `merge #${m[0]}: ${visible(this.display(m[1]))} + ${visible(this.display(m[2]))} → ` +
              `${visible(this.display(m[3]))} (id ${m[3]}), pair seen ${fmt(m[4])} times`
            : 'Hover the chart to see a merge.';
        }
      }
    );
    this.markRank = freq.mark;
    const uses = this.report.uses ?? [];
    const first = merges[0]?.[3] ?? 0;
    const pts: [number, number][] = [];
    for (let id = 0; id < uses.length; id++) {
      if (uses[id] > 0) {
        pts.push([id, uses[id]]);
      }
    }
    const idChart = chart(pts, { xLabel: 'token id', yLabel: 'uses', dots: true });
    this.markId = idChart.mark;
    const a = el('figure', 'tl-figure');
    a.append(freq.root, el('figcaption', '', 'How often each pair occurred when it was merged: it falls with the rank.'));
    const b = el('figure', 'tl-figure');
    b.append(
      idChart.root,
      el(
        'figcaption',
        '',
        `How often each token is used in the training text, by id. Ids from ${first} on follow merge order, ` +
          'not frequency: an id is not a frequency.'
      )
    );
    this.charts.append(el('h4', '', 'How the vocabulary was made'), caption, a, b);
  }

  private drawBuilder(): void {
    this.builder.replaceChildren(el('h4', '', 'A word, built merge by merge'));
    const form = el('form', 'tl-train-word');
    const input = el('input') as HTMLInputElement;
    input.type = 'text';
    input.placeholder = 'type a word';
    input.value = String(this.model.get('word') ?? '');
    input.setAttribute('aria-label', 'word to build');
    const go = el('button', '', 'Build') as HTMLButtonElement;
    go.type = 'submit';
    form.append(input, go);
    form.addEventListener('submit', ev => {
      ev.preventDefault();
      this.setWord(input.value);
    });
    const examples = el('div', 'tl-train-examples');
    for (const w of this.report.example_words ?? []) {
      const b = el('button', 'tl-chip-button', w) as HTMLButtonElement;
      b.type = 'button';
      b.addEventListener('click', () => {
        input.value = w;
        this.setWord(w);
      });
      examples.appendChild(b);
    }
    this.wordInput = input;
    this.builder.append(form, examples, this.builtBody);
    this.drawBuilt();
  }

  private setWord(word: string): void {
    this.model.set('word', word);
    this.model.save_changes?.();
  }

  drawBuilt(): void {
    const built = (this.model.get('built') ?? {}) as IBuilt;
    if (this.wordInput && built.word !== undefined && document.activeElement !== this.wordInput) {
      this.wordInput.value = built.word;
    }
    this.builtBody.replaceChildren();
    if (built.note) {
      this.builtBody.appendChild(el('p', 'tl-muted', built.note));
    }
    const rows = el('div', 'tl-train-rows');
    this.builtBody.appendChild(rows);
    renderResults(rows, { results: built.rows ?? [] }, { showIds: true, layout: 'stacked' });
  }

  private drawTable(): void {
    this.table.replaceChildren(el('h4', '', 'Merges in order'));
    const merges = this.report.merges ?? [];
    if (!merges.length) {
      this.table.appendChild(
        el('p', 'tl-muted', this.report.algorithm === 'unigram' ? 'Unigram learns no merges: it starts from many pieces and prunes the least useful.' : 'No merges were learnt.')
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
    for (const h of ['rank', 'left + right', 'token', 'id', 'pair frequency', 'uses']) {
      head.appendChild(el('th', '', h));
    }
    table.append(el('thead'), body);
    (table.firstChild as HTMLElement).appendChild(head);
    const uses = this.report.uses ?? [];
    const update = (): void => {
      const q = search.value.trim().toLowerCase();
      let rows = merges;
      if (q) {
        const asNumber = /^\d+$/.test(q) ? Number(q) : null;
        rows = merges.filter(
          m =>
            (asNumber !== null && (m[3] === asNumber || m[0] === asNumber)) ||
            this.display(m[3]).toLowerCase().includes(q) ||
            this.display(m[1]).toLowerCase() === q ||
            this.display(m[2]).toLowerCase() === q
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
          el('td', '', `${visible(this.display(m[1]))} + ${visible(this.display(m[2]))}`),
          el('td', 'tl-train-token', visible(this.display(m[3]))),
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
    this.table.append(controls, this.detail, table);
  }

  /** Details of one token: its id next to its frequency, and its parents. */
  private select(id: number): void {
    const m = this.byId.get(id);
    const uses = this.report.uses?.[id] ?? 0;
    this.detail.replaceChildren();
    const token = el('span', 'tl-train-token', visible(this.display(id)));
    const lines = [el('div', '', '')];
    lines[0].append('Token ', token, ` has id ${id}`);
    if (m) {
      lines.push(
        el(
          'div',
          '',
          `It was merge #${m[0]}: ${visible(this.display(m[1]))} (id ${m[1]}) + ${visible(this.display(m[2]))} ` +
            `(id ${m[2]}), when that pair occurred ${fmt(m[4])} times.`
        ),
        el(
          'div',
          '',
          `With every merge applied it is used ${fmt(uses)} times in the training text. Its id says when it was ` +
            'made, not how often it is used.'
        )
      );
      this.markRank?.(m[0]);
    }
    this.markId?.(id);
    const build = el('button', 'tl-chip-button', 'build this token') as HTMLButtonElement;
    build.type = 'button';
    build.addEventListener('click', () => {
      const word = this.display(id).trim();
      if (this.wordInput) {
        this.wordInput.value = word;
      }
      this.setWord(word);
    });
    this.detail.append(...lines, build);
  }

  private report: ITrainReport = {} as ITrainReport;
  private byId = new Map<number, MergeRow>();
  private messages: HTMLElement;
  private summary: HTMLElement;
  private fit: HTMLElement;
  private charts: HTMLElement;
  private builder: HTMLElement;
  private table: HTMLElement;
  private detail: HTMLElement;
  private builtBody: HTMLElement;
  private wordInput: HTMLInputElement | null = null;
  private markRank: ((x: number | null) => void) | null = null;
  private markId: ((x: number | null) => void) | null = null;
}

/** anywidget entry: draw the report; returns the cleanup anywidget calls on removal. */
export function render({ model, el: root }: { model: IReportModel; el: HTMLElement }): () => void {
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
