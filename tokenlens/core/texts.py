"""Where texts come from: a string, a list, files or globs, a pandas or ``datasets`` column.

Every source becomes a :class:`Texts`: a label (a language, a column name), how many texts it
holds (known before any work, so a parallel reference can be checked at once) and its texts in
batches of about the same number of characters. Files are read one text per line, lazily.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError


class Texts:
    """A source of texts: a label, how many texts, and the texts in batches."""

    label: str = "text"
    n: int = 0
    chars: int | None = None

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
            if not isinstance(t, str):
                raise InputError(
                    f"{label}: item {i} is {type(t).__name__} ({shorten(repr(t), 40)}), not text."
                    " Every item must be a string; drop missing values first (e.g."
                    " series.dropna())."
                )
        self.chars = sum(map(len, texts))

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def get_many(self, rows: Sequence[int]) -> dict[int, str]:
        return {int(i): self.texts[int(i)] for i in rows}


class _Files(Texts):
    """Text files, one text per line (newlines are not part of the texts), or one per file."""

    def __init__(self, paths: list[Path], label: str, whole_files: bool = False):
        self.paths = paths
        self.label = label
        self.whole_files = whole_files
        self.n = len(paths) if whole_files else sum(_count_lines(p) for p in paths)

    def size_hint(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    def __iter__(self) -> Iterator[str]:
        for path in self.paths:
            if self.whole_files:
                yield _decode(path.read_bytes(), path, 1)
                continue
            with open(path, "rb") as f:
                for number, raw in enumerate(f, 1):
                    if raw.endswith(b"\n"):
                        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
                    yield _decode(raw, path, number)


class Joined(Texts):
    """All texts of a source as one text, joined by a separator."""

    def __init__(self, source: Texts, sep: str):
        self.source = source
        self.sep = sep
        self.label = source.label
        self.n = 1

    def size_hint(self) -> int:
        return self.source.size_hint()

    def __iter__(self) -> Iterator[str]:
        yield self.sep.join(self.source)


def _decode(raw: bytes, path: Path, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}, line {line}: not UTF-8 (byte {exc.start} is 0x{raw[exc.start]:02X}). Convert"
            " the file to UTF-8, or read it yourself with the right encoding and pass the lines."
        ) from None


def _count_lines(path: Path) -> int:
    n, last = 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk
    return n + (1 if last and not last.endswith(b"\n") else 0)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _paths(spec: os.PathLike | str) -> list[Path]:
    text = os.fspath(spec)
    expanded = os.path.expanduser(text)
    if glob.has_magic(expanded):
        found = sorted(Path(p) for p in glob.glob(expanded, recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(f"No file matches {text!r}.")
        return found
    path = Path(expanded)
    if path.is_dir():
        raise InputError(f"{text} is a folder; name its files with a pattern such as '{text}/*.txt'.")
    if not path.is_file():
        raise InputError(f"{text}: no such file.")
    return [path]


def as_texts(source: Any, label: str | None = None, whole_files: bool = False) -> Texts:
    """Turn what a user passes into a :class:`_Texts`.

    A ``str`` is one text (never a path: pass a :class:`~pathlib.Path` for files; a Path may
    hold a glob such as ``Path("data/*.txt")``). Lists of strings, pandas Series, ``datasets``
    columns and other iterables of strings are texts; lists of Paths are files.
    """
    if isinstance(source, Texts):
        return source
    if isinstance(source, str):
        return _Memory([source], label or "text")
    if isinstance(source, (bytes, bytearray)):
        raise InputError("Got bytes: decode them to text first, e.g. data.decode('utf-8').")
    if isinstance(source, os.PathLike):
        paths = _paths(source)
        return _Files(paths, label or _file_label(paths), whole_files)
    module = type(source).__module__ or ""
    kind = type(source).__name__
    if module.startswith("datasets") and kind in {"Dataset", "DatasetDict", "IterableDataset"}:
        names = getattr(source, "column_names", None)
        raise InputError(
            f"Got a whole {kind}; pass one column of text, e.g. ds['text']"
            + (f" (its columns: {names})." if names else ".")
        )
    if module.startswith("pandas"):
        if kind == "DataFrame":
            raise InputError(
                f"Got a DataFrame; pass one column of text, e.g. df['text'] (its columns: {list(source.columns)})."
            )
        name = getattr(source, "name", None)
        return _Memory(source.tolist(), label or (str(name) if name is not None else "text"))
    if isinstance(source, Iterable):
        items = list(source)
        if items and all(isinstance(p, os.PathLike) for p in items):
            paths = [p for item in items for p in _paths(item)]
            return _Files(paths, label or _file_label(paths), whole_files)
        return _Memory(items, label or "text")
    raise InputError(
        f"Cannot read texts from a {kind}: give a string, a list of strings, a Path or glob,"
        " a pandas Series or a datasets column."
    )


def _file_label(paths: list[Path]) -> str:
    stems = sorted({p.name.split(".")[0] for p in paths})
    return stems[0] if len(stems) == 1 else f"{len(paths)} files"


__all__ = ["Joined", "Texts", "as_texts", "shorten"]
