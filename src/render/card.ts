/**
 * The token card: hover a token (or focus it with the keyboard) and, after a short delay, a
 * card tells its id, text, piece, bytes, characters and, fetched lazily from the tokenizer,
 * why it exists: for BPE its merge rank and the two tokens it was merged from, for Unigram
 * its score, for WordPiece whether it continues a word. Click pins the card; Escape closes it.
 *
 * Keyboard: each token row is one tab stop; arrow keys move between tokens (roving focus),
 * Enter pins the card, Escape closes it.
 */
import { hueForId } from './colors';
import { chip } from './chips';
import { ResultText } from './context';
import { div, span } from './dom';
import { markerSentence, markersOf } from './markers';
import { displayBytes, visibleString } from './text';
import { IExplainer, IExplanation } from './types';

const HOVER_DELAY_MS = 350;
const HIDE_DELAY_MS = 200;
/** Tokens that can take focus and show a card. */
const ITEM = '.tl-token[data-index], .tl-bar[data-index]';
/** Among them, what arrow keys step through (not the continuation of a bar). */
const STEP = '.tl-token[data-index], .tl-bar[data-index]:not(.tl-cont)';

export class TokenCard {
  constructor(
    private root: HTMLElement,
    private contexts: Map<number, ResultText>,
    private explainer: IExplainer | null
  ) {
    root.addEventListener('mouseover', this.onOver);
    root.addEventListener('mouseout', this.onOut);
    root.addEventListener('click', this.onClick);
    root.addEventListener('keydown', this.onKey);
    root.addEventListener('focusin', this.onFocus);
  }

  dispose(): void {
    this.root.removeEventListener('mouseover', this.onOver);
    this.root.removeEventListener('mouseout', this.onOut);
    this.root.removeEventListener('click', this.onClick);
    this.root.removeEventListener('keydown', this.onKey);
    this.root.removeEventListener('focusin', this.onFocus);
    this.hide();
    this.card?.remove();
    this.card = null;
  }

  /**
   * New results shown in place: look tokens up in these from now on. An open card stays only
   * while its token element is still in the view (a kept block); otherwise it closes.
   */
  setContexts(contexts: Map<number, ResultText>): void {
    this.contexts = contexts;
    if (this.target && !this.root.contains(this.target)) {
      this.hide();
    }
  }

  /** Show the card of a token element now; `pin` keeps it until Escape or a click elsewhere. */
  show(item: HTMLElement, pin = false): void {
    const found = this.lookup(item);
    if (!found) {
      return;
    }
    this.clearTimers();
    const { ctx, i } = found;
    const card = this.ensureCard();
    if (this.target !== item || card.hidden) {
      this.fill(card, ctx, i);
    }
    this.target = item;
    this.pinned = pin || this.pinned;
    card.dataset.pinned = String(this.pinned);
    card.hidden = false;
    this.place();
    if (this.pinned) {
      document.addEventListener('mousedown', this.onOutside, true);
    }
    document.addEventListener('keydown', this.onDocKey, true);
    window.addEventListener('scroll', this.onScroll, true);
  }

  hide(): void {
    this.clearTimers();
    if (this.card) {
      this.card.hidden = true;
    }
    this.target = null;
    this.pinned = false;
    document.removeEventListener('mousedown', this.onOutside, true);
    document.removeEventListener('keydown', this.onDocKey, true);
    window.removeEventListener('scroll', this.onScroll, true);
  }

  private onOver = (event: MouseEvent): void => {
    const item = itemOf(event.target);
    if (!item || this.pinned) {
      return;
    }
    this.clearTimers();
    if (this.target && this.card && !this.card.hidden) {
      // A card is open: follow the pointer without the delay.
      this.show(item);
      return;
    }
    this.showTimer = window.setTimeout(() => this.show(item), HOVER_DELAY_MS);
  };

  private onOut = (event: MouseEvent): void => {
    const item = itemOf(event.target);
    if (!item || this.pinned) {
      return;
    }
    const to = event.relatedTarget as Node | null;
    if (to && (item.contains(to) || this.card?.contains(to))) {
      return;
    }
    this.clearTimers();
    this.hideTimer = window.setTimeout(() => this.hide(), HIDE_DELAY_MS);
  };

  private onClick = (event: MouseEvent): void => {
    const item = itemOf(event.target);
    if (!item) {
      return;
    }
    if (this.pinned && this.target === item) {
      this.hide();
      return;
    }
    this.focusItem(item);
    this.pinned = false;
    this.show(item, true);
  };

