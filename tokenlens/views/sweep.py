"""The sweep's static view: a table, fertility and vocabulary used against vocabulary size (one line
per algorithm, the references as labelled points), and each tokenizer's use of every id against
the id. Plain SVG and HTML, as :mod:`tokenlens.views.charts` makes them: no script is needed to
read it, live or saved.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING

from tokenlens.views.charts import _FONT, PALETTE, _clip

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.vocab.sweep import Sweep, SweepRow

#: the most points one id-against-use panel draws (evenly spaced over its ids); the table keeps all
PANEL_POINTS = 400
_ALGO_NAMES = {"bpe": "BPE", "wordpiece": "WordPiece", "unigram": "Unigram", "reference": "published"}


def _colour(algorithm: str, algorithms: list[str]) -> str:
    return PALETTE[algorithms.index(algorithm) % len(PALETTE)] if algorithm in algorithms else "currentColor"


def _svg_open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg class="tl-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{_FONT};color:inherit;max-width:100%">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" fill="currentColor" font-weight="600">{escape(title)}</text>',
    ]


def _against_size(sweep: Sweep, metric: str, title: str, share: bool, width: int = 470, height: int = 260) -> str:
    """One line per trained algorithm over vocabulary size (log scale), references as points."""
    rows = [r for r in sweep.rows if math.isfinite(getattr(r, metric))]
    if not rows:
        return ""
    algorithms = sorted({r.algorithm for r in rows if r.algorithm != "reference"}, key=list(_ALGO_NAMES).index)
    left, right, top, bottom = 48, 150, 44, 34
    xs = [math.log10(r.vocab_size) for r in rows]
    ys = [getattr(r, metric) for r in rows]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    y0, y1 = 0.0, max(ys) * 1.1 or 1.0

    def px(r: SweepRow) -> tuple[float, float]:
        x = left + (math.log10(r.vocab_size) - x0) / (x1 - x0) * (width - left - right)
        y = height - bottom - (getattr(r, metric) - y0) / (y1 - y0) * (height - top - bottom)
        return x, y

    def fmt(v: float) -> str:
        return f"{v:.0%}" if share else f"{v:.2f}"

    out = _svg_open(width, height, title)
    for k, a in enumerate(algorithms):  # legend
        out.append(f'<rect x="{k * 100}" y="22" width="12" height="12" fill="{_colour(a, algorithms)}"/>')
        out.append(f'<text x="{k * 100 + 16}" y="32" fill="currentColor">{_ALGO_NAMES[a]}</text>')
    base = height - bottom
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="currentColor" opacity=".5"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="currentColor" opacity=".5"/>')
    for frac in (0, 0.5, 1):
        v = y0 + frac * (y1 - y0)
        y = base - frac * (base - top)
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" fill="currentColor" text-anchor="end">{fmt(v)}</text>')
    for e in range(math.ceil(x0), math.floor(x1) + 1):
        x = left + (e - x0) / (x1 - x0) * (width - left - right)
        out.append(f'<text x="{x:.1f}" y="{base + 14}" fill="currentColor" text-anchor="middle">{10**e:,}</text>')
    out.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" fill="currentColor" '
        'text-anchor="middle">vocabulary size (log scale)</text>'
    )
    for a in algorithms:
        pts = sorted((px(r), r) for r in rows if r.algorithm == a)
        colour = _colour(a, algorithms)
        path = " ".join(f"{x:.1f},{y:.1f}" for (x, y), _ in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), r in pts:
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                f"<title>{escape(r.tokenizer)}: {fmt(getattr(r, metric))}</title></circle>"
            )
    # References: hollow squares, labelled in the right margin, labels pushed apart to stay legible.
    refs = sorted((px(r)[1], r) for r in rows if r.algorithm == "reference")
    label_y = -1e9
    for y, r in refs:
        x = px(r)[0]
        label_y = max(y + 4, label_y + 13)
        lx = width - right + 10
        out.append(
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="none" stroke="currentColor">'
            f"<title>{escape(r.tokenizer)}: {fmt(getattr(r, metric))}</title></rect>"
            f'<line x1="{x + 4:.1f}" y1="{y:.1f}" x2="{lx - 2}" y2="{label_y - 4:.1f}" stroke="currentColor" opacity=".3"/>'
            f'<text x="{lx}" y="{label_y:.1f}" fill="currentColor">'
            f"{escape(_clip(r.tokenizer, 14))} {fmt(getattr(r, metric))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _id_panel(row: SweepRow, colour: str, width: int = 200, height: int = 150) -> str:
    """Use of each id in the held-out text against the id (log use), for one tokenizer."""
    out = _svg_open(width, height, _clip(row.tokenizer, 28))
    pairs = row.id_counts
    if not pairs:
        out.append('<text x="0" y="40" fill="currentColor">no ids used</text></svg>')
        return "".join(out)
    step = max(1, math.ceil(len(pairs) / PANEL_POINTS))
    shown = pairs[::step]
    left, top, bottom = 34, 22, 28
    top_count = max(c for _, c in pairs)
    ymax = math.log10(top_count) or 1.0
    for i, c in shown:
        x = left + i / max(row.vocab_size, 1) * (width - left - 6)
        y = height - bottom - math.log10(c) / ymax * (height - top - bottom)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" fill="{colour}" opacity=".7"/>')
    base = height - bottom
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - 6}" y2="{base}" stroke="currentColor" opacity=".5"/>')
    out.append(f'<text x="{left - 3}" y="{top + 8}" fill="currentColor" text-anchor="end">{top_count:,}</text>')
    out.append(f'<text x="{left - 3}" y="{base}" fill="currentColor" text-anchor="end">1</text>')
    out.append(f'<text x="{left}" y="{base + 13}" fill="currentColor">0</text>')
    out.append(f'<text x="{width - 6}" y="{base + 13}" fill="currentColor" text-anchor="end">{row.vocab_size:,}</text>')
    out.append(
        f'<text x="{(left + width) / 2:.0f}" y="{height - 2}" fill="currentColor" text-anchor="middle">'
        f"id · ρ {row.id_frequency_correlation:+.2f}</text>"
    )
    out.append("</svg>")
    return "".join(out)


def sweep_html(sweep: Sweep) -> str:
    algorithms = [a for a in _ALGO_NAMES if a != "reference"]
    head = (
        "<tr><th>tokenizer</th><th>algorithm</th><th>vocabulary</th><th>fertility</th><th>chars/token</th>"
        "<th>ids used</th><th>id~use ρ</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(r.tokenizer)}</td><td>{_ALGO_NAMES.get(r.algorithm, r.algorithm)}</td>"
        f"<td>{r.vocab_size:,}</td><td>{r.fertility:.2f}</td><td>{r.chars_per_token:.2f}</td>"
        f"<td>{r.used:,} ({r.used_share:.0%})</td><td>{r.id_frequency_correlation:+.2f}</td></tr>"
        for r in sweep.rows
    )
    # the id panels: each algorithm at its largest size, and each reference
    largest: dict[str, SweepRow] = {}
    for r in sweep.rows:
        if r.algorithm != "reference" and (
            r.algorithm not in largest or r.vocab_size > largest[r.algorithm].vocab_size
        ):
            largest[r.algorithm] = r
    panels = [*largest.values(), *(r for r in sweep.rows if r.algorithm == "reference")]
    return (
        f'<div class="tl-sweep" style="{_FONT}">'
        f"<div><b>Algorithms side by side</b>: measured on {escape(sweep.measured_on)}."
        " Fertility is tokens per word (lower: words kept whole); ids used is the share of the"
        " vocabulary the text needs; ρ is the rank correlation of an id with how often it is used"
        " (−1: later ids are always rarer).</div>"
        f"<table>{head}{body}</table>"
        f'<div style="display:flex;flex-wrap:wrap;gap:16px">'
        f"{_against_size(sweep, 'fertility', 'Fertility against vocabulary size', False)}"
        f"{_against_size(sweep, 'used_share', 'Share of the vocabulary used', True)}</div>"
        "<div><b>Use of each id</b> (log scale) against the id: an id is the order a token was made in.</div>"
        '<div style="display:flex;flex-wrap:wrap;gap:8px">'
        + "".join(_id_panel(r, _colour(r.algorithm, algorithms)) for r in panels)
        + "</div></div>"
    )


__all__ = ["sweep_html"]
