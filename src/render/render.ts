/**
 * The one renderer: the side panel and the notebook widget both call renderResults,
 * so the same text and tokenizer look the same everywhere.
 */
import { hueForId } from './colors';
import { codePointIndex, sliceCodePoints } from './offsets';
import {
  IRenderOptions,
  ITokenizeError,
  ITokenizePayload,
  ITokenizeResult,
  isError
} from './types';

/** Tokens drawn at once before yielding to the browser. */
const DEFAULT_CHUNK = 2000;

/** Raw bytes of a character split across tokens, shown by the server as e.g. "<E0 AC>". */
const HEX_RUN = /(<[0-9A-F]{2}(?: [0-9A-F]{2})*>)/;

/** Characters that draw nothing on their own (format and control characters). */
const INVISIBLE = /^[\p{Cf}\p{Cc}\p{Zl}\p{Zp}]$/u;

/** Short names for the invisible characters met most in tokenizer output. */
const INVISIBLE_NAMES: Record<string, string> = {
  '\u00a0': 'NBSP',
  '\u00ad': 'SHY',
  '\u200b': 'ZWSP',
  '\u200c': 'ZWNJ',
  '\u200d': 'ZWJ',
  '\u2060': 'WJ',
  '\ufeff': 'BOM'
};

/** Visible stand-ins for whitespace inside a token. */
const WHITESPACE: Record<string, string> = {
  ' ': '·',
  '\n': '↵',
  '\t': '→',
  '\r': '␍'
};

/** Pending chunked renders, by the element they draw into, so a new render can cancel the old. */
const pending = new WeakMap<HTMLElement, () => void>();

export type MessageKind = 'error' | 'warning' | 'info';

/**
 * Replace the content of `el` with one message box.
 */
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

/** Stop any chunked render still running into `el`. */
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

/**
 * Replace the content of `el` with one block per tokenizer result.
 *
 * The first `chunkSize` tokens of every result are drawn at once; the rest follow
 * in animation-frame batches so a long text never freezes the page.
 */
export function renderResults(
  el: HTMLElement,
  payload: ITokenizePayload,
  options: IRenderOptions = {}
): void {
  cancelRender(el);
  const chunk = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
  el.replaceChildren();
  el.classList.add('tl-root');
  setShowIds(el, options.showIds ?? true);

  const jobs: TokenRowJob[] = [];
  for (const result of payload.results ?? []) {
    if (isError(result)) {
      el.appendChild(errorBlock(result));
    } else {
      const block = resultBlock(result);
      el.appendChild(block.root);
      jobs.push(new TokenRowJob(result, block.root, block.row));
    }
  }

  // First batch now, so short texts appear in one go.
  for (const job of jobs) {
    job.draw(chunk);
  }
  let remaining = jobs.filter(job => !job.done);
  if (remaining.length === 0) {
    el.dataset.rendered = 'complete';
    return;
  }
  el.dataset.rendered = 'partial';

  let handle = 0;
  let cancelled = false;
  const step = (): void => {
    if (cancelled) {
      return;
    }
    let budget = chunk;
    for (const job of remaining) {
      budget -= job.draw(budget);
      if (budget <= 0) {
        break;
      }
    }
    remaining = remaining.filter(job => !job.done);
    if (remaining.length === 0) {
      el.dataset.rendered = 'complete';
      pending.delete(el);
    } else {
      handle = schedule(step);
    }
  };
  handle = schedule(step);
  pending.set(el, () => {
    cancelled = true;
    unschedule(handle);
  });
}

/** Draws one result's tokens in order, a batch at a time. */
class TokenRowJob {
  constructor(
    private result: ITokenizeResult,
    private root: HTMLElement,
    private row: HTMLElement
  ) {
    this.text = result.text ?? '';
    this.index = codePointIndex(this.text);
    this.nChars = this.index.length - 1;
  }

  get done(): boolean {
    return this.next >= this.total;
  }

