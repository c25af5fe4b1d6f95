"""Training text as a stream: files and globs (text, JSON lines, gzip), text in memory, Python
iterables, pandas Series and ``datasets`` columns.

A :class:`Corpus` yields batches of lines and never holds the whole text, so a corpus larger
than memory can be trained on. It counts what it read (bytes, lines, files) for the progress
display, and it deals with input it cannot use (binary or non-UTF-8 files, JSON lines that do not
parse, items that are not text) by skipping it with a count or by stopping, as the caller chooses.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import io
import itertools
import json
import os
import random
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError, TokenlensError

#: what to do with input that is not usable text
ON_BAD = ("skip", "stop")

#: file name endings read as one JSON object a line (before an optional ``.gz``)
JSON_LINES = (".jsonl", ".ndjson", ".json")

#: lines handed to the trainer at once: enough that the Python side costs little, few enough that
#: the trainer's read-ahead (256 items, here batches) stays small (about 16k lines)
BATCH_LINES = 64

#: bytes looked at for a NUL byte, the sign of a binary file (git uses the same rule)
_SNIFF = 8192
_BLOCK = 1 << 20


class CorpusError(InputError):
    """The training text cannot be read as asked (missing file, empty corpus, bad file)."""


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
    items_skipped: int = 0
    items_skipped_reason: str = ""
    heldout_lines: int = 0
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "bytes_total": self.bytes_total,
            "bytes_read": self.bytes_read,
            "lines": self.lines,
            "files": self.files,
            "files_skipped": [list(x) for x in self.files_skipped],
            "items_skipped": self.items_skipped,
            "items_skipped_reason": self.items_skipped_reason,
            "heldout_lines": self.heldout_lines,
        }


def _utf8_len(s: str) -> int:
    # isascii() is O(1) for str, so the common case costs nothing.
    return len(s) if s.isascii() else len(s.encode("utf-8", errors="surrogatepass"))


def expand_files(patterns: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Paths named by ``patterns`` (files, folders, globs with ``*``, ``?``, ``[`` or ``**``).

    A folder stands for every file under it. A missing file or a glob that matches nothing is an
    error that names it, never silently an empty corpus.
    """
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    out: list[Path] = []
    for raw in patterns:
        text = os.path.expanduser(os.fspath(raw))
        if glob.has_magic(text):
            hits = sorted(glob.glob(text, recursive=True))
            files = [Path(h) for h in hits if Path(h).is_file()]
            if not files:
                raise CorpusError(
                    f"The pattern {os.fspath(raw)!r} matches no file (looked in {Path.cwd()})."
                    " Check the folder and the file ending, e.g. 'corpus/*.txt' or 'data/**/*.jsonl'."
                )
            out.extend(files)
            continue
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise CorpusError(f"The folder {path} holds no files to train on.")
            out.extend(files)
        elif path.is_file():
            out.append(path)
        else:
            hint = ""
            parent = path.parent if str(path.parent) else Path(".")
            if parent.is_dir():
                near = sorted(p.name for p in parent.iterdir())[:8]
                hint = f" {parent} holds: {', '.join(near) or 'nothing'}."
            raise CorpusError(f"No such file or folder: {os.fspath(raw)!r}.{hint}")
    # the same file named twice (a glob and its path) is read once
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _is_json_lines(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(JSON_LINES)


def check_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as UTF-8 text, or None when it can.

    One pass in blocks of 1 MB (bounded memory): a NUL byte near the start marks a binary file;
    then every byte must be valid UTF-8. Checking first means a file is used whole or not at all.
    """
    try:
        raw = open(path, "rb")
    except OSError as exc:
        return f"cannot be opened ({exc.strerror or exc})"
    try:
        stream = gzip.GzipFile(fileobj=raw) if _is_gzip(path) else raw
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        offset = 0
        first = True
        while True:
            try:
                block = stream.read(_BLOCK)
            except (OSError, EOFError) as exc:
                return f"is not a readable gzip file ({exc})"
            if first and b"\0" in block[:_SNIFF]:
                return "is binary (it holds NUL bytes)"
            first = False
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                if exc.start >= len(block):
                    return "is not UTF-8 text (it ends inside a character)"
                return f"is not UTF-8 text (byte {offset + exc.start} is 0x{block[exc.start]:02X})"
            if not block:
                return None
            offset += len(block)
    finally:
        raw.close()


def _field_of(record: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record


class Corpus:
    """A source of training text, read as batches of lines.

    ``files`` are paths or globs; ``data`` is text in memory: a ``str`` (split into lines), an
    iterable of ``str`` (lists, generators, pandas Series; each item is one sequence), or a
    ``datasets`` dataset (the ``field`` column). ``field`` also names the text field of JSON
    lines files (dots reach into nested objects: ``meta.text``).

    ``holdout`` keeps that fraction of lines out of training, drawn with ``seed``, for measuring
    the fit on text the tokenizer did not see (at most ``holdout_max_bytes`` are kept).
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
    ):
        if on_bad not in ON_BAD:
            raise InputError(f"on_bad must be one of {', '.join(ON_BAD)}, not {on_bad!r}.")
        if (data is None) == (files is None):
            raise CorpusError(
                "Give the training text one way: files (paths or globs) or data (text, a list or"
                " iterator of strings, a pandas Series or a datasets column)."
            )
        if not 0.0 <= float(holdout) < 1.0:
            raise InputError(f"holdout is a fraction of the lines, from 0 up to (not including) 1; got {holdout}.")
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
        self.description = ""
        if files is not None:
            if isinstance(files, (list, tuple)) and not files:
                raise CorpusError("No files were named; give at least one path or glob.")
            self.files = expand_files(files)
            self.description = f"{len(self.files)} file(s)"
        else:
            self.data = _check_data(data, field)
            self.description = _describe_data(data)
            try:
                if isinstance(data, str):
                    self.stats.bytes_total = _utf8_len(data)
            except Exception:
                pass

    # -- control --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Make the reading stop at the next batch (raises :class:`TrainingInterrupted` there)."""
        self._stop.set()

    # -- reading --------------------------------------------------------------------------------
    def check_files(self) -> None:
        """Check every file before training; skip the unusable ones or stop, as chosen."""
        good = []
        total = 0
        for path in self.files:
            reason = check_file(path)
            if reason is None:
                good.append(path)
                total += path.stat().st_size
                continue
            if self.on_bad == "stop":
                raise CorpusError(
                    f"{path} {reason}. Remove it from the corpus, or let tokenlens skip such files"
                    " (on_bad='skip', the default; --on-bad-file skip in the magic)."
                )
            self.stats.files_skipped.append((str(path), reason))
        if not good:
            detail = "; ".join(f"{p} {r}" for p, r in self.stats.files_skipped[:5])
            raise CorpusError(f"No file of the corpus is usable text: {detail}.")
        self.files = good
        self.stats.bytes_total = total

    def batches(self) -> Iterator[list[str]]:
        """Lists of up to ``batch_lines`` lines (line endings kept, as the trainers read files)."""
        source = self._until_stopped(self._file_lines() if self.files else self._data_lines())
        rng = random.Random(self.seed) if self.holdout > 0 else None
        held_bytes = 0
        while True:
            if self._stop.is_set():
                raise TrainingInterrupted("Training was stopped while reading the corpus.")
            batch = list(itertools.islice(source, self.batch_lines))
            if not batch:
                break
            if rng is not None and held_bytes < self.holdout_max_bytes:
                keep = []
                for line in batch:
                    if held_bytes < self.holdout_max_bytes and rng.random() < self.holdout:
                        self.heldout.append(line)
                        held_bytes += _utf8_len(line)
                    else:
                        keep.append(line)
                self.stats.heldout_lines = len(self.heldout)
                batch = keep
            self.stats.lines += len(batch)
            if batch:
                yield batch
        self.stats.done = True

    def _until_stopped(self, lines: Iterator[str]) -> Iterator[str]:
        stop = self._stop
        for line in lines:
            if stop.is_set():
                raise TrainingInterrupted("Training was stopped while reading the corpus.")
            yield line

    def _file_lines(self) -> Iterator[str]:
        if self.stats.bytes_total is None:
            self.check_files()
        done_bytes = 0
        for path in self.files:
            self.stats.files += 1
            size = path.stat().st_size
            with open(path, "rb") as raw:
                stream = gzip.GzipFile(fileobj=raw) if _is_gzip(path) else raw
                # newline="\n": split on LF only and keep it, exactly as the Rust trainer reads files
                text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
                lines: Iterable[str] = text
                if _is_json_lines(path):
                    lines = self._json_texts(text, path)
                for n, line in enumerate(lines, 1):
                    yield line
                    if n % 256 == 0:
                        self.stats.bytes_read = done_bytes + raw.tell()
            done_bytes += size
            self.stats.bytes_read = done_bytes

    def _json_texts(self, lines: Iterable[str], path: Path) -> Iterator[str]:
        key = (self.field or "text").split(".")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                value = _field_of(json.loads(line), key)
            except ValueError:
                self._bad_item(f"line {number} of {path} is not JSON")
                continue
            if isinstance(value, str):
                yield value
            else:
                what = "has no field" if value is None else f"has a {type(value).__name__} in field"
                self._bad_item(f"line {number} of {path} {what} {'.'.join(key)!r}")

    def _data_lines(self) -> Iterator[str]:
        data = self.data
        if isinstance(data, str):
            for line in io.StringIO(data, newline="\n"):
                self.stats.bytes_read += _utf8_len(line)
                yield line
            return
        for number, item in enumerate(data):
            if isinstance(item, str):
                self.stats.bytes_read += _utf8_len(item)
                yield item
            elif item is None or (isinstance(item, float) and item != item):
                self._bad_item(f"item {number} is missing (None or NaN)")
            else:
                self._bad_item(f"item {number} is {type(item).__name__}, not text")

    def _bad_item(self, why: str) -> None:
        if self.on_bad == "stop":
            raise CorpusError(
                f"The corpus holds input that is not text: {why}. Clean it, or let tokenlens"
                " skip such items (on_bad='skip'; --on-bad-file skip in the magic)."
            )
        self.stats.items_skipped += 1
        if not self.stats.items_skipped_reason:
            self.stats.items_skipped_reason = why


