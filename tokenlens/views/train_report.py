"""The training report: a live widget (``src/widgets/train_report/``), its static HTML copy for saved
notebooks, and the progress line shown while a tokenizer trains."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import traitlets

from tokenlens.core.limits import LIMITS
from tokenlens.errors import TokenlensError
from tokenlens.views.base import BundledWidget

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.vocab.result import TrainingResult
    from tokenlens.vocab.train import TrainingProgress


# -- the live report ----------------------------------------------------------------------------
class TrainReportWidget(BundledWidget, bundle="train_report"):
    """Vocabulary size, the merges (searchable), merge frequency against rank, a word built merge
    by merge, and the fit on held-out text against the baselines."""

    #: ``TrainingResult.to_report()``
    report = traitlets.Dict().tag(sync=True)
    #: the word to build; the view sets it, the kernel answers in ``built``
    word = traitlets.Unicode("").tag(sync=True)
    #: ``{"word": str, "rows": [token-view result dicts], "note": str}``
    built = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, result: TrainingResult, **kwargs: Any):
        super().__init__(source=result, report=result.to_report(), **kwargs)
        self.observe(self._on_word, names="word")
        self.word = result.word or ""
        if not self.built:
            self._on_word({"new": self.word})

    def _on_word(self, change: dict) -> None:
        try:
            self.built = built_rows(self._source, change["new"])
            self.error = ""
        except TokenlensError as exc:
            self.error = str(exc)


def _row(result: TrainingResult, label: str, text: str, ids: Sequence[int]) -> dict[str, Any]:
    """One line of token chips in the shape the renderer draws (``ITokenizeResult``)."""
    from tokenlens.core.tokenized import byte_spans_to_char_spans

    byte_spans = []
    pos = 0
    for i in ids:
        n = len(result.token_bytes(i))
        byte_spans.append((pos, pos + n))
        pos += n
    return {
        "tokenizer": label,
        "kind": "",
        "model": "",
        "text": text,
        "ids": list(ids),
        "tokens": [result.display(i) for i in ids],
        "pieces": [result.tokenizer.id_to_token(i) or "" for i in ids],
        "spans": byte_spans_to_char_spans(
            text,
            np.array([s for s, _ in byte_spans], dtype=np.int64),
            np.array([e for _, e in byte_spans], dtype=np.int64),
        ).tolist(),
        "special": [False] * len(ids),
        "n_tokens": len(ids),
        "n_chars": len(text),
        "n_bytes": pos,
    }


def built_rows(result: TrainingResult, text: str, limit_words: int = 8) -> dict[str, Any]:
    """Rows of chips that show how the first ``limit_words`` words of ``text`` are built: the
    start, then one row per merge (long words cut, see ``TrainingResult.build``)."""
    text = (text or "").strip()
    if not text:
        return {"word": "", "rows": [], "note": ""}
    rows: list[dict[str, Any]] = []
    words = result.build(text, limit=limit_words)
    notes = []
    for w in words:
        surface = w["word"]
        if w["cut"]:
            notes.append(
                f"A word of {w['cut']:,} characters is built from its start only (the limit report_word_chars"
                f" is {LIMITS.report_word_chars}); on its own that start may end in other tokens than the whole word."
            )
        if result.algorithm == "unigram":
            scores = ", ".join(f"{result.display(i)!s}: {s:.2f}" for i, s in zip(w["final"], w.get("scores", [])))
            rows.append(_row(result, f"most likely split (log-probabilities {scores})", surface, w["final"]))
            notes.append("Unigram has no merges: it keeps the split of each word with the highest probability.")
            continue
        rows.append(_row(result, f"start: {len(w['start'])} symbols", surface, w["start"]))
        for step in w["steps"]:
            label = (
                f"merge #{step['rank']}: {result.display(step['left'])!s} + {result.display(step['right'])!s}"
                f" → id {step['id']} (pair seen {step['frequency']:,}×)"
            )
            rows.append(_row(result, label, surface, step["symbols"]))
        if result.algorithm == "wordpiece":
            rows.append(_row(result, "WordPiece's own split (longest match first)", surface, w["final"]))
            notes.append("WordPiece grew its vocabulary by merges but encodes by taking the longest piece that fits.")
    return {"word": text, "rows": rows, "note": " ".join(dict.fromkeys(notes))}


# -- progress -----------------------------------------------------------------------------------
def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:,.1f} MB"


def progress_text(p: TrainingProgress) -> str:
    """One line about where training stands."""
    parts = [p.phase]
    if p.bytes_total:
        share = min(1.0, p.bytes_read / p.bytes_total)
        parts.append(f"{_mb(p.bytes_read)} of {_mb(p.bytes_total)} read ({share:.0%})")
    elif p.bytes_read:
        parts.append(f"{_mb(p.bytes_read)} read")
    if p.lines:
        parts.append(f"{p.lines:,} lines")
    parts.append(f"{p.elapsed:.1f} s")
    if p.rss:
        parts.append(f"memory {p.rss / 2**20:,.0f} MB")
    return " · ".join(parts)


class ProgressDisplay:
    """Shows training progress in the notebook output, updated in place (a display handle)."""

    def __init__(self) -> None:
        self._handle = None

    def __call__(self, p: TrainingProgress) -> None:
        from IPython.display import HTML, display

        share = (p.bytes_read / p.bytes_total) if p.bytes_total else None
        bar = ""
        if share is not None and p.phase.startswith("reading"):
            bar = f'<progress value="{share:.3f}" max="1" style="width:14em;vertical-align:middle"></progress> '
        line = escape(progress_text(p))
        html = HTML(f'<div class="tokenlens-progress" style="font-family:monospace">{bar}{line}</div>')
        if self._handle is None:
            self._handle = display(html, display_id=True)
        else:
            self._handle.update(html)


# -- the static copy ----------------------------------------------------------------------------
def merge_chart_svg(frequencies: Sequence[int], width: int = 560, height: int = 200) -> str:
    """Merge frequency (log scale) against rank, as plain SVG (no scripts, no network)."""
    if not frequencies:
        return ""
    pad_l, pad_b, pad_t, pad_r = 56, 28, 10, 10
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max(max(frequencies), 1)
    log_top = math.log10(top) if top > 1 else 1.0
    n = len(frequencies)
    step = max(1, n // 800)  # at most ~800 points drawn
    pts = []
    for r in range(0, n, step):
        f = max(frequencies[r], 1)
        x = pad_l + (r / max(n - 1, 1)) * w
        y = pad_t + h - (math.log10(f) / log_top) * h
        pts.append(f"{x:.1f},{y:.1f}")
    ticks = []
    for k in range(int(math.floor(log_top)) + 1):
        y = pad_t + h - (k / log_top) * h
        ticks.append(
            f'<line x1="{pad_l - 4}" x2="{pad_l}" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor"/>'
            f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{10**k:,}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img"'
        f' aria-label="merge frequency against merge rank">'
        f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="currentColor"/>'
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + h}" stroke="currentColor"/>'
        + "".join(ticks)
        + f'<polyline fill="none" stroke="#3b82f6" stroke-width="1.5" points="{" ".join(pts)}"/>'
        f'<text x="{pad_l + w / 2:.0f}" y="{height - 6}" text-anchor="middle" font-size="11">'
        f"merge rank (0 … {n - 1:,})</text>"
        f'<text x="12" y="{pad_t + h / 2:.0f}" font-size="11" transform="rotate(-90 12 {pad_t + h / 2:.0f})"'
        ' text-anchor="middle">pair frequency</text>'
        "</svg>"
    )


def _fit_table(result: TrainingResult) -> str:
    if not result.fit:
        return (
            "<p><i>No held-out text was given, so the fit was not measured (use --eval FILE or"
            " --holdout 0.05, and --compare gpt2 to compare).</i></p>"
        )
    head = (
        "<tr><th>tokenizer</th><th>tokens</th><th>chars/token</th><th>fertility</th>"
        "<th>continued words</th><th>byte pieces</th><th>unknown</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{escape(f.tokenizer)}</td><td>{f.tokens:,}</td><td>{f.chars_per_token:.2f}</td>"
        f"<td>{f.fertility:.2f}</td><td>{f.continued_words:.1%}</td><td>{f.byte_pieces:.1%}</td>"
        f"<td>{f.unknown:.1%}</td></tr>"
        for f in result.fit
    )
    return f'<table class="tokenlens-fit">{head}{rows}</table>'


def report_html(result: TrainingResult, merges_shown: int = 100) -> str:
    """The report as static HTML: what a saved notebook shows where the widget cannot run."""
    from tokenlens.core.tokenized import Tokenized
    from tokenlens.views.html import tokenized_html

    s = result.seconds
    mem = result.memory.get("peak_rss", 0) / 2**20
    c = result.corpus
    skipped = len(c.get("files_skipped") or []) + int(c.get("items_skipped") or 0)
    made = (
        f"{result.vocab_size - len(result.special_tokens):,} pieces"
        if result.algorithm == "unigram"
        else f"{result.alphabet_size:,} alphabet + {len(result.merges):,} merges"
    )
    parts = [
        '<div class="tokenlens-static tokenlens-train-report" style="font-family:sans-serif;line-height:1.5">',
        f"<h4 style='margin:0'>{escape(result.name)} · {escape(result.algorithm)} ·"
        f" {result.vocab_size:,} tokens (asked {result.requested_vocab_size:,})</h4>",
        f"<div>{made} + {len(result.special_tokens)}"
        f" special · trained in {s.get('train', 0):.1f} s (merge frequencies counted in {s.get('count', 0):.1f} s)"
        f" · peak memory {mem:,.0f} MB · {c.get('bytes_read', 0) / 1e6:,.1f} MB, {c.get('lines', 0):,} lines"
        + (f" · {skipped} skipped" if skipped else "")
        + (f" · {escape(c['seen'])}" if c.get("seen") else "")
        + f"</div><div>saved in <code>{escape(str(result.path))}</code></div>",
        "<h5>Fit on held-out text</h5>",
        _fit_table(result),
    ]
    if result.merges:
        parts += ["<h5>Merge frequency against rank</h5>", merge_chart_svg([m.frequency for m in result.merges])]
    built = built_rows(result, result.word) if result.word else {"rows": []}
    if built["rows"]:
        parts.append(f"<h5>How {escape(result.word)!s} was built</h5>")
        toks = [
            Tokenized(
                text=r["text"],
                tokenizer=r["tokenizer"],
                ids=r["ids"],
                tokens=r["tokens"],
                pieces=r["pieces"],
                spans=[tuple(x) for x in r["spans"]],
                special=r["special"],
            )
            for r in built["rows"]
        ]
        parts.append(tokenized_html(toks))
    if result.merges:
        parts.append(
            "<h5>Merges in order</h5><p>The id of a merged token follows the order it was made in, not how"
            " often it is used: compare <i>id</i> with <i>uses</i>.</p>"
        )
        head = (
            "<tr><th>rank</th><th>left + right</th><th>token</th><th>id</th><th>pair frequency</th><th>uses</th></tr>"
        )
        rows = "".join(
            f"<tr><td>{m.rank}</td><td>{escape(result.display(m.left_id))} + {escape(result.display(m.right_id))}</td>"
            f"<td>{escape(result.display(m.id))}</td><td>{m.id}</td><td>{m.frequency:,}</td>"
            f"<td>{result.uses[m.id] if m.id < len(result.uses) else 0:,}</td></tr>"
            for m in result.merges[:merges_shown]
        )
        more = len(result.merges) - merges_shown
        parts.append(f"<table>{head}{rows}</table>")
        if more > 0:
            parts.append(f"<p>… {more:,} more merges in the live report and in tokenlens_training.json.</p>")
    parts.append("</div>")
    return "".join(parts)


__all__ = ["ProgressDisplay", "TrainReportWidget", "built_rows", "merge_chart_svg", "progress_text", "report_html"]
