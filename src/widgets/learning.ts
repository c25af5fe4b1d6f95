/**
 * Shared pieces of the learning views (pipeline and predictions): text drawn one code point per
 * element (so offsets from Python index it), linked highlighting, percentages, labelled boxes.
 * Their tokens are drawn by the renderer's own chip (render/chips.ts).
 */
import { div, span } from '../render/dom';
import { appendVisible } from '../render/text';

/** Above this many code points a text is drawn whole, not one element per character. */
export const MAX_CHAR_ELEMENTS = 5000;

/**
 * `text` drawn one code point per element (`data-at` = its Python index), whitespace made
 * visible; returns the elements, so a range can be highlighted. Long texts are drawn whole.
 */
export function charSpans(
  parent: HTMLElement,
  text: string,
  offset = 0
): HTMLElement[] {
  const chars = Array.from(text);
  if (offset + chars.length > MAX_CHAR_ELEMENTS) {
    appendVisible(parent, text);
    return [];
  }
  return chars.map((ch, k) => {
    const el = span('tl-ch');
    el.dataset.at = String(offset + k);
    appendVisible(el, ch);
    parent.appendChild(el);
    return el;
  });
}

/** Mark elements lo..hi-1 of `chars` (and unmark the rest) with `cls`. */
export function markRange(
  chars: HTMLElement[],
  lo: number,
  hi: number,
  cls = 'tl-lit'
): void {
  chars.forEach((el, k) => el.classList.toggle(cls, k >= lo && k < hi));
}

export function clearMarks(root: HTMLElement, cls = 'tl-lit'): void {
  root.querySelectorAll(`.${cls}`).forEach(el => el.classList.remove(cls));
}

/** Hover and keyboard focus both call `on`; leaving and blurring call `off`. */
export function onPoint(
  el: HTMLElement,
  on: () => void,
  off: () => void
): void {
  el.addEventListener('mouseenter', on);
  el.addEventListener('focus', on);
  el.addEventListener('mouseleave', off);
  el.addEventListener('blur', off);
}

/** 0.4567 → "45.7%"; tiny values keep two significant digits ("0.0031%"). */
export function percent(p: number): string {
  const v = p * 100;
  if (v >= 10) {
    return `${v.toFixed(1)}%`;
  }
  if (v >= 0.1) {
    return `${v.toFixed(2)}%`;
  }
  return `${v.toPrecision(2)}%`;
}

/** A labelled box. */
export function section(
  cls: string,
  title: string
): [HTMLElement, HTMLElement] {
  const box = div(`tl-learn-section ${cls}`);
  const head = div('tl-learn-title');
  head.textContent = title;
  const body = div('tl-learn-body');
  box.append(head, body);
  return [box, body];
}
