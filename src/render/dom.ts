/** Tiny DOM helpers shared by the renderer's modules. */

export function div(cls: string): HTMLDivElement {
  const el = document.createElement('div');
  el.className = cls;
  return el;
}

export function span(cls: string, text?: string): HTMLSpanElement {
  const el = document.createElement('span');
  el.className = cls;
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
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
