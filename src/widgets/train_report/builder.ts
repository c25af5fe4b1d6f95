/**
 * The word builder: a word typed (or an example clicked) goes to the kernel as `word`; its
 * answer, `built`, is drawn as rows of token chips by the shared renderer, one row per merge.
 */
import { renderResults } from '../../render';
import { el } from '../../render/dom';
import { IModel } from '../model';
import { ITrainReportState } from './types';

export class WordBuilder {
  constructor(
    private model: IModel<ITrainReportState>,
    private root: HTMLElement
  ) {
    this.builtBody = el('div', 'tl-train-built');
  }

  /** The form and the report's example words; the rows built so far stay. */
  draw(examples: string[]): void {
    this.root.replaceChildren(el('h4', '', 'A word, built merge by merge'));
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
      this.send(input.value);
    });
    const list = el('div', 'tl-train-examples');
    for (const w of examples) {
      const b = el('button', 'tl-chip-button', w) as HTMLButtonElement;
      b.type = 'button';
      b.addEventListener('click', () => this.build(w));
      list.appendChild(b);
    }
    this.input = input;
    this.root.append(form, list, this.builtBody);
    this.drawBuilt();
  }

  /** Build `word`: put it in the box and ask the kernel. */
  build(word: string): void {
    if (this.input) {
      this.input.value = word;
    }
    this.send(word);
  }

  /** The kernel's answer: the word (unless someone is typing) and its rows. */
  drawBuilt(): void {
    const built = this.model.get('built') ?? {};
    if (
      this.input &&
      built.word !== undefined &&
      document.activeElement !== this.input
    ) {
      this.input.value = built.word;
    }
    this.builtBody.replaceChildren();
    if (built.note) {
      this.builtBody.appendChild(el('p', 'tl-muted', built.note));
    }
    const rows = el('div', 'tl-train-rows');
    this.builtBody.appendChild(rows);
    renderResults(
      rows,
      { results: built.rows ?? [] },
      { showIds: true, layout: 'stacked' }
    );
  }

  private send(word: string): void {
    this.model.set('word', word);
    this.model.save_changes();
  }

  private builtBody: HTMLElement;
  private input: HTMLInputElement | null = null;
}