  /** Draw about `limit` tokens (a character's byte pieces stay together); returns how many. */
  draw(limit: number): number {
    const end = Math.min(this.total, this.next + limit);
    const frag = document.createDocumentFragment();
    let i = this.next;
    while (i < end) {
      const [start] = this.span(i);
      if (start > this.cursor) {
        frag.appendChild(gap(sliceCodePoints(this.text, this.index, this.cursor, start)));
      }
      const last = this.groupEnd(i);
      if (last > i) {
        frag.appendChild(this.group(i, last));
        i = last;
      } else {
        this.chipInto(frag, i);
        i++;
      }
    }
    const drawn = i - this.next;
    this.next = i;
    if (this.done && this.cursor < this.nChars) {
      frag.appendChild(gap(sliceCodePoints(this.text, this.index, this.cursor, this.nChars)));
      this.cursor = this.nChars;
    }
    this.row.appendChild(frag);
    this.root.dataset.rendered = this.done ? 'complete' : 'partial';
    return drawn;
  }

  private span(i: number): [number, number] {
    return this.result.spans[i] ?? [this.cursor, this.cursor];
  }

  private isBytes(i: number): boolean {
    return !this.result.special?.[i] && HEX_RUN.test(this.result.tokens[i] ?? '');
  }

  /**
   * A token carrying the first bytes of a character, plus the byte tokens that only
   * continue it (empty spans at its end), form one group shown under that character.
   * Returns the index after the group, or `i` when token i starts no group.
   */
  private groupEnd(i: number): number {
    const [start, stop] = this.span(i);
    if (stop <= start || !this.isBytes(i)) {
      return i;
    }
    let j = i + 1;
    while (j < this.total && this.isBytes(j)) {
      const [s, e] = this.span(j);
      if (s !== stop || e !== stop) {
        break;
      }
      j++;
    }
    return j;
  }

  /** The characters a byte-token group spells, drawn above its chips. */
  private group(first: number, end: number): HTMLElement {
    const [start, stop] = this.span(first);
    const el = span('tl-group');
    el.title = `chars ${start}–${stop}: ${end - first} tokens`;
    const chars = span('tl-group-text');
    appendVisible(chars, sliceCodePoints(this.text, this.index, start, stop));
    const chips = span('tl-group-tokens');
    for (let k = first; k < end; k++) {
      chips.appendChild(this.chip(k));
    }
    el.append(chars, chips);
    this.cursor = Math.max(this.cursor, stop);
    return el;
  }

  private chipInto(parent: Node, i: number): void {
    parent.appendChild(this.chip(i));
    // A newline inside a token also breaks the line of chips, so the text keeps its shape.
    for (let n = countNewlines(this.result.tokens[i] ?? ''); n > 0; n--) {
      parent.appendChild(lineBreak());
    }
    this.cursor = Math.max(this.cursor, this.span(i)[1]);
  }

  private chip(i: number): HTMLElement {
    const { ids, tokens, special, pieces } = this.result;
    const [start, stop] = this.span(i);
    const display = tokens[i] ?? '';
    return tokenChip(i, ids[i], display, pieces?.[i] ?? display, start, stop, special?.[i] ?? false);
  }

  private get total(): number {
    return this.result.ids?.length ?? 0;
  }

  private text: string;
  private index: Uint32Array;
  private nChars: number;
  private next = 0;
  private cursor = 0;
}

