/**
 * Text as the renderer shows it: whitespace and invisible characters made visible, bytes of
 * split characters in hex. Marks are spans of their own so CSS can hide them (whitespace
 * toggle) without a redraw.
 */

/** Raw bytes of a character split across tokens, shown by the server as e.g. "<E0 AC>". */
export const HEX_RUN = /(<[0-9A-F]{2}(?: [0-9A-F]{2})*>)/;
const HEX_TEST = /<[0-9A-F]{2}(?: [0-9A-F]{2})*>/;

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

/** Visible stand-ins for whitespace. */
const WHITESPACE: Record<string, string> = {
  ' ': '·',
  '\n': '↵',
  '\t': '→',
  '\r': '␍'
};

/** Anything that needs a mark: whitespace or an invisible character. */
const NEEDS_MARK = /[\s\p{Cf}\p{Cc}\p{Zl}\p{Zp}]/u;

export function hasHex(display: string): boolean {
  return HEX_TEST.test(display);
}

/** Characters that only make sense inside a sequence (ZWJ, variation selectors). */
// eslint-disable-next-line no-misleading-character-class -- it tests one code point, so joiners belong in the class alone
const JOINERS = /^[\u200c\u200d\ufe00-\ufe0f]$/u;

/**
 * Append `s` with whitespace and invisible characters made visible.
 *
 * `whole`: `s` is whole characters (a group's or a column's text), so joiners inside a
 * sequence (the ZWJ of 👩🏽‍💻) stay in it and keep it one symbol; alone they are named.
 */
export function appendVisible(
  parent: HTMLElement,
  s: string,
  whole = false
): void {
  if (!NEEDS_MARK.test(s)) {
    parent.appendChild(document.createTextNode(s));
    return;
  }
  const keepJoiners = whole && /[^\s\p{Cf}\p{Cc}\p{Zl}\p{Zp}\p{M}]/u.test(s);
  let plain = '';
  for (const ch of s) {
    const mark = keepJoiners && JOINERS.test(ch) ? null : markFor(ch);
    if (mark === null) {
      plain += ch;
      continue;
    }
    if (plain) {
      parent.appendChild(document.createTextNode(plain));
      plain = '';
    }
    const el = document.createElement('span');
    el.className = mark.cls;
    el.textContent = mark.text;
    parent.appendChild(el);
  }
  if (plain) {
    parent.appendChild(document.createTextNode(plain));
  }
}

/** The text of a token's display string: hex runs as monospace bytes, the rest visible. */
export function appendDisplay(parent: HTMLElement, display: string): void {
  if (display.length === 0) {
    const empty = document.createElement('span');
    empty.className = 'tl-empty';
    empty.textContent = '∅';
    parent.appendChild(empty);
    return;
  }
  if (!hasHex(display)) {
    appendVisible(parent, display);
    return;
  }
  // Odd parts of the split are hex runs: bytes, not text.
  display.split(HEX_RUN).forEach((part, k) => {
    if (k % 2 === 1) {
      const hex = document.createElement('span');
      hex.className = 'tl-hex';
      hex.textContent = part.slice(1, -1);
      parent.appendChild(hex);
    } else if (part) {
      appendVisible(parent, part);
    }
  });
}

/** The same marks as a plain string (for the card and labels). */
export function visibleString(s: string): string {
  let out = '';
  for (const ch of s) {
    const mark = markFor(ch);
    out +=
      mark === null
        ? ch
        : mark.cls.includes('tl-invisible')
          ? `<${mark.text}>`
          : mark.text;
  }
  return out;
}

export function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) {
    n++;
  }
  return n;
}

/** A token's bytes as hex ("20 6C 6F"), from its display string (hex runs are bytes already). */
export function displayBytes(display: string): string {
  const encoder = new TextEncoder();
  const out: string[] = [];
  display.split(HEX_RUN).forEach((part, k) => {
    if (k % 2 === 1) {
      out.push(...part.slice(1, -1).split(' '));
    } else if (part) {
      for (const b of encoder.encode(part)) {
        out.push(b.toString(16).toUpperCase().padStart(2, '0'));
      }
    }
  });
  return out.join(' ');
}

function markFor(ch: string): { text: string; cls: string } | null {
  const ws = WHITESPACE[ch];
  if (ws !== undefined) {
    return { text: ws, cls: ch === '\n' ? 'tl-ws tl-nl' : 'tl-ws' };
  }
  if (ch in INVISIBLE_NAMES || INVISIBLE.test(ch)) {
    const code = (ch.codePointAt(0) as number)
      .toString(16)
      .toUpperCase()
      .padStart(4, '0');
    return { text: INVISIBLE_NAMES[ch] ?? `U+${code}`, cls: 'tl-invisible' };
  }
  return null;
}
