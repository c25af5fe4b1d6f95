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
import { IDrawn, stackedResult } from './stacked';
import {
  IRenderOptions,
  ITokenizeError,
  ITokenizePayload,
  isError
} from './types';

export type { MessageKind };

/** Cleanups of the current render, by the element it draws into. */
const pending = new WeakMap<HTMLElement, () => void>();

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
}

/** Show or hide token ids without re-rendering. */
export function setShowIds(el: HTMLElement, show: boolean): void {
  el.classList.toggle('tl-hide-ids', !show);
}

/** Apply the options that are only a matter of style: ids, whitespace marks, colour rule. */
export function setDisplayOptions(el: HTMLElement, options: IRenderOptions): void {
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

  const aligned = ok.length >= 2 && (options.layout ?? 'aligned') === 'aligned' && canAlign(ok);
  el.dataset.layout = ok.length >= 2 ? (aligned ? 'aligned' : 'stacked') : 'single';
  if (ok.length >= 2) {
    const compare = div('tl-compare');
    compare.appendChild(countsTable(ok));
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
  pending.set(el, () => {
    card.dispose();
    for (const d of drawn) {
      d.dispose();
    }
  });
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
