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

/** Hues cycled by position: five, so neighbours (and neighbours' neighbours) always differ. */
export const POSITION_HUES = [210, 30, 135, 285, 350];

/** Class naming a token's place in the position cycle (`tl-p0` … `tl-p4`). */
export function positionClass(index: number): string {
  return `tl-p${index % POSITION_HUES.length}`;
}
