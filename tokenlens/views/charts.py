"""Static views of measurements: SVG bar chart, SVG histogram, HTML tables.

Everything here is plain markup made in Python: no scripts, no stylesheets or fonts fetched
from anywhere, no URLs (inline SVG needs no ``xmlns``). The same markup is the live view and
what a saved notebook shows; text uses ``currentColor`` so light and dark themes both read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.measure.dataset import DatasetView
    from tokenlens.measure.stats import StatsTable

#: one colour per tokenizer, in order (readable on light and dark backgrounds)
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
WARN = "#e15759"

_FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:12px"


def _fmt(value: float | None, share: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if share:
        return f"{value:.1%}"
    return f"{value:,.2f}"


def bar_chart(
    values: Mapping[tuple[str, str], float | None],
    groups: Sequence[str],
    series: Sequence[str],
    title: str = "",
    baseline: float | None = None,
    width: int = 640,
) -> str:
    """Horizontal grouped bars: one group per label (language), one bar per series (tokenizer)."""
    share = "share" in title
    left, right, bar_h, gap, group_gap = 120, 70, 14, 3, 12
    legend_h = 22 * math.ceil(len(series) / 4) + 6
    top = 24 + legend_h
    inner = width - left - right
    finite = [v for v in values.values() if v is not None and math.isfinite(v)]
    vmax = max(finite + ([baseline] if baseline is not None else []) + [1e-9])
    scale = inner / (vmax * 1.05)
    group_h = len(series) * (bar_h + gap) - gap
    height = top + len(groups) * (group_h + group_gap) + 4
    out = [
        f'<svg class="tl-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{_FONT};color:inherit;max-width:100%">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" fill="currentColor" font-weight="600">{escape(title)}</text>',
    ]
    for k, name in enumerate(series):
        x = (k % 4) * (width // 4)
        y = 24 + 22 * (k // 4)
        colour = PALETTE[k % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 10}" fill="currentColor">{escape(_clip(name, 26))}</text>')
    y = top
    for group in groups:
        out.append(
            f'<text x="{left - 8}" y="{y + group_h / 2 + 4:.1f}" fill="currentColor" text-anchor="end">'
            f"{escape(_clip(group, 18))}</text>"
        )
        for k, name in enumerate(series):
            value = values.get((group, name))
            colour = PALETTE[k % len(PALETTE)]
            tip = f"{name} · {group}: {_fmt(value, share)}"
            if value is not None and math.isfinite(value):
                w = max(value * scale, 1.0 if value > 0 else 0.0)
                out.append(
                    f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                    f"<title>{escape(tip)}</title></rect>"
                )
                out.append(
                    f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}" fill="currentColor">{_fmt(value, share)}</text>'
                )
            else:
                out.append(f'<text x="{left + 4}" y="{y + bar_h - 3}" fill="currentColor" opacity="0.6">n/a</text>')
            y += bar_h + gap
        y += group_gap - gap
    out.append(f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{height - 4}" stroke="currentColor" opacity="0.5"/>')
    if baseline is not None:
        bx = left + baseline * scale
        out.append(
            f'<line x1="{bx:.1f}" y1="{top - 4}" x2="{bx:.1f}" y2="{height - 4}" stroke="currentColor" '
            'stroke-dasharray="4 3" opacity="0.6"/>'
        )
    out.append("</svg>")
    return "".join(out)


def histogram_svg(
    counts: Sequence[int],
    edges: Sequence[float],
    context_length: int | None = None,
    width: int = 640,
    height: int = 190,
    title: str = "tokens per row",
) -> str:
    """Vertical bars of rows per token-count bin; bins past the context length in red."""
    left, right, top, bottom = 56, 12, 36, 34
    inner_w, inner_h = width - left - right, height - top - bottom
    n = max(len(counts), 1)
    cmax = max(list(counts) + [1])
    lo, hi = float(edges[0]) if len(edges) else 0.0, float(edges[-1]) if len(edges) else 1.0
    span = (hi - lo) or 1.0
    bw = inner_w / n
    out = [
        f'<svg class="tl-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{_FONT};color:inherit;max-width:100%">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" fill="currentColor" font-weight="600">{escape(title)}</text>',
    ]
    for i, c in enumerate(counts):
        h = inner_h * c / cmax
        over = context_length is not None and edges[i + 1] - 1 > context_length
        colour = WARN if over else PALETTE[0]
        tip = f"{int(edges[i]):,}–{int(edges[i + 1]) - 1:,} tokens: {c:,} rows"
        out.append(
            f'<rect x="{left + i * bw + 0.5:.1f}" y="{top + inner_h - h:.1f}" width="{max(bw - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{escape(tip)}</title></rect>'
        )
    base = top + inner_h
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="currentColor" opacity="0.5"/>')
    out.append(f'<text x="{left - 6}" y="{top + 10}" fill="currentColor" text-anchor="end">{cmax:,}</text>')
    out.append(f'<text x="{left - 6}" y="{base}" fill="currentColor" text-anchor="end">0</text>')
    out.append(f'<text x="{left - 44}" y="{top + inner_h / 2:.0f}" fill="currentColor" opacity="0.7">rows</text>')
    for frac in (0.0, 0.5, 1.0):
        value = lo + span * frac
        anchor = "start" if frac == 0 else "end" if frac == 1 else "middle"
        out.append(
            f'<text x="{left + inner_w * frac:.1f}" y="{base + 16}" fill="currentColor" text-anchor="{anchor}">'
            f"{int(value):,}</text>"
        )
    out.append(
        f'<text x="{left + inner_w / 2:.1f}" y="{height - 2}" fill="currentColor" opacity="0.7" '
        'text-anchor="middle">tokens per row</text>'
    )
    if context_length is not None and lo <= context_length <= hi:
        x = left + inner_w * (context_length - lo) / span
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{base}" stroke="{WARN}" stroke-dasharray="4 3"/>'
        )
        anchor = "end" if x > left + inner_w * 0.8 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(
            f'<text x="{x + dx:.1f}" y="{top - 8}" fill="{WARN}" text-anchor="{anchor}">'
            f"context {context_length:,}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TABLE = "border-collapse:collapse;margin:6px 0;" + _FONT
_CELL = "padding:2px 8px;border-bottom:1px solid rgba(128,128,128,.25);text-align:right"
_HEAD = _CELL + ";font-weight:600"

_COLUMNS = (
    ("tokens", "n_tokens", "int"),
    ("words", "n_words", "int"),
    ("chars/token", "chars_per_token", "num"),
    ("bytes/token", "bytes_per_token", "num"),
    ("fertility", "fertility", "num"),
    ("split words", "split_share", "share"),
    ("unknown", "unknown_share", "share"),
    ("byte fallback", "byte_fallback_share", "share"),
    ("partial chars", "partial_char_share", "share"),
    ("premium", "premium", "num"),
)


def _cell(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "int":
        return f"{int(value):,}"
    return _fmt(value, share=kind == "share")


def stats_html(table: StatsTable, metric: str | None = None) -> str:
    rows = table.rows
    has_premium = any(r.premium is not None for r in rows)
    columns = [c for c in _COLUMNS if c[1] != "premium" or has_premium]
    head = "".join(f'<th style="{_HEAD}">{escape(name)}</th>' for name, _k, _t in columns)
    parts = [
        '<div class="tokenlens-stats">',
        f'<table style="{_TABLE}"><thead><tr><th style="{_HEAD};text-align:left">tokenizer</th>'
        f'<th style="{_HEAD};text-align:left">texts</th>{head}</tr></thead><tbody>',
    ]
    for r in rows:
        cells = []
        for _name, key, kind in columns:
            value = getattr(r, key)
            text = _cell(value, kind)
            if key == "unknown_share" and r.unknown_token is None:
                text = "0 (none)"
            cells.append(f'<td style="{_CELL}">{escape(text)}</td>')
        parts.append(
            f'<tr><td style="{_CELL};text-align:left;white-space:nowrap">{escape(r.tokenizer)}</td>'
            f'<td style="{_CELL};text-align:left;white-space:nowrap">{escape(r.label)} ({r.n_texts:,})</td>'
            f"{''.join(cells)}</tr>"
        )
    parts.append("</tbody></table>")
    if len(rows) > 1 or has_premium:
        parts.append(table.chart(metric))
    notes = list(dict.fromkeys(f"{r.tokenizer} · {r.label}: {n}" for r in rows for n in r.notes))
    if has_premium:
        refs = sorted({r.reference_label for r in rows if r.reference_label})
        notes.append(f"premium = tokens ÷ tokens of the parallel reference ({', '.join(refs)})")
    if rows and rows[0].add_special_tokens:
        notes.append("counts include special tokens")
    if notes:
        parts.append('<ul style="margin:4px 0;opacity:.8;' + _FONT + '">')
        parts.extend(f"<li>{escape(n)}</li>" for n in notes)
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def dataset_summary_rows(view: DatasetView) -> list[tuple[str, str]]:
    s = view.summary()
    rows = [
        ("rows", f"{s['rows']:,}"),
        ("total tokens", f"{s['total_tokens']:,}"),
        (
            "tokens per row",
            f"mean {_fmt(s['mean'])} · median {_fmt(s['median'])} · p95 {_fmt(s['p95'])} · max {s['max']:,}",
        ),
    ]
    if s["empty_rows"]:
        rows.append(("empty rows", f"{s['empty_rows']:,}"))
    if s["context_length"]:
        rows.append(
            (
                f"over {s['context_length']:,} tokens",
                f"{s['truncated_rows']:,} rows ({_fmt(s['truncated_share'], True)}) would be truncated,"
                f" losing {s['tokens_cut']:,} tokens",
            )
        )
    if s["cost"] is not None:
        rows.append(("cost", f"{s['cost']:,.4f} at {s['price_per_million']:g} per 1M tokens"))
    return rows


def special_note(view: DatasetView) -> str:
    n = view.stats.special_per_text
    if not view.stats.add_special_tokens or not n:
        return ""
    return f" (counting {n} special token{'s' if n > 1 else ''} per row)"


def dataset_html(view: DatasetView) -> str:
    counts, edges = view.histogram()
    special = special_note(view)
    parts = [
        '<div class="tokenlens-dataset">',
        f'<div style="{_FONT};font-weight:600">{escape(view.tokenizer)} · {escape(view.label)}{special}</div>',
        f'<table style="{_TABLE}"><tbody>',
    ]
    for name, value in dataset_summary_rows(view):
        parts.append(
            f'<tr><td style="{_CELL};text-align:left;opacity:.8">{escape(name)}</td>'
            f'<td style="{_CELL};text-align:left">{escape(value)}</td></tr>'
        )
    parts.append("</tbody></table>")
    parts.append(histogram_svg(counts.tolist(), edges.tolist(), view.context_length))
    longest = view.longest()
    if longest:
        parts.append(
            f'<table style="{_TABLE}"><thead><tr><th style="{_HEAD}">row</th><th style="{_HEAD}">tokens</th>'
            f'<th style="{_HEAD};text-align:left">text</th></tr></thead><tbody>'
        )
        for r in longest:
            mark = f' style="color:{WARN}"' if r["truncated"] else ""
            parts.append(
                f'<tr><td style="{_CELL}">{r["row"]}</td><td style="{_CELL}"><span{mark}>{r["tokens"]:,}</span></td>'
                f'<td style="{_CELL};text-align:left">{escape(r["preview"])}</td></tr>'
            )
        parts.append("</tbody></table>")
    for note in view.stats.notes:
        parts.append(f'<div style="{_FONT};opacity:.8">{escape(note)}</div>')
    parts.append("</div>")
    return "".join(parts)


__all__ = ["PALETTE", "bar_chart", "dataset_html", "histogram_svg", "special_note", "stats_html"]
