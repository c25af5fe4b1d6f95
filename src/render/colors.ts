/**
 * Colour by token id: the same id gets the same hue in every cell, view and session.
 * Only the hue is chosen here; saturation and lightness live in CSS so a theme
 * switch needs no re-render.
 */

const GOLDEN = 0.618033988749895;

/** A well-spread, deterministic hue in [0, 360) for a token id. */
export function hueForId(id: number): number {
  // Mix the bits first so neighbouring ids (often related pieces) do not sit on neighbouring hues.
  let h = Math.imul(id ^ (id >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = (h ^ (h >>> 16)) >>> 0;
  const frac = (h * GOLDEN) % 1;
  return Math.round(frac * 360);
}

/**
 * The class that gives a token element its id's hue (`tl-h0` … `tl-h359`), defined by one
 * stylesheet added to the document on first use. A class rather than an inline custom property:
 * elements with the same classes share their computed style in the browser's style cache, so
 * thousands of chips cost a fraction of the style recalculation (an inline style on every chip
 * made each one compute its colours from scratch).
 */
export function hueClass(id: number): string {
  if (!hueSheetAdded) {
    addHueSheet();
  }
  return `tl-h${hueForId(id)}`;
}

let hueSheetAdded = false;

function addHueSheet(): void {
  hueSheetAdded = true;
  if (
    typeof document === 'undefined' ||
    document.getElementById(HUE_SHEET_ID)
  ) {
    return;
  }
  const rules: string[] = [];
  for (let h = 0; h <= 360; h++) {
    rules.push(`.tl-token.tl-h${h},.tl-bar.tl-h${h}{--tl-hue:${h}}`);
  }
  const style = document.createElement('style');
  style.id = HUE_SHEET_ID;
  style.textContent = rules.join('\n');
  document.head.appendChild(style);
}

const HUE_SHEET_ID = 'tokenlens-hues';

/** Hues cycled by position: five, so neighbours (and neighbours' neighbours) always differ. */
export const POSITION_HUES = [210, 30, 135, 285, 350];

/** Class naming a token's place in the position cycle (`tl-p0` … `tl-p4`). */
export function positionClass(index: number): string {
  return `tl-p${index % POSITION_HUES.length}`;
}
