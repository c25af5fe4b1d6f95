"""Texts to measure: a label, how many there are, and the texts in batches.

Every source becomes a :class:`Texts`: a label (a language, a column name), how many texts it
holds, notes on what was left out, and its texts in batches of about the same number of
characters. Files are checked first and then read lazily, one text per line (or per file,
``whole_files``; one per object for JSON lines, one per row for Parquet and Arrow tables, whose
row counts come from their metadata). Where texts come from follows the rules of
:mod:`tokenlens.sources`.

Nothing but the batch in hand is held: files, ``datasets`` Datasets and IterableDatasets,
generators and other iterables without a length are read as they are measured. The number of
texts is known before any work for files, tables, lists and Datasets (so a parallel reference
is checked at once); it is None for an IterableDataset or a generator, which tell it only once
read (callers then check it at the end). Lists, tuples and pandas Series are already in memory
and are read in place.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokenlens.errors import SourceError
from tokenlens.sources.files import check, count_records, is_json_lines, is_table, read_texts
from tokenlens.sources.objects import ITEM_HINT, item_problem, items_of, kind_of
from tokenlens.sources.paths import Found, expand

#: bytes of text files above which checking them (one pass before any work) shows a progress bar
CHECK_PROGRESS_BYTES = 64 * 1024 * 1024


class Texts:
    """A source of texts: a label, how many texts, and the texts in batches."""

    label: str = "text"
    #: how many texts (None: not known before they are read, e.g. a generator)
    n: int | None = 0
    chars: int | None = None
    #: what was left out on the way (a folder's binary files), for the results' notes
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError

    def batches(self, batch_chars: int) -> Iterator[list[str]]:
        batch: list[str] = []
        size = 0
        for text in self:
            batch.append(text)
            size += len(text)
            if size >= batch_chars:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def get_many(self, rows: Sequence[int]) -> dict[int, str]:
        wanted = set(rows)
        return {i: t for i, t in enumerate(self) if i in wanted}

    def size_hint(self) -> int:
        """Characters (or, for files, bytes) to read: for deciding whether to show progress (0: unknown)."""
        return self.chars or 0

    def once(self) -> bool:
        """Whether the texts can be read only once (a generator): rows cannot be opened again."""
        return False


class _Memory(Texts):
    def __init__(self, texts: list, label: str):
        self.texts = texts
        self.label = label
        self.n = len(texts)
        for i, t in enumerate(texts):
            problem = item_problem(i, t)
            if problem is not None:
                raise SourceError(f"{label}: {problem}. Every item must be a text. {ITEM_HINT}")
        self.chars = sum(map(len, texts))

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def get_many(self, rows: Sequence[int]) -> dict[int, str]:
        return {int(i): self.texts[int(i)] for i in rows}


class _Files(Texts):
    """Files, checked before any work: one text per line (no newline), per file, or per JSON object."""

    def __init__(self, found: Found, label: str, whole_files: bool = False, field: str | None = None):
        self.paths = found.files
        self.label = label
        self.whole_files = whole_files
        self.field = field
        self.notes = (found.note(),) if found.note() else ()
        self.n = 0
        bar = _bytes_bar(sum(p.stat().st_size for p in self.paths if not is_table(p)), f"checking {label}")
        try:
            for path in self.paths:
                self.n += self._count(path, bar)
        finally:
            if bar is not None:
                bar.close()

    def _count(self, path: Path, bar) -> int:
        """The texts of one file, checked (the bar, if any, follows the check's bytes)."""
        before = bar.n if bar is not None else 0
        table = is_table(path)
        checked = check(
            path,
            field=(self.field or "text") if table else None,
            progress=(lambda at: bar.update(before + at - bar.n)) if bar is not None and not table else None,
        )
        if checked.problem is not None:
            raise checked.error()
        if table:
            return checked.lines
        if is_json_lines(path):
            return count_records(path)
        return 1 if self.whole_files else checked.lines

    def size_hint(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    def __iter__(self) -> Iterator[str]:
        for path in self.paths:
            yield from read_texts(path, field=self.field, keep_ends=False, whole=self.whole_files)


def _bytes_bar(total: int, desc: str):
    """A progress bar in bytes (tqdm: a widget in a notebook, text in a terminal) for checking
    files before any work, when they are large enough to take a while; None otherwise."""
    if total < CHECK_PROGRESS_BYTES:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with huggingface_hub
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False, delay=1)


class _Stream(Texts):
    """Texts read as they are measured: a ``datasets`` column, a generator, an iterable."""

    def __init__(self, items: Iterable[Any], n: int | None, label: str, reread: Any = None):
        self.items = items
        self.n = n
        self.label = label
        #: how to read the texts again (a function), or None when they can be read once only
        self.reread = reread
        self._read = False

    def once(self) -> bool:
        return self.reread is None

    def __iter__(self) -> Iterator[str]:
        if self._read:
            if self.reread is None:
                raise SourceError(
                    f"{self.label}: these texts came from a generator, which can be read only once."
                    " Pass a list, files or a dataset to read them again."
                )
            self.items = self.reread()
        self._read = True
        for i, t in enumerate(self.items):
            problem = item_problem(i, t)
            if problem is not None:
                raise SourceError(f"{self.label}: {problem}. Every item must be a text. {ITEM_HINT}")
            yield t


class Joined(Texts):
    """All texts of a source as one text, joined by a separator (held whole: it is one text)."""

    def __init__(self, source: Texts, sep: str):
        self.source = source
        self.sep = sep
        self.label = source.label
        self.notes = source.notes
        self.n = 1
        #: how many texts the last reading joined
        self.joined_texts = source.n

    def size_hint(self) -> int:
        return self.source.size_hint()

    def __iter__(self) -> Iterator[str]:
        self.joined_texts = 0

        def counted() -> Iterator[str]:
            for text in self.source:
                self.joined_texts += 1
                yield text

        yield self.sep.join(counted())


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_texts(source: Any, label: str | None = None, whole_files: bool = False, field: str | None = None) -> Texts:
    """Turn what a person passes into :class:`Texts`.

    A ``str`` is one text (never a path: pass a :class:`~pathlib.Path` for files, folders or a
    glob such as ``Path("data/*.txt")``). A list of Paths is files. Lists of strings, pandas
    Series, ``datasets`` columns and other iterables of strings are texts; a DataFrame or
    ``datasets`` Dataset is read by its ``field`` column (``text`` by default).
    """
    if isinstance(source, Texts):
        return source
    if isinstance(source, str):
        return _Memory([source], label or "text")
    if isinstance(source, os.PathLike):
        return _files([source], label, whole_files, field)
    items = items_of(source, field)
    if isinstance(source, (list, tuple)) or kind_of(source) == "series":
        values = list(items.items)
        if values and all(isinstance(p, os.PathLike) for p in values):
            return _files(values, label, whole_files, field)
        return _Memory(values, label or items.label or "text")
    stream = iter(items.items)
    first = next(stream, _END)
    if isinstance(first, os.PathLike):  # an iterable of paths: files (a short list)
        return as_texts([first, *stream], label, whole_files, field)
    reread = None
    if kind_of(source) == "dataset":  # a Dataset or IterableDataset can be read again
        reread = lambda: items_of(source, field).items  # noqa: E731
    head = () if first is _END else (first,)
    return _Stream(itertools.chain(head, stream), items.n, label or items.label or "text", reread)


_END = object()


def _files(specs: Iterable[os.PathLike], label: str | None, whole_files: bool, field: str | None) -> Texts:
    specs = list(specs)
    found = expand(specs)
    if label is None:
        folder = Path(os.path.expanduser(os.fspath(specs[0])))
        label = folder.name if len(specs) == 1 and folder.is_dir() else _file_label(found.files)
    return _Files(found, label, whole_files, field)


def _file_label(paths: list[Path]) -> str:
    stems = sorted({p.name.split(".")[0] for p in paths})
    return stems[0] if len(stems) == 1 else f"{len(paths)} files"


__all__ = ["Joined", "Texts", "as_texts", "shorten"]
