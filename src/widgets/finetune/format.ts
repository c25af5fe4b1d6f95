/** Numbers, durations and times in the words a dashboard uses. */

/** A metric with `digits` decimals, trailing zeros dropped; tiny values in exponent form. */
export function num(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return '—';
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? '∞' : '−∞';
  }
  const abs = Math.abs(value);
  if (abs !== 0 && abs < 1e-3) {
    return value.toExponential(2);
  }
  if (abs >= 1e5) {
    return Math.round(value).toLocaleString('en-US');
  }
  const text = value.toFixed(digits);
  return digits > 0 ? text.replace(/\.?0+$/, '') : text;
}

/** 3725 → "1 h 2 min"; 75 → "1 min 15 s"; 9 → "9 s". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  if (seconds < 1) {
    return '< 1 s';
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  }
  const h = Math.floor(m / 60);
  if (h < 48) {
    return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  }
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** How long ago `time` (seconds since the epoch) was, from `now` (milliseconds). */
export function ago(
  time: number | null | undefined,
  now: number = Date.now()
): string {
  if (!time) {
    return '—';
  }
  const seconds = now / 1000 - time;
  if (seconds < 5) {
    return 'just now'; // also absorbs a kernel clock a little ahead of the browser's
  }
  return `${duration(seconds)} ago`;
}

/** The first characters of a hash: enough to tell two apart by eye. */
export function shortHash(hash: string | null | undefined): string {
  return hash ? hash.slice(0, 12) : '—';
}
