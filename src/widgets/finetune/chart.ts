/**
 * The loss chart: train (line) and eval (dashed, with dots) loss against step, drawn as SVG
 * with no library. Linear or log y; hovering shows the nearest step's values.
 */
import { svg } from '../../render/dom';
import { num } from './format';
import { LossPoint } from './types';

const W = 560;
const H = 190;
const PAD = { left: 46, right: 12, top: 12, bottom: 26 };

export interface IChartOptions {
  log: boolean;
}

interface IScale {
  x(step: number): number;
  y(loss: number): number;
  yTicks: number[];
  xTicks: number[];
}

/** Round tick values covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) {
    return [lo];
  }
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Ticks for a log axis: 1-2-5 (or fewer) per decade, inside [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  for (const mults of [[1, 2, 3, 5], [1, 2, 5], [1, 3], [1]]) {
    const ticks: number[] = [];
    for (
      let e = Math.floor(Math.log10(lo));
      e <= Math.ceil(Math.log10(hi));
      e++
    ) {
      for (const m of mults) {
        const t = m * Math.pow(10, e);
        if (t >= lo && t <= hi) {
          ticks.push(Number(t.toPrecision(6)));
        }
      }
    }
    if (ticks.length <= 6) {
      // within one decade there may be no round 1-2-3-5 value: round linear values then
      return ticks.length >= 2 ? ticks : niceTicks(lo, hi, 3);
    }
  }
  return niceTicks(lo, hi, 3);
}

function finite(points: LossPoint[], log: boolean): LossPoint[] {
  return points.filter(
    ([s, v]) => Number.isFinite(s) && Number.isFinite(v) && (!log || v > 0)
  );
}

function scale(all: LossPoint[], log: boolean): IScale {
  const steps = all.map(p => p[0]);
  const values = all.map(p => p[1]);
  let x0 = Math.min(...steps);
  let x1 = Math.max(...steps);
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  const f = log ? Math.log10 : (v: number) => v;
  let y0 = f(Math.min(...values));
  let y1 = f(Math.max(...values));
  if (y1 === y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const pad = (y1 - y0) * 0.06;
  y0 -= pad;
  y1 += pad;
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const lo = log ? Math.pow(10, y0) : y0;
  const hi = log ? Math.pow(10, y1) : y1;
  return {
    x: s => PAD.left + ((s - x0) / (x1 - x0)) * innerW,
    y: v => PAD.top + ((y1 - f(v)) / (y1 - y0)) * innerH,
    yTicks: log ? logTicks(lo, hi) : niceTicks(lo, hi, 4),
    xTicks: niceTicks(Math.max(0, x0), x1, 5).filter(
      t => t >= x0 && t <= x1 && Number.isInteger(t)
    )
  };
}

function line(points: LossPoint[], sc: IScale): string {
  return points
    .map(([s, v]) => `${sc.x(s).toFixed(1)},${sc.y(v).toFixed(1)}`)
    .join(' ');
}

/** Nearest point by step (points sorted by step). */
function nearest(points: LossPoint[], step: number): LossPoint | null {
  let best: LossPoint | null = null;
  for (const p of points) {
    if (!best || Math.abs(p[0] - step) < Math.abs(best[0] - step)) {
      best = p;
    }
  }
  return best;
}

