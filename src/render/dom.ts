/** Tiny DOM helpers shared by the renderer's modules and the widget views. */

/** An element of any tag with a class and, if given, its text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls = '',
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {}
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  return node;
}

export function div(cls: string): HTMLDivElement {
  const node = document.createElement('div');
  node.className = cls;
  return node;
}

export function span(cls: string, text?: string): HTMLSpanElement {
  const node = document.createElement('span');
  node.className = cls;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export function lineBreak(): HTMLElement {
  const br = document.createElement('br');
  br.className = 'tl-break';
  return br;
}

export type MessageKind = 'error' | 'warning' | 'info';

export function messageBox(text: string, kind: MessageKind): HTMLElement {
  const box = div(`tl-message tl-message-${kind}`);
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.textContent = text;
  return box;
}

/** 1234567 → "1,234,567" (toLocaleString would load locale data: 100 ms on first use). */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
