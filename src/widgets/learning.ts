/**
 * Shared pieces of the learning views (pipeline and predictions): the JSON shapes sent by
 * tokenlens.pipeline_view and tokenlens.predict, token chips in the token view's palette, text
 * drawn one code point per element (so offsets from Python index it), and linked highlighting.
 */
import { hueForId } from '../render/colors';
import { div, span } from '../render/dom';
import { appendDisplay, appendVisible, hasHex } from '../render/text';

/** The part of anywidget's model API these views use. */
export interface ILearningModel {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  send?(content: unknown, callbacks?: unknown, buffers?: unknown): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

/** A run of a stage's output: unchanged (`same`) or changed (`was` → `now`). */
export interface IDiffRun {
  same?: string;
  was?: string;
  now?: string;
}

/** One stage of `Pipeline.to_dict()`; which fields are present depends on `stage`. */
export interface IStage {
  stage: string;
  what: string;
  output?: string;
  diff?: IDiffRun[];
  changes?: { was: string; now: string }[];
  pieces?: [string, [number, number]][] | string[];
  tokens?: string[];
  ids?: number[];
  spans?: [number, number][];
  special?: boolean[];
  round_trip?: boolean;
}

/** One candidate next token. */
export interface ICandidate {
  id: number;
  token: string;
  prob: number;
}

/** `Position.to_dict()`. */
export interface IPosition {
  index: number;
  id: number;
  token: string;
  top: ICandidate[];
  actual_next_prob: number | null;
  actual_next_rank: number | null;
  /** Characters [start, end) (code points) the token belongs to; byte tokens share one. */
  span?: [number, number] | null;
}

/** One step of a continuation: the chosen token and the continuation decoded so far. */
export interface IStep {
  id: number;
  token: string;
  prob: number;
  /** Whole characters only; `pending`: the last token(s) hold part of a character still. */
  text: string;
  pending?: boolean;
}

/** `Generation.to_dict()`. */
export interface IGeneration {
  prompt: string;
  text: string;
  steps: IStep[];
  model: string;
  greedy: boolean;
  stopped: 'length' | 'eos' | 'context' | string;
}

/** A token chip in the token view's palette (`render.css`): hue by id, id underneath. */
export function chip(id: number, display: string, special = false, showId = true): HTMLElement {
  const el = span('tl-token');
  el.style.setProperty('--tl-id-hue', String(hueForId(id)));
  if (showId) {
    el.dataset.id = String(id);
  }
  if (special) {
    el.classList.add('tl-special');
  } else if (hasHex(display)) {
    el.classList.add('tl-bytes');
  }
  const text = span('tl-token-text');
  appendDisplay(text, display);
  el.appendChild(text);
  return el;
}

/** Above this many code points a text is drawn whole, not one element per character. */
export const MAX_CHAR_ELEMENTS = 5000;

/**
 * `text` drawn one code point per element (`data-at` = its Python index), whitespace made
 * visible; returns the elements, so a range can be highlighted. Long texts are drawn whole.
 */
export function charSpans(parent: HTMLElement, text: string, offset = 0): HTMLElement[] {
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
export function markRange(chars: HTMLElement[], lo: number, hi: number, cls = 'tl-lit'): void {
  chars.forEach((el, k) => el.classList.toggle(cls, k >= lo && k < hi));
}

export function clearMarks(root: HTMLElement, cls = 'tl-lit'): void {
  root.querySelectorAll(`.${cls}`).forEach(el => el.classList.remove(cls));
}

/** Hover and keyboard focus both call `on`; leaving and blurring call `off`. */
export function onPoint(el: HTMLElement, on: () => void, off: () => void): void {
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
export function section(cls: string, title: string): [HTMLElement, HTMLElement] {
  const box = div(`tl-learn-section ${cls}`);
  const head = div('tl-learn-title');
  head.textContent = title;
  const body = div('tl-learn-body');
  box.append(head, body);
  return [box, body];
}
