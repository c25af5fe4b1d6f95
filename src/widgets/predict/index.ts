/**
 * Entry of the predictions-view anywidget bundle (tokenlens/static/predict.js).
 *
 * The text's tokens as chips (the token view's palette), each with a bar for the probability
 * the model gave it before it came; pointing at a token shows what the model expected after it
 * (top-k with probabilities, the actual next token marked), a click keeps that position
 * (`selected`, synced to the kernel). Below, a continuation decoded token by token; the
 * "Continue" button asks the kernel for one (custom message `{type: "generate", ...}`).
 * Side by side (`others`): more models' predictions of the same ids; the picked position shows
 * each model's top-k under the first's, and each model's continuation follows the first's.
 */
import '../../../style/render.css';
import '../../../style/learning.css';
import { chip } from '../../render/chips';
import { div, messageBox, span } from '../../render/dom';
import { codePointIndex, sliceCodePoints } from '../../render/offsets';
import { appendVisible } from '../../render/text';
import { onPoint, percent, section } from '../learning';
import { hasKernel, IModel } from '../model';
import {
  ICandidate,
  IGeneration,
  IOther,
  IPosition,
  IPredictState
} from './types';

const WATCHED: (keyof IPredictState)[] = [
  'positions',
  'error',
  'model_name',
  'generation',
  'others'
];

function bar(p: number): HTMLElement {
  const track = span('tl-prob-track');
  const fill = span('tl-prob-fill');
  fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
  track.appendChild(fill);
  return track;
}

/** Side by side: each other model's top-k after position `i`, under its name. */
function otherDetails(
  box: HTMLElement,
  others: IOther[],
  i: number,
  next: IPosition | undefined
): void {
  for (const other of others) {
    const pos = other.positions[i];
    if (!pos) {
      continue;
    }
    const block = div('tl-other');
    block.dataset.model = other.model_name;
    const head = div('tl-detail-head');
    head.append(
      span('tl-name', other.model_name),
      span('tl-note', ` expects (top ${other.top_k}):`)
    );
    block.append(head, topTable(pos, next));
    box.appendChild(block);
  }
}

/** The candidates after one position, the one that came next marked. */
function topTable(pos: IPosition, next: IPosition | undefined): HTMLElement {
  const table = document.createElement('table');
  table.className = 'tl-topk';
  pos.top.forEach((cand: ICandidate, rank: number) => {
    const tr = table.insertRow();
    tr.className = 'tl-cand';
    tr.dataset.id = String(cand.id);
    tr.dataset.prob = String(cand.prob);
    const isNext = next !== undefined && next.id === cand.id;
    if (isNext) {
      tr.classList.add('tl-actual');
    }
    tr.insertCell().textContent = String(rank + 1);
    tr.insertCell().appendChild(chip(cand.id, cand.token));
    tr.insertCell().appendChild(bar(cand.prob));
    tr.insertCell().textContent = percent(cand.prob);
    tr.insertCell().textContent = isNext ? '← came next' : '';
  });
  return table;
}

/** The top-k list of one position (and, side by side, the other models' under it). */
function detail(
  box: HTMLElement,
  positions: IPosition[],
  i: number,
  topK: number,
  others: IOther[] = [],
  name = ''
): void {
  box.replaceChildren();
  const pos = positions[i];
  if (!pos) {
    box.appendChild(
      span(
        'tl-note',
        'Point at a token to see what the model expected after it.'
      )
    );
    return;
  }
  const next = positions[i + 1];
  const head = div('tl-detail-head');
  head.append(span('tl-note', `After token ${i} `), chip(pos.id, pos.token));
  if (others.length) {
    // side by side: every model's list under its name, the first's first
    head.append(
      span('tl-note', ' '),
      span('tl-name', name),
      span('tl-note', ` expects (top ${topK}):`)
    );
  } else {
    head.append(span('tl-note', ` the model expects (top ${topK}):`));
  }
  box.appendChild(head);
  const shown = pos.top.reduce((sum, cand) => sum + cand.prob, 0);
  box.appendChild(topTable(pos, next));
  const foot = div('tl-detail-foot');
  foot.textContent = `These ${pos.top.length} candidates hold ${percent(shown)} of the probability; the rest is spread over the other tokens.`;
  box.appendChild(foot);
  if (
    next !== undefined &&
    pos.actual_next_prob !== null &&
    !pos.top.some(c => c.id === next.id)
  ) {
    const miss = div('tl-detail-miss');
    miss.append(
      span('tl-note', 'What came next, '),
      chip(next.id, next.token),
      span(
        'tl-note',
        `, got ${percent(pos.actual_next_prob)} (rank ${pos.actual_next_rank ?? '?'}): the model did not expect it.`
      )
    );
    box.appendChild(miss);
  } else if (next === undefined) {
    box.appendChild(div('tl-note')).textContent =
      'This is the last token: these are the model’s guesses for the continuation.';
  }
  otherDetails(box, others, i, next);
}

