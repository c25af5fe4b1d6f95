"""Training text as a stream of line batches, read through :mod:`tokenlens.sources`.

A :class:`Corpus` yields batches of lines and never holds the whole text, so a corpus larger
than memory can be trained on. It counts what it read (bytes, lines, files) for the progress
display, can be stopped between lines, keeps a seeded share of lines out for measuring the fit,
and deals with input it cannot use (binary or non-UTF-8 files, JSON lines without text, items
that are not text) by skipping it with a count or by stopping, as the caller chooses. Which files
a path, folder or glob names, and how a file is read, are the rules of :mod:`tokenlens.sources`.
"""

from __future__ import annotations

import io
import itertools
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError, SourceError, TokenlensError
from tokenlens.sources.files import RECORD_HINT, check, read_texts
from tokenlens.sources.objects import ITEM_HINT, item_problem, items_of
from tokenlens.sources.paths import expand
from tokenlens.vocab.sample import Portion, reservoir

#: what to do with input that is not usable text
ON_BAD = ("skip", "stop")

#: lines handed to the trainer at once: enough that the Python side costs little, few enough that
#: the trainer's read-ahead (256 items, here batches) stays small (about 16k lines)
BATCH_LINES = 64

#: the training text cannot be read as asked (missing file, empty corpus, bad file): the loader's
#: error, under the name training code has always caught
CorpusError = SourceError

_SKIP_HINT = "Or let tokenlens skip such input (on_bad='skip', the default; --on-bad-file skip in the magic)."


class TrainingInterrupted(TokenlensError):
    """Training was stopped (Ctrl-C, the notebook's stop button) before it finished."""


@dataclass
class CorpusStats:
    """What a pass over the corpus read; shared with the progress display while training."""

    bytes_total: int | None = None
    bytes_read: int = 0
    lines: int = 0
    files: int = 0
    files_skipped: list[tuple[str, str]] = field(default_factory=list)
    #: entries of the named folders left out for their hidden names (starting with ".")
    files_hidden: int = 0
    items_skipped: int = 0
    items_skipped_reason: str = ""
    heldout_lines: int = 0
    #: lines read and not held out: the lines trained on, or those a sample was drawn from
    lines_seen: int = 0
    #: reading stopped at ``max_lines`` with more of the corpus unread
    more: bool = False
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "bytes_total": self.bytes_total,
            "bytes_read": self.bytes_read,
            "lines": self.lines,
            "files": self.files,
            "files_skipped": [list(x) for x in self.files_skipped],
            "files_hidden": self.files_hidden,
            "items_skipped": self.items_skipped,
            "items_skipped_reason": self.items_skipped_reason,
            "heldout_lines": self.heldout_lines,
            "lines_seen": self.lines_seen,
            "more": self.more,
        }


def utf8_len(s: str) -> int:
    # isascii() is O(1) for str, so the common case costs nothing.
    return len(s) if s.isascii() else len(s.encode("utf-8", errors="surrogatepass"))