def _is_dataset(obj: Any) -> bool:
    return hasattr(obj, "column_names") and hasattr(obj, "iter") and not isinstance(obj, dict)


def _check_data(data: Any, field: str | None) -> Any:
    if isinstance(data, (bytes, bytearray)):
        raise CorpusError("The corpus is bytes; decode it to text first (data.decode('utf-8')).")
    if isinstance(data, Path):
        raise CorpusError(f"{data} is a path: pass it as files=, not as text.")
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        keys = ", ".join(map(str, list(data)[:5]))
        raise CorpusError(
            f"The corpus is a dict (keys: {keys}); pick the part that holds text, e.g."
            " dataset['train'] for a DatasetDict, or a list of strings."
        )
    if _is_dataset(data):
        columns = list(data.column_names or [])
        name = field or ("text" if "text" in columns or not columns else None)
        if name is None or (columns and name not in columns):
            raise CorpusError(
                f"Name the dataset column that holds the text (field=...; --field in the magic)."
                f" Its columns: {', '.join(columns)}."
            )
        return _dataset_texts(data, name)
    if hasattr(data, "dtype") and hasattr(data, "to_numpy") and getattr(data, "ndim", 1) != 1:
        raise CorpusError("The corpus is a table; pass one column of text (df['text']).")
    try:
        return iter(data)
    except TypeError:
        raise CorpusError(
            f"A corpus of type {type(data).__name__} cannot be read: give text, a list or iterator"
            " of strings, a pandas Series, a datasets column, or files."
        ) from None


def _dataset_texts(dataset: Any, column: str) -> Iterator[Any]:
    for batch in dataset.iter(batch_size=1000):
        yield from batch[column]


def _describe_data(data: Any) -> str:
    kind = type(data).__name__
    try:
        n = len(data)
    except TypeError:
        return kind
    unit = "characters" if isinstance(data, str) else "items"
    return f"{kind} of {n:,} {unit}"


__all__ = ["Corpus", "CorpusError", "CorpusStats", "TrainingInterrupted", "check_file", "expand_files"]
