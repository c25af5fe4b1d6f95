"""The fit of a tokenizer on a text, as the training report shows it: a row of ``stats``.

:func:`measure_fit` measures the text with :func:`tokenlens.measure.stats.stats`, as one text,
so the report's fertility, split words ("continued words") and unknown tokens are the numbers
``stats(text, tokenizer)`` and ``%tokenizer_stats`` give for the same text: one definition of a
word and of the tokens it is charged (:mod:`tokenlens.measure.fertility`), and one of the
unknown token (the backend's token table).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.measure.stats import Stats, TokenizerLike


def _defined(value: float) -> float:
    # The report stores JSON for the browser, which has no NaN: an undefined share reads 0.
    return 0.0 if math.isnan(value) else value


@dataclass
class Fit:
    """How well a tokenizer fits a text (no special tokens added)."""

    tokenizer: str
    tokens: int
    chars: int
    words: int
    #: characters per token: higher is a better compression
    chars_per_token: float
    #: tokens charged per whitespace-separated word (``Stats.fertility``): lower is better
    fertility: float
    #: share of words charged two or more tokens (``Stats.split_share``)
    continued_words: float
    #: share of tokens that hold only part of a character, its raw bytes (``Stats.partial_char_share``)
    byte_pieces: float
    #: share of tokens that are the unknown token (``Stats.unknown_share``)
    unknown: float

    @classmethod
    def of(cls, stats: Stats) -> Fit:
        return cls(
            tokenizer=stats.tokenizer,
            tokens=stats.n_tokens,
            chars=stats.n_chars,
            words=stats.n_words,
            chars_per_token=_defined(stats.chars_per_token),
            fertility=_defined(stats.fertility),
            continued_words=_defined(stats.split_share),
            byte_pieces=_defined(stats.partial_char_share),
            unknown=_defined(stats.unknown_share),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_fit(text: str, tokenizers: Iterable[TokenizerLike]) -> list[Fit]:
    """The fit of each tokenizer (a name or a loaded one) on ``text``, measured as one text."""
    from tokenlens.measure.stats import stats

    return [Fit.of(stats(text, t, progress=False)) for t in tokenizers]


__all__ = ["Fit", "measure_fit"]
