"""What part of a corpus a tokenizer is trained on: all of it, the first N lines, or a seeded
uniform sample of N lines drawn in one streaming pass.

The ``tokenizers`` trainers keep a count of every distinct word in memory, so a corpus with tens
of millions of distinct words may not fit; a sample bounds that by N lines. The sample is
reservoir sampling, Algorithm L (Li, 1994): every line has the same chance N / total of being
kept, only N lines are ever held, and the random generator is called about N·(1 + log(total/N))
times rather than once a line. The lines kept are handed to the trainer in their corpus order.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from tokenlens.errors import InputError

T = TypeVar("T")

#: the seed a sample is drawn with unless another is given, so two runs draw the same lines
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Portion:
    """How much of the corpus to train on: ``sample`` lines drawn with ``seed``, the first
    ``max_lines`` lines, or (both None) all of it."""

    sample: int | None = None
    max_lines: int | None = None
    seed: int = DEFAULT_SEED

    def checked(self) -> Portion:
        """The portion with its numbers as ``int``; a clear error for anything else."""
        if self.sample is not None and self.max_lines is not None:
            raise InputError(
                "Give --sample N or --max-lines N, not both: --sample draws N lines at random from the"
                " whole corpus (it reads all of it once), --max-lines trains on the first N lines and"
                " reads no further."
            )
        sample, max_lines = (
            _lines(flag, v) for flag, v in (("--sample", self.sample), ("--max-lines", self.max_lines))
        )
        return Portion(sample=sample, max_lines=max_lines, seed=_whole("--seed", self.seed))


def _whole(flag: str, value: Any) -> int:
    """``value`` as an int (numpy integers too), never a bool or a float."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise InputError(f"{flag} takes a whole number, like {flag} 100000; got {value!r}.") from None


def _lines(flag: str, value: Any) -> int | None:
    if value is None:
        return None
    n = _whole(flag, value)
    if n < 1:
        raise InputError(
            f"{flag} takes a number of lines of at least 1, like {flag} 100000; got {n:,}."
            " Leave it out to train on the whole corpus."
        )
    return n


def reservoir(items: Iterable[T], k: int, seed: int = DEFAULT_SEED) -> list[T]:
    """A uniform sample of ``k`` items of ``items`` (all of them if fewer), read once, in the
    order they came; the same items for the same ``seed``."""
    rng = random.Random(seed)
    kept: list[tuple[int, T]] = []
    it = iter(items)
    for index, item in enumerate(it):
        kept.append((index, item))
        if index + 1 == k:
            break
    if len(kept) < k:
        return [item for _, item in kept]
    w = math.exp(math.log(_open_unit(rng)) / k)
    index = k - 1
    while True:
        # skip the items that would not be kept: a geometric number of them
        skip = math.floor(math.log(_open_unit(rng)) / math.log1p(-w)) if w < 1.0 else 0
        deque(itertools.islice(it, skip), maxlen=0)
        index += skip + 1
        item = next(it, _END)
        if item is _END:
            break
        kept[rng.randrange(k)] = (index, item)
        w *= math.exp(math.log(_open_unit(rng)) / k)
    kept.sort(key=lambda pair: pair[0])
    return [item for _, item in kept]


_END: Any = object()


def _open_unit(rng: random.Random) -> float:
    """A uniform draw from the open interval (0, 1): the logarithms above need both ends out."""
    while True:
        u = rng.random()
        if 0.0 < u < 1.0:
            return u


def seen_line(
    *, lines: int, lines_seen: int, more: bool, portion: Portion, unit: str = "lines", heldout: int = 0
) -> str:
    """The report's sentence on how much of the corpus the tokenizer saw."""
    held = f"; {heldout:,} more held out to measure the fit" if heldout else ""
    if portion.sample is not None and lines < lines_seen:
        share = lines / lines_seen
        return (
            f"trained on {lines:,} of {lines_seen:,} {unit} ({_percent(share)}), a seeded sample"
            f" (seed {portion.seed}){held}"
        )
    if portion.max_lines is not None and more:
        first = f"the first {lines + heldout:,} {unit}" + (f" less the {heldout:,} held out" if heldout else "")
        return f"trained on {first}; reading stopped there, the corpus holds more"
    note = ""
    if portion.sample is not None:
        note = f" (the sample of {portion.sample:,} asked for more than the corpus holds)"
    elif portion.max_lines is not None:
        note = f" (the corpus ended before the first {portion.max_lines:,})"
    return f"trained on all {lines:,} {unit}{note}{held}"


def _percent(share: float) -> str:
    digits = 1 if share >= 0.001 else 3
    return f"{share:.{digits}%}"


__all__ = ["DEFAULT_SEED", "Portion", "reservoir", "seen_line"]
