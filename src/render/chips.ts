/**
 * Token chips: one per token, coloured by id (or position), with the token's text on top and
 * its id below; every view draws its tokens with `chip`. A group draws the characters a few
 * tokens spell together, chips stacked under.
 */
import { hueClass, positionClass } from './colors';
import { ResultText } from './context';
import { span } from './dom';
import { appendDisplay, appendVisible, hasHex } from './text';

/** How a chip is drawn besides its id and text. */
export interface IChipOptions {
  /** Its position in a result: `data-index`, and its hue when colouring by position. */
  index?: number;
  /** A special token ([CLS], <s>): not text, so outlined. */
  special?: boolean;
  /** The unknown token ([UNK]): the characters it swallowed ('' when it covers none). */
  unknown?: string;
  /** False where the id is shown beside the chip instead (the token card's head). */
  showId?: boolean;
  /** Classes of the view that places it. */
  cls?: string;
}

/**
 * THE token chip, in every view: coloured by its id (`null`: no id known), the token's text on
 * top, bytes of a split character marked, and the id under it, drawn by CSS from `data-id` so it
 * can hide without a redraw.
 */
export function chip(
  id: number | null,
  display: string,
  options: IChipOptions = {}
): HTMLElement {
  const { index, special, unknown, cls, showId = true } = options;
  let classes = 'tl-token';
  if (index !== undefined) {
    classes += ` ${positionClass(index)}`;
  }
  if (id !== null) {
    classes += ` ${hueClass(id)}`;
  }
  if (cls) {
    classes += ` ${cls}`;
  }
  const el = span(classes);
  if (index !== undefined) {
    el.dataset.index = String(index);
  }
  if (id !== null && showId) {
    el.dataset.id = String(id);
  }
  const text = span('tl-token-text');
  if (special) {
    el.classList.add('tl-special');
    appendDisplay(text, display);
    el.appendChild(text);
  } else if (unknown !== undefined) {
    // The vocabulary had no token for these characters: say so, and show what was swallowed.
    el.classList.add('tl-unk');
    appendDisplay(text, display || '[UNK]');
    el.appendChild(text);
    if (unknown) {
      const swallowed = span('tl-unk-chars');
      appendVisible(swallowed, unknown);
      el.appendChild(swallowed);
    }
  } else {
    if (hasHex(display)) {
      el.classList.add('tl-bytes');
    }
    appendDisplay(text, display);
    el.appendChild(text);
  }
  return el;
}

/** The chip of token i of a result. */
export function tokenChip(ctx: ResultText, i: number): HTMLElement {
  const special = ctx.isSpecial(i);
  let unknown: string | undefined;
  if (!special && ctx.isUnknown(i)) {
    const [s, e] = ctx.span(i);
    unknown = e > s ? ctx.slice(s, e) : '';
  }
  return chip(ctx.result.ids[i], ctx.display(i), {
    index: i,
    special,
    unknown
  });
}

/** Tokens lo..hi-1 under the characters they spell together (e.g. the bytes of "ଓ"). */
export function tokenGroup(
  ctx: ResultText,
  start: number,
  end: number,
  lo: number,
  hi: number
): HTMLElement {
  const group = span('tl-group');
  group.dataset.start = String(start);
  group.dataset.end = String(end);
  const chars = span('tl-group-text');
  appendVisible(chars, ctx.slice(start, end), true);
  const chips = span('tl-group-tokens');
  for (let k = lo; k < hi; k++) {
    chips.appendChild(tokenChip(ctx, k));
  }
  group.append(chars, chips);
  return group;
}

/** Text no token covers (e.g. the spaces BERT drops), shown dim so the text reads whole. */
export function gap(text: string): HTMLElement {
  const el = span('tl-gap');
  appendVisible(el, text);
  return el;
}