function resultBlock(result: ITokenizeResult): { root: HTMLElement; row: HTMLElement } {
  const root = div('tl-result');
  root.dataset.tokenizer = result.tokenizer;
  root.dataset.kind = result.kind ?? '';
  root.dataset.nTokens = String(result.n_tokens);

  const header = div('tl-result-header');
  header.appendChild(span('tl-name', result.tokenizer));
  const kind = [result.kind, result.model].filter(Boolean).join(' · ');
  if (kind) {
    header.appendChild(span('tl-kind', kind));
  }
  const perToken = result.n_tokens > 0 ? (result.n_chars / result.n_tokens).toFixed(2) : '–';
  const stats = span('tl-stats');
  stats.append(
    stat('tl-count', result.n_tokens, result.n_tokens === 1 ? 'token' : 'tokens'),
    stat('tl-chars', result.n_chars, 'chars'),
    stat('tl-bytes', result.n_bytes, 'bytes'),
    stat('tl-ratio', perToken, 'chars/token')
  );
  header.appendChild(stats);
  root.appendChild(header);

  const row = div('tl-tokens');
  row.setAttribute('role', 'group');
  row.setAttribute('aria-label', `Tokens of ${result.tokenizer}`);
  root.appendChild(row);
  return { root, row };
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

function tokenChip(
  index: number,
  id: number,
  display: string,
  piece: string,
  start: number,
  stop: number,
  isSpecial: boolean
): HTMLElement {
  const chip = span('tl-token');
  chip.dataset.id = String(id);
  chip.dataset.index = String(index);
  chip.style.setProperty('--tl-hue', String(hueForId(id)));
  const notes: string[] = [];
  if (isSpecial) {
    chip.classList.add('tl-special');
    notes.push('special token');
  } else if (HEX_RUN.test(display)) {
    chip.classList.add('tl-bytes');
    notes.push('bytes of a character split across tokens');
  }
  const spanText = stop > start ? `chars ${start}–${stop}` : `at char ${start} (no text of its own)`;
  chip.title = [`id ${id}`, `piece ${JSON.stringify(piece)}`, spanText, ...notes].join('\n');

  const text = span('tl-token-text');
  if (display.length === 0) {
    text.appendChild(span('tl-ws', '∅'));
  } else {
    // Odd parts of the split are hex runs: bytes, not text.
    display.split(HEX_RUN).forEach((part, k) => {
      if (k % 2 === 1) {
        text.appendChild(span('tl-hex', part.slice(1, -1)));
      } else if (part) {
        appendVisible(text, part);
      }
    });
  }
  chip.appendChild(text);
  chip.appendChild(span('tl-token-id', String(id)));
  return chip;
}

/** Append `s` with whitespace made visible. */
function appendVisible(parent: HTMLElement, s: string): void {
  let plain = '';
  for (const ch of s) {
    let mark = WHITESPACE[ch];
    let cls = 'tl-ws';
    if (mark === undefined && (ch in INVISIBLE_NAMES || INVISIBLE.test(ch))) {
      const code = (ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
      mark = INVISIBLE_NAMES[ch] ?? `U+${code}`;
      cls = 'tl-ws tl-invisible';
    }
    if (mark === undefined) {
      plain += ch;
      continue;
    }
    if (plain) {
      parent.appendChild(document.createTextNode(plain));
      plain = '';
    }
    parent.appendChild(span(cls, mark));
  }
  if (plain) {
    parent.appendChild(document.createTextNode(plain));
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) {
    n++;
  }
  return n;
}

/** Text no token covers (e.g. the spaces BERT drops), shown dim so the text reads whole. */
function gap(text: string): HTMLElement {
  return span('tl-gap', text);
}

function lineBreak(): HTMLElement {
  const br = document.createElement('br');
  br.className = 'tl-break';
  return br;
}

function messageBox(text: string, kind: MessageKind): HTMLElement {
  const box = div(`tl-message tl-message-${kind}`);
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.textContent = text;
  return box;
}

function stat(cls: string, value: number | string, unit: string): HTMLElement {
  const el = span(`tl-stat ${cls}`);
  el.appendChild(span('tl-stat-value', String(value)));
  el.appendChild(document.createTextNode(` ${unit}`));
  return el;
}

function div(cls: string): HTMLDivElement {
  const el = document.createElement('div');
  el.className = cls;
  return el;
}

function span(cls: string, text?: string): HTMLSpanElement {
  const el = document.createElement('span');
  el.className = cls;
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}

function schedule(fn: () => void): number {
  return typeof requestAnimationFrame === 'function'
    ? requestAnimationFrame(fn)
    : (setTimeout(fn, 16) as unknown as number);
}

function unschedule(handle: number): void {
  if (typeof cancelAnimationFrame === 'function') {
    cancelAnimationFrame(handle);
  } else {
    clearTimeout(handle);
  }
}
