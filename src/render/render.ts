/**
 * The one renderer: the side panel and the notebook widget both call renderResults, so the
 * same text and tokenizer look the same everywhere.
 *
 * One result: its chips (stacked.ts). Two or more on the same text: a counts table and the
 * aligned view (aligned.ts), or their chips one block under the other ('stacked'). Long
 * results draw only what is near the visible part (virtual.ts). Display options that need no
 * redraw (ids, whitespace, colours) are classes on the root (setDisplayOptions).
 */
import { alignedView, canAlign, countsTable } from './aligned';
import { TokenCard } from './card';
import { ResultText } from './context';
import { div, MessageKind, messageBox, span } from './dom';
import { markerLegend } from './markers';
import { IDrawn, stackedResult } from './stacked';
import {
  IRenderOptions,
  ITokenizeError,
  ITokenizePayload,
  ITokenizeResult,
  isError
} from './types';

export type { MessageKind };

/** Cleanups of the current render, by the element it draws into. */
const pending = new WeakMap<HTMLElement, () => void>();

/** What was drawn into an element last, so the next results can be shown in place. */
interface IShown {
  /** Everything but the results' content that decides the drawing's structure. */
  shape: string;
  views: IDrawn[];
  card: TokenCard;
}
const shown = new WeakMap<HTMLElement, IShown>();

/** Replace the content of `el` with one message box. */
export function renderMessage(
  el: HTMLElement,
  text: string,
  kind: MessageKind = 'info'
): HTMLElement {
  cancelRender(el);
  el.replaceChildren();
  const box = messageBox(text, kind);
  el.appendChild(box);
  return box;
}

/** Stop what a render into `el` still runs (observers, the card). */
export function cancelRender(el: HTMLElement): void {
  const cancel = pending.get(el);
  if (cancel) {
    cancel();
    pending.delete(el);
  }
  shown.delete(el);
}

/** Show or hide token ids without re-rendering. */
export function setShowIds(el: HTMLElement, show: boolean): void {
  el.classList.toggle('tl-hide-ids', !show);
}

/** Apply the options that are only a matter of style: ids, whitespace marks, colour rule. */
export function setDisplayOptions(
  el: HTMLElement,
  options: IRenderOptions
): void {
  setShowIds(el, options.showIds ?? true);
  el.classList.toggle('tl-hide-ws', options.showWhitespace === false);
  el.classList.toggle('tl-color-position', options.colorBy === 'position');
}

/**
 * Replace the content of `el` with the results.
 *
 * What is visible is drawn before this returns; the rest of a long text is drawn as it
 * scrolls into view, so a 1 MB text never freezes the page.
 */
export function renderResults(
  el: HTMLElement,
  payload: ITokenizePayload,
  options: IRenderOptions = {}
): void {
  if (renderInPlace(el, payload, options)) {
    return;
  }
  cancelRender(el);
  el.replaceChildren();
  el.classList.add('tl-root');
  setDisplayOptions(el, options);
  const virtualize = options.virtualize ?? true;

  const contexts = new Map<number, ResultText>();
  const ok: ResultText[] = [];
  const drawn: IDrawn[] = [];
  (payload.results ?? []).forEach((result, r) => {
    if (isError(result)) {
      el.appendChild(errorBlock(result));
    } else {
      const ctx = new ResultText(result, r);
      contexts.set(r, ctx);
      ok.push(ctx);
    }
  });

  const aligned =
    ok.length >= 2 &&
    (options.layout ?? 'aligned') === 'aligned' &&
    canAlign(ok);
  el.dataset.layout =
    ok.length >= 2 ? (aligned ? 'aligned' : 'stacked') : 'single';
  if (ok.length >= 2) {
    const compare = div('tl-compare');
    compare.appendChild(countsTable(ok));
    if (!aligned) {
      // The aligned view has the legend; one under the other, the markers are told here.
      const markers = markerLegend(ok);
      if (markers) {
        compare.appendChild(markers);
      }
    }
    if (aligned) {
      const view = alignedView(ok, virtualize);
      compare.appendChild(view.root);
      drawn.push(view);
    }
    el.appendChild(compare);
  }
  if (!aligned) {
    for (const ctx of ok) {
      const block = stackedResult(ctx, virtualize);
      el.appendChild(block.root);
      drawn.push(block);
    }
  }

  const card = new TokenCard(el, contexts, options.explainer ?? null);
  el.dataset.rendered = 'complete';
  el.dataset.drawnInPlace = 'false';
  pending.set(el, () => {
    card.dispose();
    for (const d of drawn) {
      d.dispose();
    }
  });
  if (!aligned && ok.length === (payload.results ?? []).length) {
    shown.set(el, { shape: shapeOf(payload, options), views: drawn, card });
  }
}

/** What must stay the same for results to be shown in place: tokenizers in order, options. */
function shapeOf(payload: ITokenizePayload, options: IRenderOptions): string {
  const names = (payload.results ?? []).map(r => r.tokenizer);
  return JSON.stringify([
    names,
    options.virtualize ?? true,
    options.layout ?? 'aligned'
  ]);
}

/**
 * New results for the tokenizers already shown one under the other (the panel while someone
 * types): each result keeps the blocks before its first change and redraws the rest, so a
 * keystroke at the end of a long cell costs a few lines of chips, not the whole view.
 */
function renderInPlace(
  el: HTMLElement,
  payload: ITokenizePayload,
  options: IRenderOptions
): boolean {
  const last = shown.get(el);
  const results = payload.results ?? [];
  if (
    !last ||
    last.shape !== shapeOf(payload, options) ||
    results.some(isError) ||
    !last.views.every(v => el.contains(v.root)) // someone emptied the element meanwhile
  ) {
    return false;
  }
  if (results.length !== 1 && (options.layout ?? 'aligned') === 'aligned') {
    return false; // the aligned view (several results) is drawn anew
  }
  const contexts = results.map(
    (r, i) => new ResultText(r as ITokenizeResult, i)
  );
  if (!contexts.every((ctx, i) => last.views[i]?.update?.(ctx))) {
    return false; // a view may have changed already: the caller draws everything anew
  }
  if (contexts.length >= 2) {
    const counts = countsTable(contexts);
    el.querySelector('.tl-counts-wrap')?.replaceWith(counts);
    // The markers' legend follows the new pieces (a typed ## or Ġ piece adds its line).
    el.querySelector('.tl-compare > .tl-markers')?.remove();
    const markers = markerLegend(contexts);
    if (markers) {
      counts.after(markers);
    }
  }
  setDisplayOptions(el, options);
  last.card.setContexts(new Map(contexts.map(c => [c.r, c])));
  el.dataset.drawnInPlace = 'true';
  return true;
}

function errorBlock(result: ITokenizeError): HTMLElement {
  const root = div('tl-result tl-result-error');
  root.dataset.tokenizer = result.tokenizer;
  root.dataset.rendered = 'complete';
  const header = div('tl-result-header');
  header.appendChild(span('tl-name', result.tokenizer));
  root.appendChild(header);
  root.appendChild(messageBox(result.error, 'error'));
  return root;
}