  private onFocus = (event: FocusEvent): void => {
    const target = event.target as HTMLElement;
    if (target.classList?.contains('tl-roving')) {
      // Tab reached a token row: hand focus to its current (or first visible) token.
      const item = this.current.get(target);
      const next =
        item && item.isConnected && target.contains(item)
          ? item
          : firstVisible(target);
      if (next) {
        this.focusItem(next);
      }
      return;
    }
    const item = itemOf(target);
    if (item && !this.pinned && event.target === item) {
      this.clearTimers();
      this.showTimer = window.setTimeout(() => this.show(item), HOVER_DELAY_MS);
    }
  };

  private onKey = (event: KeyboardEvent): void => {
    const item = itemOf(event.target);
    if (!item) {
      return;
    }
    const row = item.closest('.tl-roving') as HTMLElement | null;
    let next: HTMLElement | null = null;
    switch (event.key) {
      case 'ArrowRight':
      case 'ArrowDown':
        next = row ? step(row, item, 1) : null;
        break;
      case 'ArrowLeft':
      case 'ArrowUp':
        next = row ? step(row, item, -1) : null;
        break;
      case 'Home':
        next = row ? (row.querySelector(STEP) as HTMLElement | null) : null;
        break;
      case 'End': {
        const all = row ? row.querySelectorAll(STEP) : null;
        next = all && all.length ? (all[all.length - 1] as HTMLElement) : null;
        break;
      }
      case 'Enter':
      case ' ':
        event.preventDefault();
        if (this.pinned && this.target === item) {
          this.hide();
        } else {
          this.show(item, true);
        }
        return;
      case 'Escape':
        this.hide();
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next) {
      const wasOpen = this.card !== null && !this.card.hidden;
      const pinned = this.pinned;
      this.focusItem(next);
      if (wasOpen) {
        this.pinned = false;
        this.show(next, pinned);
      }
    }
  };

