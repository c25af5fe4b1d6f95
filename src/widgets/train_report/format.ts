/** Numbers and token text as the training report writes them. */
import { ITrainReport } from './types';

/** 1234.5 → "1,235" */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 0.1234 → "12.3%" */
export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Make whitespace in a token visible, as the chips do (not the spaces of a byte run "<E0 AC>"). */
export function visible(s: string): string {
  return s
    .replace(
      /(<[0-9A-F]{2}(?: [0-9A-F]{2})*>)| /g,
      (_m: string, hex?: string) => hex ?? '·'
    )
    .replace(/\n/g, '↵')
    .replace(/\t/g, '→');
}

/** The text of token `id` in the report (its id when the report has none). */
export function tokenText(report: ITrainReport, id: number): string {
  return report.displays?.[id] ?? String(id);
}
