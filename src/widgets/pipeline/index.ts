/**
 * Entry of the pipeline-view anywidget bundle (tokenlens/static/pipeline.js).
 *
 * Draws what tokenlens.learn.pipeline computed, one stage per row: the normaliser's output with
 * its changes marked, the pre-tokeniser's pieces with their offsets, the model's tokens, the
 * post-processor's specials, the ids, and the decoder's round trip (what was lost, when lossy).
 * Pointing at a piece, token or id lights up what it came from; a new text typed in the view
 * goes to the kernel (`text`), which runs it through the same tokenizer.
 */
import '../../../style/render.css';
import '../../../style/learning.css';
import { chip } from '../../render/chips';
import { hueForId } from '../../render/colors';
import { div, messageBox, span } from '../../render/dom';
import { appendVisible } from '../../render/text';
import {
  charSpans,
  clearMarks,
  markRange,
  onPoint,
  section
} from '../learning';
import { IModel } from '../model';
import { IDiffRun, IPipelineState, IStage } from './types';

const WATCHED: (keyof IPipelineState)[] = [
  'stages',
  'shown_text',
  'error',
  'tokenizer'
];

/** What a learner should take from each stage, in a line. */
const LESSON: Record<string, string> = {
  normalizer: 'cleans the text: case, accents, Unicode forms',
  'pre-tokenizer': 'cuts the text into pieces; tokens never cross a cut',
  model: 'splits each piece into vocabulary tokens',
  'post-processor': 'adds the special tokens the model expects',
  ids: 'the numbers the model actually reads',
  decoder: 'turns the ids back into text'
};

/** A stage's output with its diff runs: changed runs marked, every character its own element. */
function diffText(parent: HTMLElement, runs: IDiffRun[]): HTMLElement[] {
  const chars: HTMLElement[] = [];
  let at = 0;
  for (const run of runs) {
    if (run.same !== undefined) {
      chars.push(...charSpans(parent, run.same, at));
      at += Array.from(run.same).length;
      continue;
    }
    const now = run.now ?? '';
    const was = run.was ?? '';
    const mark = document.createElement('mark');
    mark.className = 'tl-change';
    mark.title = `was “${was}”${now ? '' : ' (removed)'}`;
    if (now) {
      chars.push(...charSpans(mark, now, at));
      at += Array.from(now).length;
    } else {
      mark.classList.add('tl-removed');
      appendVisible(mark, was);
    }
    parent.appendChild(mark);
  }
  return chars;
}

function stageRow(n: number, stage: IStage): [HTMLElement, HTMLElement] {
  const row = div('tl-stage');
  row.dataset.stage = stage.stage;
  row.tabIndex = 0;
  const head = div('tl-stage-head');
  const num = span('tl-stage-num', String(n));
  const name = span('tl-stage-name', stage.stage);
  const what = span('tl-stage-what', stage.what);
  head.append(num, name, what);
  const lesson = LESSON[stage.stage];
  if (lesson) {
    row.title = `The ${stage.stage} ${lesson}.`;
  }
  const body = div('tl-stage-body');
  row.append(head, body);
  return [row, body];
}

