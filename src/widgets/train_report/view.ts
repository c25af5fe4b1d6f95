/**
 * The training report (the anywidget view of tokenlens/views/train_report.py).
 *
 * Shows what `%train_tokenizer` made: the vocabulary reached, the fit on held-out text against
 * baselines, merge frequency against rank, token uses against id ("an id is not a frequency"),
 * a word built merge by merge (token chips from the shared renderer), and the merges, searchable.
 */
import { renderResults } from '../../render';
import { el } from '../../render/dom';
import { IModel } from '../model';
import { WordBuilder } from './builder';
import { chart } from './chart';
import { fmt, pct, tokenText, visible } from './format';
import { MergeTable } from './merges';
import { ITrainReport, ITrainReportState } from './types';

/** The report view: summary, fit and charts here; the word builder and merge table beside. */
export class ReportView {
  constructor(
    private model: IModel<ITrainReportState>,
    root: HTMLElement
  ) {
    root.classList.add('tl-widget', 'tl-train-report');
    this.messages = el('div', 'tl-train-messages');
    this.summary = el('div', 'tl-train-summary');
    this.fit = el('section', 'tl-train-fit');
    this.charts = el('section', 'tl-train-charts');
    const builder = el('section', 'tl-train-builder');
    const table = el('section', 'tl-train-merges');
    this.builder = new WordBuilder(model, builder);
    this.table = new MergeTable(table, {
      select: (id, merge) => {
        if (merge) {
          this.markRank?.(merge[0]);
        }
        this.markId?.(id);
      },
      build: word => this.builder.build(word)
    });
    root.replaceChildren(
      this.messages,
      this.summary,
      this.fit,
      this.charts,
      builder,
      table
    );
  }

  drawAll(): void {
    this.report = this.model.get('report') ?? ({} as ITrainReport);
    this.drawSummary();
    this.drawFit();
    this.drawCharts();
    this.builder.draw(this.report.example_words ?? []);
    this.table.draw(this.report);
    this.drawError();
  }

  drawBuilt(): void {
    this.builder.drawBuilt();
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
    return tokenText(this.report, id);
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
      lines.push(
        'The corpus ran out of pairs to merge before the size asked for.'
      );
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
    for (const h of [
      'tokenizer',
      'tokens',
      'chars/token',
      'fertility',
      'continued words',
      'byte pieces',
      'unknown'
    ]) {
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
        const td = el(
          'td',
          k === 3 && f.fertility === best ? 'tl-best' : '',
          text
        );
        tr.appendChild(td);
      });
      table.appendChild(tr);
    }
    this.fit.appendChild(table);
    this.fit.appendChild(
      el(
        'p',
        'tl-muted',
        'Fertility: tokens per word (lower is better). Continued words: words split into two or more tokens.'
      )
    );
    if (this.report.sample?.length) {
      this.fit.appendChild(
        el('div', 'tl-train-subtitle', 'A held-out line under each tokenizer')
      );
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
    const caption = el(
      'div',
      'tl-train-caption',
      'Hover the chart to see a merge.'
    );
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
    const idChart = chart(pts, {
      xLabel: 'token id',
      yLabel: 'uses',
      dots: true
    });
    this.markId = idChart.mark;
    const a = el('figure', 'tl-figure');
    a.append(
      freq.root,
      el(
        'figcaption',
        '',
        'How often each pair occurred when it was merged: it falls with the rank.'
      )
    );
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
    this.charts.append(
      el('h4', '', 'How the vocabulary was made'),
      caption,
      a,
      b
    );
  }

  private report: ITrainReport = {} as ITrainReport;
  private messages: HTMLElement;
  private summary: HTMLElement;
  private fit: HTMLElement;
  private charts: HTMLElement;
  private builder: WordBuilder;
  private table: MergeTable;
  private markRank: ((x: number | null) => void) | null = null;
  private markId: ((x: number | null) => void) | null = null;
}