  private onDocKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.card && !this.card.hidden) {
      const target = this.target;
      event.stopPropagation();
      this.hide();
      if (
        target?.isConnected &&
        this.root.contains(document.activeElement) === false
      ) {
        target.focus();
      }
    }
  };

  private onOutside = (event: MouseEvent): void => {
    const node = event.target as Node;
    if (
      this.card?.contains(node) ||
      (itemOf(node) && this.root.contains(node))
    ) {
      return;
    }
    this.hide();
  };

  private onScroll = (): void => {
    if (!this.target || !this.target.isConnected) {
      this.hide();
    } else if (this.pinned) {
      this.place();
    } else {
      this.hide();
    }
  };

  /** Make `item` the row's one tab stop and focus it. */
  private focusItem(item: HTMLElement): void {
    const row = item.closest('.tl-roving') as HTMLElement | null;
    if (row) {
      const old = this.current.get(row);
      if (old && old !== item) {
        old.removeAttribute('tabindex');
      }
      this.current.set(row, item);
      row.tabIndex = -1;
      // When the token's block is dropped from the DOM (scrolled far away), the row is the stop again.
      item.addEventListener(
        'blur',
        () => {
          if (!item.isConnected || !row.contains(item)) {
            row.tabIndex = 0;
          }
        },
        { once: true }
      );
    }
    item.tabIndex = 0;
    item.focus({ preventScroll: false });
  }

  private lookup(item: HTMLElement): { ctx: ResultText; i: number } | null {
    const holder = item.closest('[data-r]') as HTMLElement | null;
    const ctx = holder
      ? this.contexts.get(Number(holder.dataset.r))
      : undefined;
    const i = Number(item.dataset.index);
    if (!ctx || !Number.isInteger(i) || i < 0 || i >= ctx.nTokens) {
      return null;
    }
    return { ctx, i };
  }

  private ensureCard(): HTMLElement {
    if (!this.card) {
      this.card = div('tl-card');
      this.card.setAttribute('role', 'dialog');
      this.card.setAttribute('aria-label', 'Token details');
      this.card.hidden = true;
      this.card.addEventListener('mouseenter', () => this.clearTimers());
      this.card.addEventListener('mouseleave', () => {
        if (!this.pinned) {
          this.hideTimer = window.setTimeout(() => this.hide(), HIDE_DELAY_MS);
        }
      });
      // In the body, so no output area or panel clips it; themes reach it through body's attributes.
      document.body.appendChild(this.card);
    }
    return this.card;
  }

  /** Put the card under its token, or above when there is no room below. */
  private place(): void {
    const card = this.card;
    const target = this.target;
    if (!card || !target) {
      return;
    }
    const r = target.getBoundingClientRect();
    const w = card.offsetWidth;
    const h = card.offsetHeight;
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    let top = r.bottom + 6;
    if (top + h > vh - 4 && r.top - h - 6 >= 4) {
      top = r.top - h - 6;
    }
    const left = Math.max(4, Math.min(r.left, vw - w - 4));
    card.style.left = `${Math.round(left)}px`;
    card.style.top = `${Math.round(Math.max(4, top))}px`;
  }

  /** Everything the payload knows now; the explanation fills in the rest when it comes. */
  private fill(card: HTMLElement, ctx: ResultText, i: number): void {
    const { result } = ctx;
    const id = result.ids[i];
    const display = ctx.display(i);
    const [s, e] = ctx.span(i);
    card.replaceChildren();
    card.dataset.tokenizer = result.tokenizer;
    card.dataset.id = String(id);
    card.dataset.index = String(i);
    card.style.setProperty('--tl-id-hue', String(hueForId(id)));

    const head = div('tl-card-head');
    head.append(
      chip(id, display, { cls: 'tl-card-chip', showId: false }),
      span('tl-card-id', `id ${id}`)
    );
    const where = [result.tokenizer, result.model].filter(Boolean).join(' · ');
    head.appendChild(span('tl-card-where', where));
    card.appendChild(head);

    const rows = cardRows();
    card.appendChild(rows);
    const row = (
      label: string,
      cls: string,
      value: string | Node
    ): HTMLElement => cardRow(rows, label, cls, value);

    row('text', 'tl-card-display', quoted(visibleString(display)));
    row('piece', 'tl-card-piece', ctx.piece(i));
    if (!ctx.isSpecial(i)) {
      for (const m of markersOf(ctx.piece(i))) {
        row('marker', 'tl-card-marker', markerSentence(m));
      }
    }
    const bytes = row('bytes', 'tl-card-bytes', displayBytes(display));
    if (ctx.isSpecial(i)) {
      row(
        'special',
        'tl-card-special',
        'a special token: added by the tokenizer, not spelled by the text'
      );
    } else if (e > s) {
      row(
        'chars',
        'tl-card-span',
        `${s}–${e}  ${quoted(visibleString(ctx.slice(s, e)))}`
      );
    } else {
      row('chars', 'tl-card-span', `none of its own (at ${s})`);
    }
    const seg = ctx.segments[ctx.segmentOfToken(i)];
    if (seg && seg[3] - seg[2] > 1 && seg[1] > seg[0]) {
      row(
        'character',
        'tl-card-group',
        `token ${i - seg[2] + 1} of ${seg[3] - seg[2]} that spell ${quoted(visibleString(ctx.slice(seg[0], seg[1])))}`
      );
    }
    if (ctx.isUnknown(i)) {
      row(
        'unknown',
        'tl-card-unknown',
        `no token in the vocabulary for ${quoted(ctx.slice(s, e))}`
      );
    }

    const more = div('tl-card-more');
    card.appendChild(more);
    if (!this.explainer) {
      return;
    }
    card.dataset.state = 'loading';
    more.textContent = 'Asking the tokenizer…';
    const ask = ++this.asked;
    this.explainer
      .explain(result.tokenizer, [id])
      .then(list => {
        if (ask !== this.asked || !card.isConnected) {
          return;
        }
        const ex = list[0];
        more.replaceChildren();
        card.dataset.state = 'ready';
        if (!ex) {
          more.textContent =
            'The tokenizer told nothing more about this token.';
          return;
        }
        if (ex.bytes) {
          bytes.textContent = ex.bytes;
        }
        explanationRows(more, ex);
        this.place();
      })
      .catch(error => {
        if (ask !== this.asked || !card.isConnected) {
          return;
        }
        card.dataset.state = 'error';
        more.textContent =
          error instanceof Error ? error.message : String(error);
      });
  }

  private clearTimers(): void {
    window.clearTimeout(this.showTimer);
    window.clearTimeout(this.hideTimer);
    this.showTimer = 0;
    this.hideTimer = 0;
  }

  private card: HTMLElement | null = null;
  private target: HTMLElement | null = null;
  private pinned = false;
  private showTimer = 0;
  private hideTimer = 0;
  private asked = 0;
  private current = new WeakMap<HTMLElement, HTMLElement>();
}

