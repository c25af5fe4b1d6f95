/**
 * Token chips: one per token, coloured by id (or position), with the token's text on top and
 * its id below. A group draws the characters a few tokens spell together, chips stacked under.
 */
import { hueClass, positionClass } from './colors';
import { ResultText } from './context';
import { span } from './dom';
import { appendDisplay, appendVisible, hasHex } from './text';

/** The chip of token i. */
export function tokenChip(ctx: ResultText, i: number): HTMLElement {
  const id = ctx.result.ids[i];
  const display = ctx.display(i);
  const chip = span(`tl-token ${positionClass(i)} ${hueClass(id)}`);
  // data-id also draws the id under the chip (CSS ::after), so it can hide without a redraw.
  chip.dataset.index = String(i);
  chip.dataset.id = String(id);

  const text = span('tl-token-text');
  if (ctx.isSpecial(i)) {
    chip.classList.add('tl-special');
    appendDisplay(text, display);
    chip.appendChild(text);
  } else if (ctx.isUnknown(i)) {
    // The vocabulary had no token for these characters: say so, and show what was swallowed.
    chip.classList.add('tl-unk');
    appendDisplay(text, display || '[UNK]');
    chip.appendChild(text);
    const [s, e] = ctx.span(i);
    if (e > s) {
      const swallowed = span('tl-unk-chars');
      appendVisible(swallowed, ctx.slice(s, e));
      chip.appendChild(swallowed);
    }
  } else {
    if (hasHex(display)) {
      chip.classList.add('tl-bytes');
    }
    appendDisplay(text, display);
    chip.appendChild(text);
  }
  // The id is drawn by CSS from data-id (::after): one element fewer per token.
  return chip;
}

/** Tokens lo..hi-1 under the characters they spell together (e.g. the bytes of "ଓ"). */
export function tokenGroup(ctx: ResultText, start: number, end: number, lo: number, hi: number): HTMLElement {
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
