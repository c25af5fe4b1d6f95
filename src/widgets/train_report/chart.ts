/** The report's charts: log-scale lines or dots in plain SVG, with a marker and a hover. */
import { svg } from '../../render/dom';
import { fmt } from './format';

/**
 * A log-scale line or dot chart in plain SVG; returns the element and a function that marks
 * one x value (the selected token).
 */
export function chart(
  points: [number, number][],
  opts: {
    xLabel: string;
    yLabel: string;
    dots?: boolean;
    onHover?: (i: number | null) => void;
  }
): { root: SVGSVGElement; mark: (x: number | null) => void } {
  const width = 560;
  const height = 200;
  const left = 56;
  const bottom = 28;
  const top = 10;
  const right = 10;
  const w = width - left - right;
  const h = height - top - bottom;
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `${opts.yLabel} against ${opts.xLabel}`,
    class: 'tl-chart'
  }) as SVGSVGElement;
  const maxX = Math.max(1, ...points.map(p => p[0]));
  const maxY = Math.max(1, ...points.map(p => p[1]));
  const logTop = Math.max(1, Math.log10(maxY));
  const px = (x: number): number => left + (x / maxX) * w;
  const py = (y: number): number =>
    top + h - (Math.log10(Math.max(1, y)) / logTop) * h;
  root.appendChild(
    svg('line', {
      x1: left,
      y1: top + h,
      x2: left + w,
      y2: top + h,
      class: 'tl-axis'
    })
  );
  root.appendChild(
    svg('line', { x1: left, y1: top, x2: left, y2: top + h, class: 'tl-axis' })
  );
  for (let k = 0; k <= Math.floor(logTop); k++) {
    const y = top + h - (k / logTop) * h;
    root.appendChild(
      svg('line', { x1: left - 4, x2: left, y1: y, y2: y, class: 'tl-axis' })
    );
    const label = svg('text', {
      x: left - 6,
      y: y + 4,
      'text-anchor': 'end',
      class: 'tl-tick'
    });
    label.textContent = fmt(10 ** k);
    root.appendChild(label);
  }
  const xl = svg('text', {
    x: left + w / 2,
    y: height - 6,
    'text-anchor': 'middle',
    class: 'tl-label'
  });
  xl.textContent = `${opts.xLabel} (0 … ${fmt(maxX)})`;
  root.appendChild(xl);
  const yl = svg('text', {
    x: 12,
    y: top + h / 2,
    'text-anchor': 'middle',
    transform: `rotate(-90 12 ${top + h / 2})`,
    class: 'tl-label'
  });
  yl.textContent = opts.yLabel;
  root.appendChild(yl);

  const step = Math.max(
    1,
    Math.floor(points.length / (opts.dots ? 2500 : 1000))
  );
  if (opts.dots) {
    const g = svg('g', { class: 'tl-dots' });
    for (let i = 0; i < points.length; i += step) {
      g.appendChild(
        svg('circle', { cx: px(points[i][0]), cy: py(points[i][1]), r: 1.4 })
      );
    }
    root.appendChild(g);
  } else {
    const pts: string[] = [];
    for (let i = 0; i < points.length; i += step) {
      pts.push(`${px(points[i][0]).toFixed(1)},${py(points[i][1]).toFixed(1)}`);
    }
    root.appendChild(
      svg('polyline', { points: pts.join(' '), class: 'tl-line' })
    );
  }
  const marker = svg('line', {
    x1: 0,
    x2: 0,
    y1: top,
    y2: top + h,
    class: 'tl-marker',
    visibility: 'hidden'
  });
  root.appendChild(marker);
  if (opts.onHover) {
    const hover = opts.onHover;
    const overlay = svg('rect', {
      x: left,
      y: top,
      width: w,
      height: h,
      class: 'tl-overlay'
    });
    overlay.addEventListener('mousemove', (ev: Event) => {
      const box = root.getBoundingClientRect();
      const scale = box.width > 0 ? width / box.width : 1;
      const x = ((ev as MouseEvent).clientX - box.left) * scale;
      const value = Math.round(((x - left) / w) * maxX);
      hover(Math.min(maxX, Math.max(0, value)));
    });
    overlay.addEventListener('mouseleave', () => hover(null));
    root.appendChild(overlay);
  }
  const mark = (x: number | null): void => {
    if (x === null) {
      marker.setAttribute('visibility', 'hidden');
      return;
    }
    marker.setAttribute('x1', String(px(x)));
    marker.setAttribute('x2', String(px(x)));
    marker.setAttribute('visibility', 'visible');
  };
  return { root, mark };
}