/** The card's list of labelled rows. */
function cardRows(): HTMLDListElement {
  const rows = document.createElement('dl');
  rows.className = 'tl-card-rows';
  return rows;
}

/** One row of the card: its label, and its value (text or a node) in an element of class `cls`. */
function cardRow(
  rows: HTMLElement,
  label: string,
  cls: string,
  value: string | Node
): HTMLElement {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.className = cls;
  if (typeof value === 'string') {
    dd.textContent = value;
  } else {
    dd.appendChild(value);
  }
  rows.append(dt, dd);
  return dd;
}

/** The model-specific part: merge rank and parents, score, continuation. */
function explanationRows(parent: HTMLElement, ex: IExplanation): void {
  const rows = cardRows();
  const row = (label: string, cls: string, value: string | Node): void => {
    cardRow(rows, label, cls, value);
  };
  const model = ex.model || '';
  if (ex.rank !== null && ex.rank !== undefined) {
    row(
      model === 'BPE' || ex.kind === 'tiktoken' ? 'merge rank' : 'rank',
      'tl-card-rank',
      String(ex.rank)
    );
  }
  if (ex.parents && ex.parents.length > 0) {
    const merge = span('tl-card-merge');
    ex.parents.forEach((p, k) => {
      if (k > 0) {
        merge.appendChild(span('tl-card-op', '+'));
      }
      merge.appendChild(
        parentChip(p.display ?? p.piece, p.piece, p.id, p.rank)
      );
    });
    merge.appendChild(span('tl-card-op', '→'));
    merge.appendChild(parentChip(ex.display, ex.piece, ex.id, ex.rank));
    row('merged from', 'tl-card-parents', merge);
  } else if (model === 'BPE' && !ex.special && !ex.unknown) {
    row(
      'merged from',
      'tl-card-parents tl-card-base',
      'nothing: a base symbol of the vocabulary'
    );
  }
  if (ex.score !== null && ex.score !== undefined) {
    row('score', 'tl-card-score', ex.score.toFixed(3));
  }
  if (ex.continuation !== null && ex.continuation !== undefined) {
    row(
      'word',
      'tl-card-continuation',
      ex.continuation ? 'continues a word (## piece)' : 'starts a word'
    );
  }
  if (ex.unknown) {
    row(
      'unknown',
      'tl-card-unknown',
      'the unknown token: the vocabulary cannot spell these characters'
    );
  }
  if (rows.childElementCount > 0) {
    parent.appendChild(rows);
  }
}

function parentChip(
  display: string,
  piece: string,
  id: number | null,
  rank: number | null
): HTMLElement {
  const known = id !== null && id !== undefined;
  const el = chip(known ? id : null, display, {
    cls: known ? 'tl-card-parent' : 'tl-card-parent tl-card-parent-unknown'
  });
  el.title = `piece ${JSON.stringify(piece)}${rank !== null && rank !== undefined ? `, rank ${rank}` : ''}`;
  return el;
}

function quoted(s: string): string {
  return `“${s}”`;
}

function itemOf(target: EventTarget | null): HTMLElement | null {
  const el =
    target instanceof Element
      ? target
      : ((target as Node | null)?.parentElement ?? null);
  return el ? (el.closest(ITEM) as HTMLElement | null) : null;
}

/** The next (or previous) token in the row, in reading order, for the same tokenizer. */
function step(
  row: HTMLElement,
  item: HTMLElement,
  delta: number
): HTMLElement | null {
  const lane = (item.closest('[data-r]') as HTMLElement | null)?.dataset.r;
  const items = Array.from(row.querySelectorAll<HTMLElement>(STEP)).filter(
    el => (el.closest('[data-r]') as HTMLElement | null)?.dataset.r === lane
  );
  const at = items.indexOf(item);
  const next = items[at + delta];
  return next ?? null;
}

/** The first token of `row` that is inside its visible box (or the first one at all). */
function firstVisible(row: HTMLElement): HTMLElement | null {
  const box = row.getBoundingClientRect();
  for (const el of Array.from(row.querySelectorAll<HTMLElement>(STEP))) {
    const r = el.getBoundingClientRect();
    if (r.bottom > box.top && r.top < box.bottom) {
      return el;
    }
  }
  return row.querySelector(STEP) as HTMLElement | null;
}
