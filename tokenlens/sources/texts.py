"""Texts to measure: a label, how many there are, and the texts in batches.

Every source becomes a :class:`Texts`: a label (a language, a column name), how many texts it
holds (known before any work, so a parallel reference can be checked at once), notes on what was
left out, and its texts in batches of about the same number of characters. Files are checked
first and then read lazily, one text per line (or per file, ``whole_files``; one per object for
JSON lines). Where texts come from follows the rules of :mod:`tokenlens.sources`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokenlens.errors import SourceError
from tokenlens.sources.files import check, count_records, is_json_lines, read_texts
from tokenlens.sources.objects import ITEM_HINT, item_problem, items_of
from tokenlens.sources.paths import Found, expand


class Texts:
    """A source of texts: a label, how many texts, and the texts in batches."""

    label: str = "text"
    n: int = 0
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
        """Characters (or, for files, bytes) to read: for deciding whether to show progress."""
        return self.chars or 0


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
        for path in self.paths:
            checked = check(path)
            if checked.problem is not None:
                raise checked.error()
            if is_json_lines(path):
                self.n += count_records(path)
            else:
                self.n += 1 if whole_files else checked.lines

    def size_hint(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    def __iter__(self) -> Iterator[str]:
        for path in self.paths:
            yield from read_texts(path, field=self.field, keep_ends=False, whole=self.whole_files)


class Joined(Texts):
    """All texts of a source as one text, joined by a separator."""

    def __init__(self, source: Texts, sep: str):
        self.source = source
        self.sep = sep
        self.label = source.label
        self.notes = source.notes
        self.n = 1

    def size_hint(self) -> int:
        return self.source.size_hint()

    def __iter__(self) -> Iterator[str]:
        yield self.sep.join(self.source)


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
    values = list(items.items)
    if values and all(isinstance(p, os.PathLike) for p in values):
        return _files(values, label, whole_files, field)
    return _Memory(values, label or items.label or "text")


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
