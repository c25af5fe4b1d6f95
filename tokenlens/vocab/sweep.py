"""BPE, WordPiece and Unigram side by side: each trained at several vocabulary sizes on one corpus
(:func:`tokenlens.vocab.train.train_tokenizer`, kept in memory unless ``save=True``) and measured
on the same held-out text as published tokenizers, the reference points.

For each tokenizer the sweep keeps the fertility (tokens per word, :mod:`tokenlens.measure.fertility`'s
one definition, through ``stats``), the share of its vocabulary the held-out text actually uses,
and how often each id is used there: an id is the order a token was made in, so the chart of
use against id shows how closely that order follows frequency.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tokenlens.errors import InputError

#: most tokenizers one sweep may train (algorithms × sizes); each is a whole training run
MAX_RUNS = 24


@dataclass
class SweepRow:
    """One tokenizer of a sweep: trained here (``algorithm``) or a published reference."""

    tokenizer: str
    #: "bpe", "wordpiece", "unigram", or "reference"
    algorithm: str
    vocab_size: int
    fertility: float
    chars_per_token: float
    tokens: int
    #: distinct ids the held-out text uses
    used: int
    #: how often each id is used in the held-out text, for the ids it uses (ids ascending)
    id_counts: list[tuple[int, int]] = field(repr=False, default_factory=list)

    @property
    def used_share(self) -> float:
        return self.used / self.vocab_size if self.vocab_size else 0.0

    @property
    def id_frequency_correlation(self) -> float:
        """Spearman's rank correlation of id and use over the ids used: −1 when later ids are
        always rarer (the id is a frequency rank), near 0 when the order says nothing of use."""
        if len(self.id_counts) < 3:
            return float("nan")
        ids, counts = np.array(self.id_counts, dtype=float).T
        ri = np.argsort(np.argsort(ids))
        rc = _average_ranks(counts)
        return float(np.corrcoef(ri, rc)[0, 1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "algorithm": self.algorithm,
            "vocab_size": self.vocab_size,
            "fertility": self.fertility,
            "chars_per_token": self.chars_per_token,
            "tokens": self.tokens,
            "used": self.used,
            "used_share": self.used_share,
            "id_frequency_correlation": self.id_frequency_correlation,
        }


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties given their mean rank (as Spearman's correlation needs)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


@dataclass
class Sweep:
    """The rows of a sweep, its trained results, and where it was measured; shows as static
    charts (:mod:`tokenlens.views.sweep`): nothing in them needs a live widget."""

    rows: list[SweepRow]
    #: the training results, by tokenizer name (each displays as its training report)
    results: dict[str, Any]
    #: what the numbers were measured on
    measured_on: str

    def __getitem__(self, name: str) -> SweepRow:
        for row in self.rows:
            if row.tokenizer == name:
                return row
        raise KeyError(f"No tokenizer {name!r} in this sweep; it has {', '.join(r.tokenizer for r in self.rows)}.")

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([r.to_dict() for r in self.rows]).set_index("tokenizer")

    def __repr__(self) -> str:
        lines = [f"Sweep of {len(self.results)} trained tokenizers, measured on {self.measured_on}:"]
        for r in self.rows:
            lines.append(
                f"  {r.tokenizer}: {r.vocab_size:,} tokens, fertility {r.fertility:.2f},"
                f" {r.used:,} used ({r.used_share:.0%}), id~use correlation {r.id_frequency_correlation:+.2f}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from tokenlens.views.sweep import sweep_html

        return sweep_html(self)


def _texts(corpus: Any, files: Any, field_name: str | None) -> list[str]:
    from tokenlens.vocab.train import _read_heldout

    if isinstance(corpus, Iterator):
        raise InputError(
            "A sweep reads the corpus once per tokenizer, and an iterator can be read only once:"
            " give a list of strings, one string, or files=."
        )
    if corpus is not None and not isinstance(corpus, str | Sequence) and not hasattr(corpus, "tolist"):
        raise InputError(f"The corpus must be a string, a list of strings or files=, not {type(corpus).__name__}.")
    if hasattr(corpus, "tolist"):  # a pandas Series or NumPy array of strings
        corpus = corpus.tolist()
    text = _read_heldout(corpus, files, field_name)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputError("The corpus is empty: give some text to train on (a list of strings, or files=).")
    return lines


def _measure(name: str, algorithm: str, backend, held: str) -> SweepRow:
    from tokenlens.measure.fit import measure_fit

    fit = measure_fit(held, [backend])[0]
    counts = Counter()
    for line in held.splitlines():
        counts.update(backend.encode(line, add_special_tokens=False).ids)
    return SweepRow(
        name,
        algorithm,
        backend.vocab_size,
        fit.fertility,
        fit.chars_per_token,
        fit.tokens,
        len(counts),
        sorted(counts.items()),
    )


def sweep(
    corpus: Any = None,
    *,
    files: Any = None,
    field: str | None = None,
    algorithms: Sequence[str] = ("bpe", "wordpiece", "unigram"),
    vocab_sizes: Sequence[int] = (500, 1000, 2000),
    reference: Sequence[str] = ("gpt2", "bert-base-uncased", "llama-2"),
    heldout: Any = None,
    holdout: float = 0.1,
    seed: int = 0,
    save: bool = False,
    prefix: str = "sweep",
    **options: Any,
) -> Sweep:
    """Train every algorithm at every vocabulary size on ``corpus`` (a string, a list of strings)
    or ``files``, and measure each, with the ``reference`` tokenizers, on held-out text.

    The held-out text is ``heldout`` or, by default, a ``holdout`` share of the corpus lines drawn
    with ``seed`` (kept out of training); a corpus of fewer than 10 lines is measured on itself.
    ``save=True`` registers each tokenizer as ``{prefix}-{algorithm}-{size}``; other keyword
    options go to each training (``min_frequency``, ``normalizer``, ``pre_tokenizer``…).
    """
    from tokenlens.backends.hf import HFBackend
    from tokenlens.core.api import load
    from tokenlens.vocab.options import ALGORITHMS
    from tokenlens.vocab.train import train_tokenizer

    algorithms = [algorithms] if isinstance(algorithms, str) else list(algorithms)
    sizes = [vocab_sizes] if isinstance(vocab_sizes, int) else list(vocab_sizes)
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown or not algorithms:
        raise InputError(f"Algorithms to sweep are {', '.join(ALGORITHMS)}; not {unknown or 'none'}.")
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise InputError(f"vocab_sizes must be whole numbers of 1 or more, like (500, 1000, 2000); not {sizes!r}.")
    if len(algorithms) * len(sizes) > MAX_RUNS:
        raise InputError(
            f"That is {len(algorithms) * len(sizes)} trainings; a sweep runs at most {MAX_RUNS}."
            " Give fewer algorithms or sizes."
        )
    if not 0 <= holdout < 1:
        raise InputError(f"holdout is a share of the lines from 0 to 1 (0.1 is usual), not {holdout!r}.")
    for key in ("name", "algorithm", "vocab_size", "progress"):
        if key in options:
            raise InputError(f"A sweep sets {key} itself for each training; leave it out.")
    refs = [load(r) for r in ([reference] if isinstance(reference, str) else reference)]
    lines = _texts(corpus, files, field)
    if heldout is not None:
        held, train, measured_on = _texts(heldout, None, None), lines, "the held-out text given"
    elif len(lines) < 10 or not holdout:
        held, train, measured_on = lines, lines, "the training text itself (too few lines to hold any back)"
    else:
        shuffled = lines[:]
        random.Random(seed).shuffle(shuffled)
        cut = max(1, round(len(lines) * holdout))
        held, train = shuffled[:cut], shuffled[cut:]
        measured_on = f"{cut} held-out lines of {len(lines)} (seed {seed})"
    held_text = "\n".join(held) + "\n"
    rows, results = [], {}
    for algorithm in algorithms:
        for size in sizes:
            name = f"{prefix}-{algorithm}-{size}"
            result = train_tokenizer(
                train, name=name, algorithm=algorithm, vocab_size=size, progress=False, save=save, **options
            )
            results[name] = result
            rows.append(_measure(name, algorithm, HFBackend(name, result.tokenizer), held_text))
    rows += [_measure(r.name, "reference", r, held_text) for r in refs]
    return Sweep(rows, results, measured_on)


__all__ = ["Sweep", "SweepRow", "sweep"]