/** Draw the chart into `host` (replacing what was there). */
export function drawLossChart(
  host: HTMLElement,
  trainAll: LossPoint[],
  evalAll: LossPoint[],
  options: IChartOptions
): void {
  const train = finite(trainAll, options.log);
  const evals = finite(evalAll, options.log);
  const all = train.concat(evals);
  if (!all.length) {
    const empty = document.createElement('div');
    empty.className = 'tl-ft-chart-empty';
    empty.textContent =
      'No loss yet: the first point comes with the first logged step.';
    host.replaceChildren(empty);
    return;
  }
  const sc = scale(all, options.log);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'tl-ft-chart-svg',
    role: 'img',
    'aria-label':
      `Loss by step${options.log ? ' (log scale)' : ''}: train ${train.length} points` +
      (evals.length ? `, eval ${evals.length} points` : '') +
      (train.length
        ? `; train loss from ${num(train[0][1], 3)} to ${num(train[train.length - 1][1], 3)}`
        : '')
  });
  const bottom = H - PAD.bottom;
  for (const t of sc.yTicks) {
    const y = sc.y(t);
    root.append(
      svg('line', {
        x1: PAD.left,
        x2: W - PAD.right,
        y1: y,
        y2: y,
        class: 'tl-ft-grid'
      }),
      Object.assign(
        svg('text', {
          x: PAD.left - 5,
          y: y + 3.5,
          'text-anchor': 'end',
          class: 'tl-ft-tick'
        }),
        {
          textContent: num(t, 2)
        }
      )
    );
  }
  for (const t of sc.xTicks) {
    const x = sc.x(t);
    root.append(
      svg('line', {
        x1: x,
        x2: x,
        y1: bottom,
        y2: bottom + 4,
        class: 'tl-ft-axis'
      }),
      Object.assign(
        svg('text', {
          x,
          y: bottom + 15,
          'text-anchor': 'middle',
          class: 'tl-ft-tick'
        }),
        {
          textContent: String(t)
        }
      )
    );
  }
  root.append(
    svg('line', {
      x1: PAD.left,
      x2: W - PAD.right,
      y1: bottom,
      y2: bottom,
      class: 'tl-ft-axis'
    }),
    svg('line', {
      x1: PAD.left,
      x2: PAD.left,
      y1: PAD.top,
      y2: bottom,
      class: 'tl-ft-axis'
    })
  );
  if (train.length) {
    root.append(
      svg('polyline', { points: line(train, sc), class: 'tl-ft-train' })
    );
  }
  if (evals.length) {
    root.append(
      svg('polyline', { points: line(evals, sc), class: 'tl-ft-eval' })
    );
    for (const [s, v] of evals) {
      const dot = svg('circle', {
        cx: sc.x(s),
        cy: sc.y(v),
        r: 3,
        class: 'tl-ft-eval-dot'
      });
      root.append(dot);
    }
  }

  // Hover: a guide line and the values at the nearest logged step.
  const guide = svg('line', {
    y1: PAD.top,
    y2: bottom,
    class: 'tl-ft-guide',
    visibility: 'hidden'
  });
  const marker = svg('circle', {
    r: 3.5,
    class: 'tl-ft-marker',
    visibility: 'hidden'
  });
  root.append(guide, marker);
  const tip = document.createElement('div');
  tip.className = 'tl-ft-tip';
  tip.hidden = true;
  root.addEventListener('pointermove', (event: PointerEvent) => {
    const box = root.getBoundingClientRect();
    if (!box.width) {
      return;
    }
    const vx = ((event.clientX - box.left) / box.width) * W;
    const stepAt = all.reduce((a, p) =>
      Math.abs(sc.x(p[0]) - vx) < Math.abs(sc.x(a[0]) - vx) ? p : a
    )[0];
    const t = nearest(train, stepAt);
    const e = nearest(evals, stepAt);
    const x = sc.x(stepAt);
    guide.setAttribute('x1', String(x));
    guide.setAttribute('x2', String(x));
    guide.setAttribute('visibility', 'visible');
    const shown = t && t[0] === stepAt ? t : e;
    if (shown) {
      marker.setAttribute('cx', String(sc.x(shown[0])));
      marker.setAttribute('cy', String(sc.y(shown[1])));
      marker.setAttribute('visibility', 'visible');
    }
    const parts = [`step ${stepAt}`];
    if (t && t[0] === stepAt) {
      parts.push(
        `train ${num(t[1], 4)} (ppl ${num(Math.exp(Math.min(t[1], 50)), 2)})`
      );
    }
    if (e && e[0] === stepAt) {
      parts.push(
        `eval ${num(e[1], 4)} (ppl ${num(Math.exp(Math.min(e[1], 50)), 2)})`
      );
    }
    tip.textContent = parts.join(' · ');
    tip.hidden = false;
  });
  root.addEventListener('pointerleave', () => {
    guide.setAttribute('visibility', 'hidden');
    marker.setAttribute('visibility', 'hidden');
    tip.hidden = true;
  });
  host.replaceChildren(root, tip);
}