class Corpus:
    """A source of training text, read as batches of lines.

    ``files`` are paths, folders or globs; ``data`` is text in memory: a ``str`` (split into
    lines), an iterable of ``str`` (lists, generators, pandas Series; each item is one sequence),
    or a table (DataFrame, ``datasets`` Dataset) by its ``field`` column. ``field`` also names
    the text field of JSON lines files (dots reach into nested objects: ``meta.text``).

    ``holdout`` keeps that fraction of lines out of training, drawn with ``seed``, for measuring
    the fit on text the tokenizer did not see (at most ``holdout_max_bytes`` are kept).

    ``portion`` trains on the first N lines (``max_lines``: the source is read no further) or on
    a seeded uniform sample of N of the lines not held out (``sample``: read in one pass, only
    the N lines held), see :mod:`tokenlens.vocab.sample`.
    """

    def __init__(
        self,
        data: Any = None,
        *,
        files: Any = None,
        field: str | None = None,
        on_bad: str = "skip",
        holdout: float = 0.0,
        seed: int = 0,
        holdout_max_bytes: int = 2_000_000,
        batch_lines: int = BATCH_LINES,
        portion: Portion | None = None,
    ):
        if on_bad not in ON_BAD:
            raise InputError(f"on_bad must be one of {', '.join(ON_BAD)}, not {on_bad!r}.")
        if (data is None) == (files is None):
            raise CorpusError(
                "Give the training text one way: files (paths, folders or globs) or data (text, a"
                " list or iterator of strings, a pandas Series or a datasets column)."
            )
        if not 0.0 <= float(holdout) < 1.0:
            raise InputError(f"holdout is a fraction of the lines, from 0 up to (not including) 1; got {holdout}.")
        self.portion = (portion or Portion()).checked()
        self.field = field
        self.on_bad = on_bad
        self.holdout = float(holdout)
        self.seed = seed
        self.holdout_max_bytes = holdout_max_bytes
        self.batch_lines = batch_lines
        self.stats = CorpusStats()
        self.heldout: list[str] = []
        self._stop = threading.Event()
        self.files: list[Path] = []
        self.data = None
        if files is not None:
            found = expand(files)
            self.files = found.files
            self.stats.files_skipped = [(str(p), "is binary (it holds NUL bytes)") for p in found.binary]
            self.stats.files_hidden = found.hidden
            self.description = f"{len(self.files)} file(s)"
        elif isinstance(data, str):
            self.data = data
            self.description = f"str of {len(data):,} characters"
            self.stats.bytes_total = utf8_len(data)
        elif isinstance(data, Path):
            raise CorpusError(f"{data} is a path: pass it as files=, not as text.")
        else:
            items = items_of(data, field)
            self.data = items.items
            self.description = items.description

    # -- control --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Make the reading stop at the next batch (raises :class:`TrainingInterrupted` there)."""
        self._stop.set()

    # -- reading --------------------------------------------------------------------------------
    def check_files(self) -> None:
        """Check every file before training; skip the unusable ones or stop, as chosen."""
        good = [path for path in self.files if self._usable(path)]
        if not good:
            detail = "; ".join(f"{p} {r}" for p, r in self.stats.files_skipped[:5])
            raise CorpusError(f"No file of the corpus is usable text: {detail}.")
        self.files = good
        self.stats.bytes_total = sum(path.stat().st_size for path in good)

    def _usable(self, path: Path) -> bool:
        checked = check(path, count_lines=False)
        if checked.problem is None:
            return True
        if self.on_bad == "stop":
            raise checked.error(_SKIP_HINT)
        self.stats.files_skipped.append((str(path), checked.problem))
        return False

    def batches(self) -> Iterator[list[str]]:
        """Lists of up to ``batch_lines`` lines (line endings kept, as the trainers read files):
        the lines not held out, all of them, the first ``max_lines`` or a seeded sample."""
        lines = self._kept(self._first(self._until_stopped(self._file_lines() if self.files else self._data_lines())))
        if self.portion.sample is not None:
            # the whole corpus is read here, once; only the sample stays in memory
            lines = iter(reservoir(lines, self.portion.sample, self.portion.seed))
        while True:
            if self._stop.is_set():
                raise TrainingInterrupted("Training was stopped while reading the corpus.")
            batch = list(itertools.islice(lines, self.batch_lines))
            if not batch:
                break
            self.stats.lines += len(batch)
            yield batch
        self.stats.done = True

    def _first(self, lines: Iterator[str]) -> Iterator[str]:
        """The first ``max_lines`` lines, and a look at the next one to know whether there was
        more: the source is read no further."""
        limit = self.portion.max_lines
        if limit is None:
            yield from lines
            return
        yield from itertools.islice(lines, limit)
        self.stats.more = next(lines, None) is not None

    def _kept(self, lines: Iterator[str]) -> Iterator[str]:
        """The lines not held out; a seeded share is kept aside to measure the fit on."""
        rng = random.Random(self.seed) if self.holdout > 0 else None
        held_bytes = 0
        stats = self.stats
        for line in lines:
            if rng is not None and held_bytes < self.holdout_max_bytes and rng.random() < self.holdout:
                self.heldout.append(line)
                held_bytes += utf8_len(line)
                stats.heldout_lines += 1
                continue
            stats.lines_seen += 1
            yield line

    def _until_stopped(self, lines: Iterator[str]) -> Iterator[str]:
        stop = self._stop
        for line in lines:
            if stop.is_set():
                raise TrainingInterrupted("Training was stopped while reading the corpus.")
            yield line

    def _file_lines(self) -> Iterator[str]:
        # With max_lines each file is checked only when reading reaches it, so the files after
        # the last line read are never opened.
        lazy = self.stats.bytes_total is None and self.portion.max_lines is not None
        if self.stats.bytes_total is None and not lazy:
            self.check_files()
        done_bytes = 0
        for path in self.files:
            if lazy and not self._usable(path):
                continue
            self.stats.files += 1

            def progress(read: int, done: int = done_bytes) -> None:
                self.stats.bytes_read = done + read

            yield from read_texts(path, field=self.field, keep_ends=True, bad=self._bad_item, progress=progress)
            done_bytes += path.stat().st_size
            self.stats.bytes_read = done_bytes

    def _data_lines(self) -> Iterator[str]:
        data = self.data
        if isinstance(data, str):
            for line in io.StringIO(data, newline="\n"):
                self.stats.bytes_read += utf8_len(line)
                yield line
            return
        for number, item in enumerate(data):
            problem = item_problem(number, item)
            if problem is None:
                self.stats.bytes_read += utf8_len(item)
                yield item
            else:
                self._bad_item(problem)

    def _bad_item(self, why: str) -> None:
        if self.on_bad == "stop":
            hint = ITEM_HINT if why.startswith("item ") else RECORD_HINT
            raise CorpusError(f"The corpus holds input that is not text: {why}. {hint} {_SKIP_HINT}")
        self.stats.items_skipped += 1
        if not self.stats.items_skipped_reason:
            self.stats.items_skipped_reason = why


__all__ = ["BATCH_LINES", "Corpus", "CorpusError", "CorpusStats", "TrainingInterrupted", "utf8_len"]
