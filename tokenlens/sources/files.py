"""One file of texts: plain text or JSON lines (gzip, zstandard or neither), or a Parquet or
Arrow table, checked before it is read.

- A name ending in ``.gz`` or ``.zst`` is decompressed as it is read (``.zst`` with the
  ``zstandard`` package).
- ``.parquet``, ``.arrow``, ``.feather`` and ``.ipc`` are tables: one text per row of a string
  column, ``text`` unless another is named (:mod:`tokenlens.sources.tables`).
- ``.jsonl``, ``.ndjson`` and ``.json`` (before an optional ``.gz`` or ``.zst``) are JSON lines: one object a
  line, blank lines skipped. The text is a field of each object: ``text`` unless another is
  named, and dots reach into nested objects (``meta.body``).
- Any other file is UTF-8 text, read a line at a time (split on ``\\n`` only, as the
  ``tokenizers`` trainers read files) or whole.

:func:`check` reads a file once, in blocks of 1 MB, before any work is done with it: a binary file
(a NUL byte in its first 8 KB, as git decides) or one that is not UTF-8 is then refused or
skipped whole, with the line and byte where it goes wrong, and is never half used. A table is
checked from its metadata (readable, the column there and of strings), without a pass.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tokenlens.errors import SourceError
from tokenlens.sources.tables import HINTS as TABLE_HINTS
from tokenlens.sources.tables import inspect_table, is_table, read_table, read_table_records

#: file name endings read as one JSON object a line (before an optional ``.gz`` or ``.zst``)
JSON_LINES = (".jsonl", ".ndjson", ".json")
#: bytes looked at for a NUL byte, the sign of a binary file (git's rule)
SNIFF_BYTES = 8192
_BLOCK = 1 << 20
#: texts read between two reports of the bytes read
_PROGRESS_EVERY = 256
#: what to do about a JSON line that gives no text
RECORD_HINT = (
    "Fix the line, or name the field that holds the text (field='...'; dots reach into nested objects: 'meta.body')."
)

_HINTS = {
    "binary": "Leave it out of the files you name (a folder's binary files are left out by themselves).",
    "utf8": "Convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8), or read it with its own encoding"
    " (open(path, encoding=...)) and pass the text.",
    "gzip": "It may be cut short: download or compress it again.",
    "zstd": "It may be cut short: download or compress it again.",
    "open": "Check that it exists and that you may read it.",
    **TABLE_HINTS,
}
#: endings of compressed files, decompressed as they are read
COMPRESSED = (".gz", ".zst")


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def is_zstd(path: Path) -> bool:
    return path.name.lower().endswith(".zst")


def is_json_lines(path: Path) -> bool:
    name = path.name.lower()
    for ending in COMPRESSED:
        name = name.removesuffix(ending)
    return name.endswith(JSON_LINES)


def is_records(path: Path) -> bool:
    """Whether the file holds a record per line or row (JSON lines, a table) rather than plain text."""
    return is_json_lines(path) or is_table(path)


def where(path: Path | str, line: int) -> str:
    """How a message names a place in a file: ``data.jsonl, line 3``."""
    return f"{path}, line {line}"


@contextmanager
def open_bytes(path: Path) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """(the file's bytes, decompressed if gzip or zstandard; the file on disk, whose ``tell()`` is progress)."""
    with open(path, "rb") as raw:
        if is_zstd(path):
            yield io.BufferedReader(_zstd_reader(raw), _BLOCK), raw
        else:
            yield (gzip.GzipFile(fileobj=raw) if is_gzip(path) else raw), raw


class _ZstdReader(io.RawIOBase):
    """A zstandard file's bytes, frame after frame; a file cut inside a frame is an error
    (zstandard's own stream reader ends such a file in silence)."""

    def __init__(self, raw: IO[bytes]):
        try:
            import zstandard
        except ImportError:  # pragma: no cover - zstandard is a dependency
            raise SourceError("Reading .zst files needs the zstandard package: pip install zstandard") from None
        self._zstd = zstandard
        self._raw = raw
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._started = False  # whether the current frame has had any input
        self._out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out:
            block = self._raw.read(_BLOCK)
            if not block:
                if self._started and not self._frame.eof:
                    raise self._zstd.ZstdError("the file ends inside a frame")
                return 0
            while block:
                if self._frame.eof:
                    self._frame = self._zstd.ZstdDecompressor().decompressobj()
                self._started = True
                self._out += self._frame.decompress(block)
                block = self._frame.unused_data if self._frame.eof else b""
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


def _zstd_reader(raw: IO[bytes]) -> IO[bytes]:
    return _ZstdReader(raw)


def _zstd_errors() -> tuple[type[Exception], ...]:
    """zstandard's error type, or nothing when the package is absent (no .zst file was read)."""
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a dependency
        return ()
    return (zstandard.ZstdError,)


def looks_binary(path: Path) -> bool:
    """Whether the file's first 8 KB (decompressed) hold a NUL byte; tables are not binary here."""
    if is_table(path):
        return False
    try:
        with open_bytes(path) as (stream, _):
            return b"\0" in stream.read(SNIFF_BYTES)
    except (OSError, EOFError, *_zstd_errors()):
        return False  # unreadable: check() says why


@dataclass
class FileCheck:
    """What one pass over a file found: its size, its lines, and why it cannot be used (if so)."""

    path: Path
    #: bytes on disk (compressed, for gzip: what progress counts)
    size: int = 0
    #: lines of text (a last line without a newline counts); rows, for a table
    lines: int = 0
    #: why the file cannot be used, worded to follow its path ("is binary (…)"); None when it can
    problem: str | None = None
    #: what the person can do about ``problem``
    hint: str = ""

    def message(self) -> str:
        return f"{self.path} {self.problem}. {self.hint}"

    def error(self, also: str = "") -> SourceError:
        return SourceError(self.message() + (f" {also}" if also else ""))


def check(
    path: Path, count_lines: bool = True, field: str | None = None, progress: Callable[[int], None] | None = None
) -> FileCheck:
    """Read ``path`` once in 1 MB blocks (bounded memory): its lines (when ``count_lines``), or
    why it is not UTF-8 text. A table is checked from its metadata: its rows, or why it cannot
    be read (and, when ``field`` is named, that column missing or not text). ``progress`` is told
    the bytes on disk read so far, after each block."""
    found = FileCheck(path)
    try:
        found.size = path.stat().st_size
        if is_table(path):
            found.lines, problem, kind = inspect_table(path, field)
            return found if problem is None else _bad(found, problem, kind)
        with open_bytes(path) as (stream, raw):
            return _scan(found, stream, count_lines, (lambda: progress(raw.tell())) if progress else None)
    except OSError as exc:
        return _bad(found, f"cannot be opened ({exc.strerror or exc})", "open")


def _scan(found: FileCheck, stream: IO[bytes], count_lines: bool, tell: Callable[[], None] | None) -> FileCheck:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = newlines = 0  # bytes and newlines before this block
    ends_line = True  # whether the text so far ends with a newline (a byte, so no block is kept alive)
    while True:
        try:
            block = stream.read(_BLOCK)
        except (OSError, EOFError) as exc:
            return _bad(found, f"is not a readable gzip file ({exc})", "gzip")
        except _zstd_errors() as exc:
            return _bad(found, f"is not a readable zstandard file ({exc})", "zstd")
        if not offset and b"\0" in block[:SNIFF_BYTES]:
            return _bad(found, "is binary (it holds NUL bytes)", "binary")
        pending = decoder.getstate()[0]  # the start of a character the last block cut
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            if not block:
                return _bad(found, "is not UTF-8 text (it ends inside a character)", "utf8")
            at = offset - len(pending) + exc.start
            line, column = _locate(found.path, at)
            byte = (pending + block)[exc.start]
            return _bad(found, f"is not UTF-8 text (line {line}, byte {column} is 0x{byte:02X})", "utf8")
        if not block:
            found.lines = newlines + (0 if ends_line else 1)
            return found
        if count_lines:
            newlines += block.count(b"\n")
        offset += len(block)
        ends_line = block.endswith(b"\n")
        if tell is not None:
            tell()


def _locate(path: Path, at: int) -> tuple[int, int]:
    """(line, byte within the line), both from 1, of byte ``at`` of the file's text: read again,
    since only a bad file needs it."""
    line, line_start, offset = 1, 0, 0
    with open_bytes(path) as (stream, _):
        while offset <= at and (block := stream.read(_BLOCK)):
            part = block[: at - offset]
            line += part.count(b"\n")
            cut = part.rfind(b"\n")
            if cut >= 0:
                line_start = offset + cut + 1
            offset += len(block)
    return line, at - line_start + 1


def _bad(found: FileCheck, problem: str, kind: str) -> FileCheck:
    found.problem, found.hint = problem, _HINTS[kind]
    return found


def field_of(record: Any, dotted: str) -> Any:
    """``record["meta"]["body"]`` for ``"meta.body"``; None where a key is missing."""
    for key in dotted.split("."):
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record


def field_problem(value: Any, field: str) -> str | None:
    """Why a record's field gives no text (None when it is a string)."""
    if isinstance(value, str):
        return None
    return f"no field {field!r}" if value is None else f"field {field!r} holds a {type(value).__name__}, not text"


def read_records(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, object, None) for each JSON line of ``path``, or (line number, None, why)
    for a line that is not JSON; blank lines are skipped. A table gives (row number, the row as
    a dict, None)."""
    if is_table(path):
        yield from read_table_records(path)
        return
    with open_bytes(path) as (stream, raw):
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
        for number, line in enumerate(text, 1):
            if progress is not None and number % _PROGRESS_EVERY == 0:
                progress(raw.tell())
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), None
            except ValueError as exc:
                yield number, None, f"not JSON ({getattr(exc, 'msg', exc)})"


def count_records(path: Path) -> int:
    """The non-blank lines of a JSON lines file (the texts it holds), or a table's rows."""
    if is_table(path):
        return inspect_table(path, None)[0]
    with open_bytes(path) as (stream, _):
        return sum(1 for line in io.TextIOWrapper(stream, encoding="utf-8", newline="\n") if line.strip())


def read_texts(
    path: Path,
    *,
    field: str | None = None,
    keep_ends: bool = True,
    whole: bool = False,
    bad: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The texts of one checked file: each line (with its ``\\n`` when ``keep_ends``), the whole
    file (``whole``), or for JSON lines the ``field`` of each object.

    A JSON line that gives no text is told to ``bad`` (as "FILE, line N: why") and skipped;
    without ``bad`` it raises :class:`SourceError`. ``progress`` is told the bytes of the file
    read so far, every 256 texts. A table gives its ``field`` column's rows.
    """
    if is_table(path):
        yield from read_table(path, field, bad, progress)
        return
    if is_json_lines(path):
        yield from _field_texts(path, field or "text", bad, progress)
        return
    with open_bytes(path) as (stream, raw):
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
        if whole:
            yield text.read()
            return
        for number, line in enumerate(text, 1):
            if not keep_ends and line.endswith("\n"):
                line = line[:-2] if line.endswith("\r\n") else line[:-1]
            yield line
            if progress is not None and number % _PROGRESS_EVERY == 0:
                progress(raw.tell())


def _field_texts(path: Path, field: str, bad, progress) -> Iterator[str]:
    for number, record, problem in read_records(path, progress):
        value = field_of(record, field) if problem is None else None
        problem = problem or field_problem(value, field)
        if problem is None:
            yield value
            continue
        message = f"{where(path, number)}: {problem}"
        if bad is None:
            raise SourceError(f"{message}. {RECORD_HINT}")
        bad(message)


__all__ = [
    "JSON_LINES",
    "RECORD_HINT",
    "FileCheck",
    "check",
    "count_records",
    "field_of",
    "field_problem",
    "is_gzip",
    "is_json_lines",
    "is_records",
    "is_table",
    "is_zstd",
    "looks_binary",
    "read_records",
    "read_texts",
    "where",
]
