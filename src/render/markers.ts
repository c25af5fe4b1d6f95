/**
 * The vocabulary's markers: Ġ, ▁ and ## carry a space or a word's continuation inside a piece.
 * A learner meets them in the token card's piece and in the compare view's legend; both say
 * what they mean with these sentences (tokenlens/core/lookup.py says the same in Python).
 */
import { ResultText } from './context';

export type Marker = 'Ġ' | '▁' | '##';

export const MARKERS: [Marker, string][] = [
  [
    'Ġ',
    'Ġ stands for a space before the word (byte-level BPE: GPT-2, cl100k, o200k).'
  ],
  ['▁', '▁ stands for a space before the word (SentencePiece: Llama 2, T5).'],
  ['##', '## marks a piece that continues a word (WordPiece: BERT).']
];

/** The markers one piece carries. */
export function markersOf(piece: string): Marker[] {
  return MARKERS.filter(([m]) =>
    m === '##' ? piece.startsWith('##') && piece.length > 2 : piece.includes(m)
  ).map(([m]) => m);
}

/** The sentence that explains a marker. */
export function markerSentence(marker: Marker): string {
  return MARKERS.find(([m]) => m === marker)?.[1] ?? '';
}

/** The markers the pieces of these results carry, in MARKERS' order. */
export function markersIn(contexts: ResultText[]): Marker[] {
  const found = new Set<Marker>();
  for (const ctx of contexts) {
    const pieces = ctx.result.pieces ?? [];
    for (let i = 0; i < pieces.length && found.size < MARKERS.length; i++) {
      if (ctx.isSpecial(i)) {
        continue;
      }
      for (const m of markersOf(pieces[i])) {
        found.add(m);
      }
    }
  }
  return MARKERS.map(([m]) => m).filter(m => found.has(m));
}

/** The legend's lines for the markers in these results; null when there are none. */
export function markerLegend(contexts: ResultText[]): HTMLElement | null {
  const markers = markersIn(contexts);
  if (markers.length === 0) {
    return null;
  }
  const el = document.createElement('div');
  el.className = 'tl-markers';
  for (const m of markers) {
    const line = document.createElement('div');
    line.className = 'tl-marker';
    line.dataset.marker = m;
    line.textContent = markerSentence(m);
    el.appendChild(line);
  }
  return el;
}
