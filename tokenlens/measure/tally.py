"""What measuring counts, as partial results that merge exactly: :class:`Tally` and :class:`Lengths`.

``measure()`` folds each batch of texts into a :class:`Tally`; two tallies of consecutive runs of
texts merge into the tally of both (``a.merge(b)``: ``b``'s texts follow ``a``'s), so batches,
files or workers can be measured apart and added up to the last digit. A tally's memory does not
grow with the corpus: the counts are integers, and the tokens per text are kept as
:class:`Lengths`, a bounded summary (texts per token count, the longest texts) from which the
dataset view's total, mean, median, percentiles, histogram, truncated rows and longest rows
are computed exactly. The per-text counts themselves are kept only while the texts number at
most ``Limits.stats_row_counts`` (8 bytes a text); beyond that ``Stats.token_counts`` is None.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

#: token counts below this are tallied in a dense array (8 bytes each); larger ones in a dict
DENSE_COUNTS = 1 << 16
#: longest texts every tally keeps (rows and token counts), for the dataset view
KEEP_LONGEST = 100


@dataclass
class Lengths:
    """Tokens per text, summarised exactly in bounded memory.

    ``by_count[v]`` texts have ``v`` tokens (for ``v`` below :data:`DENSE_COUNTS`; larger
    counts are in ``large``, which holds at most √(2 × tokens) distinct keys), ``longest`` the
    (tokens, row) of the ``keep`` texts with most tokens (ties: the earlier row), and ``rows``
    the count of every text while there are at most ``keep_rows`` of them (None after).
    """

    keep: int = KEEP_LONGEST
    keep_rows: int = 0
    n: int = 0
    by_count: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    large: dict[int, int] = field(default_factory=dict)
    #: a min-heap of (tokens, -row): the smallest of the kept longest texts comes first
    heap: list[tuple[int, int]] = field(default_factory=list)
    parts: list[np.ndarray] | None = field(default_factory=list)

    def add(self, counts: np.ndarray, first_row: int | None = None) -> None:
        """Fold the token counts of the next texts in (rows from ``first_row``, default: next)."""
        counts = np.asarray(counts, dtype=np.int64)
        first_row = self.n if first_row is None else first_row
        small = counts[counts < DENSE_COUNTS]
        if len(small):
            self._add_dense(np.bincount(small))
        for v, k in zip(*np.unique(counts[counts >= DENSE_COUNTS], return_counts=True)):
            self.large[int(v)] = self.large.get(int(v), 0) + int(k)
        for i in self._batch_longest(counts):
            self._offer(int(counts[i]), first_row + int(i))
        self.n += len(counts)
        if self.parts is not None:
            self.parts.append(counts)
            if self.n > self.keep_rows:
                self.parts = None

    def _batch_longest(self, counts: np.ndarray) -> np.ndarray:
        """A batch's own ``keep`` longest (ties: the earlier row): only they can enter the kept ones."""
        if len(counts) <= self.keep or not self.keep:
            return np.arange(len(counts) if self.keep else 0)
        threshold = np.partition(counts, len(counts) - self.keep)[len(counts) - self.keep]
        candidates = np.flatnonzero(counts >= threshold)
        return candidates[np.lexsort((candidates, -counts[candidates]))[: self.keep]]

    def _add_dense(self, more: np.ndarray) -> None:
        if len(more) > len(self.by_count):
            more = more.copy()
            more[: len(self.by_count)] += self.by_count
            self.by_count = more
        else:
            self.by_count[: len(more)] += more

    def _offer(self, tokens: int, row: int) -> None:
        item = (tokens, -row)
        if len(self.heap) < self.keep:
            heapq.heappush(self.heap, item)
        elif self.keep and item > self.heap[0]:
            heapq.heapreplace(self.heap, item)

    def merge(self, other: Lengths) -> Lengths:
        """Add ``other``'s texts as the ones that follow these (their rows move up by ``self.n``)."""
        self._add_dense(other.by_count)
        for v, k in other.large.items():
            self.large[v] = self.large.get(v, 0) + k
        for tokens, neg_row in other.heap:
            self._offer(tokens, self.n - neg_row)
        if self.parts is not None and other.parts is not None and self.n + other.n <= self.keep_rows:
            self.parts.extend(other.parts)
        else:
            self.parts = None
        self.n += other.n
        return self

    # -- what the results read ------------------------------------------------------------------

    @property
    def rows(self) -> np.ndarray | None:
        """Tokens of every text in order, while they number at most ``keep_rows`` (else None)."""
        if self.parts is None:
            return None
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int64)

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """(token counts that occur, in increasing order; how many texts have each)."""
        dense = np.flatnonzero(self.by_count)
        large = sorted(self.large)
        return (
            np.concatenate([dense, np.array(large, dtype=np.int64)]),
            np.concatenate([self.by_count[dense], np.array([self.large[v] for v in large], dtype=np.int64)]),
        )

    @property
    def total(self) -> int:
        v, k = self.values()
        return int((v * k).sum())

    @property
    def max(self) -> int:
        v, _ = self.values()
        return int(v[-1]) if len(v) else 0

    def over(self, limit: int) -> tuple[int, int]:
        """(texts with more than ``limit`` tokens, tokens beyond ``limit`` summed over them)."""
        v, k = self.values()
        above = v > limit
        return int(k[above].sum()), int(((v[above] - limit) * k[above]).sum())

    def _at(self, index: int, v: np.ndarray, cumulative: np.ndarray) -> int:
        """The ``index``-th smallest count (from 0)."""
        return int(v[np.searchsorted(cumulative, index, side="right")])

    def percentile(self, q: float) -> float:
        """``np.percentile(counts, q)`` (linear method), from the summary, to the last bit."""
        if not self.n:
            return math.nan
        v, k = self.values()
        cumulative = np.cumsum(k)
        # numpy's own arithmetic (np.percentile → _quantile, method "linear"), step by step
        quantile = np.true_divide(np.float64(q), 100)
        index = (self.n - 1) * quantile
        if index >= self.n - 1:
            return float(v[-1])
        below = max(int(np.floor(index)), 0)
        gamma = index - np.floor(index)
        a = np.int64(self._at(below, v, cumulative))
        diff = np.int64(self._at(below + 1, v, cumulative)) - a
        b = a + diff
        return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)

    def median(self) -> float:
        if not self.n:
            return math.nan
        v, k = self.values()
        cumulative = np.cumsum(k)
        half = (self.n - 1) // 2
        lo, hi = self._at(half, v, cumulative), self._at(self.n // 2, v, cumulative)
        return float(np.mean(np.array([lo, hi], dtype=np.float64)))

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        """``np.histogram(counts, bins=edges)[0]``."""
        v, k = self.values()
        counts, _ = np.histogram(v, bins=edges, weights=k)
        return counts.astype(np.int64)

    def longest(self) -> list[tuple[int, int]]:
        """(tokens, row) of the kept longest texts, most tokens first (ties: the earlier row)."""
        return [(tokens, -neg_row) for tokens, neg_row in sorted(self.heap, reverse=True)]


@dataclass
class Tally:
    """The counts of measuring consecutive texts with one tokenizer; :meth:`merge` adds two up."""

    n_texts: int = 0
    n_empty: int = 0
    #: tokens the engine gave, without the special tokens a model adds to every text
    n_tokens: int = 0
    n_chars: int = 0
    n_bytes: int = 0
    n_words: int = 0
    n_word_tokens: int = 0
    n_split_words: int = 0
    n_unknown: int = 0
    n_byte_fallback: int = 0
    n_partial: int = 0
    #: characters of the longest text and its row (from 0, among this tally's texts)
    longest: int = 0
    longest_row: int = 0
    #: tokens per text, special tokens included
    lengths: Lengths = field(default_factory=Lengths)

    COUNTS = (
        "n_texts",
        "n_empty",
        "n_tokens",
        "n_chars",
        "n_bytes",
        "n_words",
        "n_word_tokens",
        "n_split_words",
        "n_unknown",
        "n_byte_fallback",
        "n_partial",
    )

    def merge(self, other: Tally) -> Tally:
        """Add ``other``, the tally of the texts that follow these; returns self."""
        if other.longest > self.longest:
            self.longest, self.longest_row = other.longest, self.n_texts + other.longest_row
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lengths.merge(other.lengths)
        return self


__all__ = ["DENSE_COUNTS", "KEEP_LONGEST", "Lengths", "Tally"]