function drawGeneration(box: HTMLElement, gen: IGeneration | null): void {
  box.replaceChildren();
  if (!gen || !gen.steps.length) {
    box.appendChild(
      span(
        'tl-note',
        gen
          ? 'The model produced no token.'
          : 'No continuation yet: press Continue.'
      )
    );
    return;
  }
  const how = gen.greedy
    ? 'greedy: the most likely token each time'
    : 'sampled from the probabilities';
  const why: Record<string, string> = {
    length: 'stopped at the length asked for',
    eos: 'stopped at the model’s end token',
    context: 'stopped at the model’s context length'
  };
  box.appendChild(div('tl-note')).textContent =
    `${gen.steps.length} tokens, ${how}; ${why[gen.stopped] ?? gen.stopped}.`;
  const line = div('tl-gen-line');
  const prompt = span('tl-gen-prompt');
  appendVisible(prompt, gen.prompt);
  line.appendChild(prompt);
  const chips = gen.steps.map((step, k) => {
    const c = chip(step.id, step.token);
    c.classList.add('tl-step');
    c.dataset.step = String(k);
    c.title = `step ${k + 1}: id ${step.id}, p = ${percent(step.prob)}`;
    line.appendChild(c);
    return c;
  });
  box.appendChild(line);
  const table = document.createElement('table');
  table.className = 'tl-steps';
  const head = table.createTHead().insertRow();
  for (const name of ['step', 'token', 'p', 'decoded so far']) {
    const th = document.createElement('th');
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  gen.steps.forEach((step, k) => {
    const tr = body.insertRow();
    tr.tabIndex = 0;
    tr.insertCell().textContent = String(k + 1);
    tr.insertCell().appendChild(chip(step.id, step.token));
    tr.insertCell().textContent = percent(step.prob);
    const text = tr.insertCell();
    text.className = 'tl-so-far';
    appendVisible(text, step.text);
    if (step.pending) {
      const part = span('tl-note tl-pending', ' + part of a character');
      part.title =
        'These bytes are not a whole character yet: the next tokens finish it.';
      text.appendChild(part);
    }
    const lit = (on: boolean) => (): void => {
      chips.forEach((c, j) => c.classList.toggle('tl-dim', on && j > k));
      chips[k].classList.toggle('tl-lit', on);
    };
    onPoint(tr, lit(true), lit(false));
  });
  box.appendChild(table);
}

export function render({
  model,
  el
}: {
  model: IModel<IPredictState>;
  el: HTMLElement;
}): () => void {
  el.classList.add('tl-widget', 'tl-learn', 'tl-predict');
  const header = div('tl-learn-header');
  const messages = div('tl-messages');
  const [tokensBox, tokensBody] = section(
    'tl-pred-tokens',
    'tokens: the bar under each is the probability the model gave it before it came'
  );
  tokensBody.setAttribute('role', 'listbox');
  const [detailBox, detailBody] = section('tl-pred-detail', 'what comes next');
  const [genBox, genBody] = section(
    'tl-pred-gen',
    'continuation, decoded token by token'
  );
  const controls = document.createElement('form');
  controls.className = 'tl-gen-controls';
  const count = document.createElement('input');
  count.type = 'number';
  count.min = '1';
  count.max = '64';
  count.value = '10';
  count.setAttribute('aria-label', 'tokens to continue by');
  const greedy = document.createElement('input');
  greedy.type = 'checkbox';
  greedy.checked = true;
  const greedyLabel = document.createElement('label');
  greedyLabel.append(greedy, ' greedy');
  const go = document.createElement('button');
  go.type = 'submit';
  go.textContent = 'Continue';
  controls.append(span('tl-note', 'tokens '), count, greedyLabel, go);
  const genOut = div('tl-gen-out');
  const othersOut = div('tl-gen-others');
  // side by side, each continuation is under its model's name, the first's too
  const genName = div('tl-name');
  genName.hidden = true;
  genBody.append(controls, genName, genOut, othersOut);
  el.replaceChildren(header, messages, tokensBox, detailBox, genBox);

  let hovered = -1;
  const chips: HTMLElement[] = [];
  const positions = (): IPosition[] => model.get('positions') ?? [];
  const others = (): IOther[] => model.get('others') ?? [];
  const showDetail = (): void => {
    const pick = hovered >= 0 ? hovered : Number(model.get('selected') ?? -1);
    chips.forEach((c, k) => {
      c.classList.toggle('tl-picked', k === Number(model.get('selected')));
      c.setAttribute(
        'aria-selected',
        String(k === Number(model.get('selected')))
      );
    });
    detail(
      detailBody,
      positions(),
      pick,
      Number(model.get('top_k') ?? 5),
      others(),
      String(model.get('model_name') ?? '')
    );
  };
  const select = (k: number): void => {
    model.set('selected', k);
    model.save_changes();
    showDetail();
  };

  controls.addEventListener('submit', (event: Event) => {
    event.preventDefault();
    const n = Math.round(Number(count.value));
    if (!Number.isFinite(n) || n < 1 || n > 64) {
      messages.replaceChildren(
        messageBox('Continue by 1 to 64 tokens.', 'error')
      );
      return;
    }
    if (!hasKernel(model)) {
      messages.replaceChildren(
        messageBox('This view has no kernel to continue the text.', 'error')
      );
      return;
    }
    go.disabled = true;
    go.textContent = 'Continuing…';
    model.send({ type: 'generate', max_new_tokens: n, greedy: greedy.checked });
  });

  const draw = (): void => {
    go.disabled = false;
    go.textContent = 'Continue';
    const list = positions();
    const names = others().map(o => o.model_name);
    header.replaceChildren(
      span('tl-name', String(model.get('model_name') ?? '')),
      ...names.flatMap(n => [span('tl-note', ' · '), span('tl-name', n)]),
      span(
        'tl-learn-sub',
        `what comes next after each token · top ${model.get('top_k') ?? 5}`
      )
    );
    const error = String(model.get('error') ?? '');
    messages.replaceChildren(...(error ? [messageBox(error, 'error')] : []));
    tokensBody.replaceChildren();
    chips.length = 0;
    // Byte tokens of one character (GPT-2 on Odia) are drawn together under that character.
    const text = String(model.get('text') ?? '');
    const index = codePointIndex(text);
    let group: HTMLElement | null = null;
    let groupSpan = '';
    list.forEach((pos, k) => {
      const cell = span('tl-pos');
      const c = chip(pos.id, pos.token);
      c.tabIndex = 0;
      c.setAttribute('role', 'option');
      c.dataset.index = String(k);
      const before = k > 0 ? list[k - 1].actual_next_prob : null;
      c.title =
        before === null
          ? `token ${k}: the first, nothing came before it`
          : `token ${k}: the model gave it ${percent(before)}`;
      cell.appendChild(c);
      const b = bar(before ?? 0);
      if (before === null) {
        b.classList.add('tl-prob-none');
      }
      cell.appendChild(b);
      onPoint(
        c,
        () => {
          hovered = k;
          showDetail();
        },
        () => {
          hovered = -1;
          showDetail();
        }
      );
      c.addEventListener('click', () => select(k));
      c.addEventListener('keydown', (event: KeyboardEvent) => {
        const step =
          event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          select(k);
        } else if (step && chips[k + step]) {
          event.preventDefault();
          chips[k + step].focus();
        }
      });
      chips.push(c);
      const sp = pos.span;
      const key = sp ? `${sp[0]}:${sp[1]}` : '';
      const shared =
        !!sp &&
        sp[1] > sp[0] &&
        (list[k + 1]?.span?.join(':') === key ||
          (group !== null && groupSpan === key));
      if (!shared) {
        group = null;
        tokensBody.appendChild(cell);
        return;
      }
      if (group === null || groupSpan !== key) {
        group = span('tl-group');
        const chars = span('tl-group-text');
        chars.textContent = sliceCodePoints(text, index, sp![0], sp![1]);
        group.append(chars, span('tl-group-tokens'));
        groupSpan = key;
        tokensBody.appendChild(group);
      }
      (group.lastChild as HTMLElement).appendChild(cell);
    });
    if (!list.length) {
      tokensBox.hidden = true;
      detailBox.hidden = true;
    } else {
      tokensBox.hidden = false;
      detailBox.hidden = false;
    }
    showDetail();
    const generation = model.get('generation') ?? null;
    drawGeneration(genOut, generation);
    genName.textContent = String(model.get('model_name') ?? '');
    genName.hidden = others().length === 0;
    // side by side: each other model's continuation of the same text, under its name
    othersOut.replaceChildren(
      ...others().map(other => {
        const block = div('tl-other');
        block.dataset.model = other.model_name;
        const out = div('tl-gen-out');
        drawGeneration(out, other.generation);
        const name = div('tl-name');
        name.textContent = other.model_name;
        block.append(name, out);
        return block;
      })
    );
    if (generation) {
      // The controls say how the continuation shown was made (its length when it ran to it).
      greedy.checked = generation.greedy;
      if (generation.stopped === 'length' && generation.steps.length > 0) {
        count.value = String(generation.steps.length);
      }
    }
  };

  draw();
  for (const trait of WATCHED) {
    model.on(`change:${trait}`, draw);
  }
  model.on('change:selected', showDetail);
  return () => {
    for (const trait of WATCHED) {
      model.off(`change:${trait}`, draw);
    }
    model.off('change:selected', showDetail);
  };
}

export default { render };
