"""The dataset view: tokens per row of one column under one tokenizer, for a context length.

The histogram of tokens per row, the rows a model would truncate, the longest rows (which open
in the token view), the total token count and its cost at a price per million tokens. The
counting is :func:`tokenlens.measure.stats.stats`; this module reads its bounded summary of
tokens per row (:class:`tokenlens.measure.tally.Lengths`), so a view of any number of rows takes
the memory of a few batches: every number is exact, and the longest 100 rows are kept (more
with ``longest=``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tokenlens.backends import Backend
from tokenlens.errors import InputError
from tokenlens.measure import distributed
from tokenlens.measure.stats import Stats, TokenizerLike, stats
from tokenlens.measure.tally import Lengths
from tokenlens.sources.texts import Texts, as_texts, shorten
from tokenlens.views.display import ShownAsWidget

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.core.api import Comparison

#: characters of a row that the token view opens (a longer row is cut, with a note)
OPEN_CHARS = 20_000


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


@dataclass
class DatasetView(ShownAsWidget):
    """Token counts of every row of a dataset column under one tokenizer, for a context length."""

    _widget_class = "tokenlens.views.dataset:DatasetWidget"

    stats: Stats
    context_length: int | None = None
    price_per_million: float | None = None
    n_longest: int = 10
    _source: Texts | None = field(default=None, repr=False)
    _widget: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def tokenizer(self) -> str:
        return self.stats.tokenizer

    @property
    def label(self) -> str:
        return self.stats.label

    @property
    def token_counts(self) -> np.ndarray | None:
        """Tokens of every row, kept up to ``Limits.stats_row_counts`` rows (None beyond)."""
        return self.stats.token_counts

    @property
    def lengths(self) -> Lengths:
        return self.stats.lengths

    @property
    def n_rows(self) -> int:
        return self.stats.n_texts

    @property
    def total_tokens(self) -> int:
        return self.stats.n_tokens

    @property
    def n_truncated(self) -> int:
        """Rows with more tokens than the context length (0 without a context length)."""
        return self.lengths.over(self.context_length)[0] if self.context_length else 0

    @property
    def tokens_cut(self) -> int:
        """Tokens beyond the context length, summed over the truncated rows."""
        return self.lengths.over(self.context_length)[1] if self.context_length else 0

    def cost(self, price_per_million: float | None = None) -> float | None:
        """Price of all tokens at ``price_per_million`` (currency per 1M tokens)."""
        price = self.price_per_million if price_per_million is None else price_per_million
        if price is None:
            return None
        if price < 0 or not math.isfinite(price):
            raise InputError(f"The price per million tokens must be a finite number ≥ 0, not {price}.")
        return self.total_tokens / 1e6 * price

    def summary(self) -> dict[str, Any]:
        c = self.lengths
        has = c.n > 0
        return {
            "tokenizer": self.tokenizer,
            "label": self.label,
            "rows": self.n_rows,
            "total_tokens": self.total_tokens,
            "mean": self.total_tokens / c.n if has else math.nan,
            "median": c.median(),
            "p95": c.percentile(95),
            "max": c.max,
            "empty_rows": self.stats.n_empty,
            "context_length": self.context_length,
            "truncated_rows": self.n_truncated,
            "truncated_share": _share(self.n_truncated, self.n_rows),
            "tokens_cut": self.tokens_cut,
            "price_per_million": self.price_per_million,
            "cost": self.cost(),
            "add_special_tokens": self.stats.add_special_tokens,
        }

    def histogram(self, bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
        """(counts, edges) of the token counts per row, integer-aligned bins."""
        c = self.lengths
        top = c.max if c.n else 1
        if self.context_length:
            top = max(top, int(self.context_length))
        width = max(1, math.ceil((top + 1) / bins))
        edges = np.arange(0, top + width + 1, width)
        return c.histogram(edges), edges

    def longest(self, n: int | None = None) -> list[dict[str, Any]]:
        """The longest rows: row number, tokens and the first characters of the text."""
        n = self.n_longest if n is None else n
        if n <= 0:
            return []
        if n > self.lengths.keep and self.token_counts is None:
            raise InputError(
                f"This view kept its {self.lengths.keep} longest rows (its rows are too many to keep"
                f" every count); ask for at most {self.lengths.keep}, or make the view again with longest={n}."
            )
        top = self._top(n)
        readable = self._source is not None and not self._source.once()  # a generator is read once: no previews
        texts = self._source.get_many([row for _, row in top]) if readable else {}
        out = []
        for tokens, row in top:
            text = texts.get(row, "")
            out.append(
                {
                    "row": row,
                    "tokens": tokens,
                    "chars": len(text),
                    "preview": shorten(text.replace("\n", " "), 160),
                    "truncated": bool(self.context_length and tokens > self.context_length),
                }
            )
        return out

    def _top(self, n: int) -> list[tuple[int, int]]:
        """(tokens, row) of the ``n`` longest rows, most tokens first (ties: the earlier row)."""
        c = self.token_counts
        if n <= self.lengths.keep or c is None:
            return self.lengths.longest()[:n]
        top = np.lexsort((np.arange(len(c)), -c))[:n]
        return [(int(c[i]), int(i)) for i in top]

    def text(self, row: int) -> str:
        if self._source is None:
            raise InputError("This view does not keep its texts, so rows cannot be opened.")
        if self._source.once():
            raise InputError(
                "These texts came from a generator, which can be read only once, so rows cannot be"
                " opened. Pass a list, files or a dataset to open rows."
            )
        if not 0 <= row < self.n_rows:
            raise InputError(
                f"Row {row} is out of range: the column has {self.n_rows:,} rows (0 to {self.n_rows - 1})."
            )
        return self._source.get_many([row])[row]

    def open(self, row: int, limit: int = OPEN_CHARS) -> Comparison:
        """Row ``row`` in the token view (its first ``limit`` characters if it is longer)."""
        from tokenlens.core.api import compare

        text = self.text(row)
        return compare(text[:limit], [self.tokenizer], add_special_tokens=self.stats.add_special_tokens)

    def open_note(self, row: int, limit: int = OPEN_CHARS) -> str:
        n = len(self.text(row))
        if n > limit:
            return f"Row {row} has {n:,} characters; the token view shows the first {limit:,}."
        return ""

    def to_dict(self) -> dict[str, Any]:
        counts, edges = self.histogram()
        return {
            "summary": self.summary(),
            "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
            "longest": self.longest(),
            "stats": self.stats.to_dict(),
        }

    def __repr__(self) -> str:
        s = self.summary()
        parts = [f"{s['rows']:,} rows", f"{s['total_tokens']:,} tokens", f"max {s['max']:,}"]
        if self.context_length:
            parts.append(f"{s['truncated_rows']:,} rows over {self.context_length:,} tokens")
        if s["cost"] is not None:
            parts.append(f"cost {s['cost']:.4g} at {self.price_per_million:g} per 1M tokens")
        return f"DatasetView({self.tokenizer!r} on {self.label!r}: " + ", ".join(parts) + ")"

    def _repr_html_(self) -> str:
        from tokenlens.views.charts import dataset_html

        return dataset_html(self)


def dataset_view(
    texts: Any,
    tokenizer: TokenizerLike = "gpt2",
    context_length: int | None = 2048,
    price_per_million: float | None = None,
    *,
    add_special_tokens: bool = True,
    longest: int = 10,
    whole_files: bool = False,
    field: str | None = None,
    label: str | None = None,
    num_threads: int | None = None,
    progress: bool | None = None,
    engine: str | None = None,
    num_cpus: int | None = None,
) -> DatasetView:
    """Token counts per row of ``texts`` (a column, list, files…) under ``tokenizer``.

    Shows the histogram of tokens per row, the rows longer than ``context_length`` (truncated
    when a model reads them), the longest rows (click to open them in the token view), the
    total token count and its cost at ``price_per_million``. Special tokens are counted, as a
    model receives them. ``texts`` are read as :func:`~tokenlens.measure.stats.stats` reads them,
    a ``ray.data.Dataset`` too; ``engine="ray"`` and ``num_cpus`` count in Ray workers, as there.
    """
    if context_length is not None and (not isinstance(context_length, int) or context_length < 1):
        raise InputError(f"The context length must be a whole number of tokens ≥ 1, not {context_length!r}.")
    if isinstance(texts, Mapping):
        raise InputError("The dataset view takes one column of texts, not a dict of several.")
    if not isinstance(tokenizer, (str, Backend)):
        raise InputError("The dataset view takes one tokenizer; use stats() to compare several.")
    engine = distributed.choose_engine(engine, texts)
    source = as_texts(distributed.wrap(texts, label, field), label, whole_files, field)
    if engine == "ray":  # the Ray source keeps the longest rows' texts that the workers send back
        source = distributed.as_ray_texts(source)
    result = stats(
        source,
        tokenizer,
        add_special_tokens=add_special_tokens,
        num_threads=num_threads,
        progress=progress,
        engine=engine,
        num_cpus=num_cpus,
    )
    view = DatasetView(result, context_length, price_per_million, longest, source)
    view.cost()  # refuse a bad price now, not when displayed
    return view


__all__ = ["DatasetView", "dataset_view"]