export function render({
  model,
  el
}: {
  model: IModel<IPipelineState>;
  el: HTMLElement;
}): () => void {
  el.classList.add('tl-widget', 'tl-learn', 'tl-pipeline');
  const header = div('tl-learn-header');
  const form = document.createElement('form');
  form.className = 'tl-learn-form';
  const input = document.createElement('textarea');
  input.className = 'tl-learn-input';
  input.rows = 2;
  input.setAttribute('aria-label', 'Text to run through the pipeline');
  const run = document.createElement('button');
  run.type = 'submit';
  run.textContent = 'Run';
  run.title = 'Run this text through the same tokenizer (Ctrl+Enter)';
  form.append(input, run);
  const messages = div('tl-messages');
  const stages = div('tl-stages');
  el.replaceChildren(header, form, messages, stages);

  const submit = (): void => {
    model.set('text', input.value);
    model.save_changes();
  };
  form.addEventListener('submit', (event: Event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (event: KeyboardEvent) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  });

  const draw = (): void => {
    const list = model.get('stages') ?? [];
    const text = String(model.get('shown_text') ?? '');
    if (document.activeElement !== input) {
      input.value = String(model.get('text') ?? text);
    }
    const decoder = list.find(s => s.stage === 'decoder');
    header.replaceChildren(
      span('tl-name', String(model.get('tokenizer') ?? '')),
      span('tl-learn-sub', 'text → tokens → ids → text')
    );
    if (decoder) {
      const ok = decoder.round_trip === true;
      const badge = span(
        `tl-badge ${ok ? 'tl-badge-ok' : 'tl-badge-lossy'}`,
        ok ? '✓ lossless round trip' : '✗ lossy: the text does not come back'
      );
      header.appendChild(badge);
    }
    const error = String(model.get('error') ?? '');
    messages.replaceChildren(...(error ? [messageBox(error, 'error')] : []));
    stages.replaceChildren();
    if (!list.length) {
      if (!error) {
        messages.appendChild(
          messageBox(
            'No stages to show: type a text above and press Run.',
            'info'
          )
        );
      }
      return;
    }

    // The input text, one element per character, so model tokens can point at theirs.
    const [textBox, textBody] = section('tl-stage-text', 'text');
    textBody.classList.add('tl-learn-text');
    const textChars = charSpans(textBody, text);
    stages.appendChild(textBox);

    let normalChars: HTMLElement[] = textChars;
    const postChips: HTMLElement[] = [];
    const idChips: HTMLElement[] = [];
    list.forEach((stage, k) => {
      const [row, body] = stageRow(k + 1, stage);
      stages.appendChild(row);
      switch (stage.stage) {
        case 'normalizer': {
          body.classList.add('tl-learn-text');
          normalChars = diffText(
            body,
            stage.diff ?? [{ same: stage.output ?? '' }]
          );
          if (!(stage.changes ?? []).length) {
            body.appendChild(span('tl-note', ' (unchanged)'));
          }
          break;
        }
        case 'pre-tokenizer': {
          for (const item of stage.pieces ?? []) {
            const [piece, [a, b]] = item as [string, [number, number]];
            const box = span('tl-piece');
            box.tabIndex = 0;
            const t = span('tl-piece-text');
            appendVisible(t, piece);
            box.append(t, span('tl-piece-off', `${a}–${b}`));
            box.title = `characters ${a} to ${b} of the normalised text`;
            onPoint(
              box,
              () => markRange(normalChars, a, b),
              () => clearMarks(stages)
            );
            body.appendChild(box);
          }
          break;
        }
        case 'model': {
          const tokens = stage.tokens ?? [];
          tokens.forEach((tok, i) => {
            const c = chip((stage.ids ?? [])[i], tok);
            c.tabIndex = 0;
            const [s, e] = (stage.spans ?? [])[i] ?? [0, 0];
            c.title = `token ${i}: id ${(stage.ids ?? [])[i]}, characters ${s}–${e} of the text`;
            onPoint(
              c,
              () => markRange(textChars, s, e),
              () => clearMarks(stages)
            );
            body.appendChild(c);
          });
          break;
        }
        case 'post-processor': {
          (stage.tokens ?? []).forEach((tok, i) => {
            const special = (stage.special ?? [])[i] === true;
            const c = chip((stage.ids ?? [])[i], tok, { special });
            c.tabIndex = 0;
            if (special) {
              c.title =
                'a special token: added by the post-processor, not from the text';
            }
            onPoint(
              c,
              () => idChips[i]?.classList.add('tl-lit'),
              () => clearMarks(stages)
            );
            postChips.push(c);
            body.appendChild(c);
          });
          break;
        }
        case 'ids': {
          body.classList.add('tl-ids');
          (stage.ids ?? []).forEach((id, i) => {
            const n = span('tl-id', String(id));
            n.tabIndex = 0;
            n.style.setProperty('--tl-id-hue', String(hueForId(id)));
            onPoint(
              n,
              () => postChips[i]?.classList.add('tl-lit'),
              () => clearMarks(stages)
            );
            idChips.push(n);
            body.appendChild(n);
          });
          break;
        }
        case 'decoder': {
          body.classList.add('tl-learn-text');
          const out = div('tl-roundtrip');
          diffText(
            out,
            stage.round_trip
              ? [{ same: stage.output ?? '' }]
              : (stage.diff ?? [{ same: stage.output ?? '' }])
          );
          body.appendChild(out);
          if (stage.round_trip) {
            body.appendChild(div('tl-note tl-ok')).textContent =
              '✓ the same text as the input';
          } else {
            const lost = div('tl-lost');
            lost.appendChild(
              span('tl-note', '✗ not the same text; what changed:')
            );
            for (const change of stage.changes ?? []) {
              const item = span('tl-lost-item');
              const was = span('tl-was');
              appendVisible(was, change.was || '∅');
              const now = span('tl-now');
              appendVisible(now, change.now || '∅');
              item.append(was, span('tl-arrow', ' → '), now);
              lost.appendChild(item);
            }
            body.appendChild(lost);
          }
          break;
        }
        default:
          body.textContent = stage.output ?? '';
      }
    });
  };

  draw();
  for (const trait of WATCHED) {
    model.on(`change:${trait}`, draw);
  }
  return () => {
    for (const trait of WATCHED) {
      model.off(`change:${trait}`, draw);
    }
  };
}

export default { render };
