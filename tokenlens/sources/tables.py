"""Parquet and Arrow files: one text per row of a string column, read in record batches.

- ``.parquet`` (``.pq``) files are read with ``pyarrow.parquet.ParquetFile.iter_batches``, one
  column only; ``.arrow``, ``.feather`` and ``.ipc`` files are Arrow IPC files (random access)
  or, failing that, Arrow IPC streams.
- The column is ``text`` unless another is named (``field``); it must hold strings. A null row is
  told like a JSON line without its field ("data.parquet, row 3: field 'text' is missing").
- Row counts come from the file's metadata (Parquet footer, Arrow IPC record batch headers),
  so knowing how many texts a table holds costs no pass over it (an IPC stream, which has no
  footer, is read once).

Memory: a batch of :data:`BATCH_ROWS` rows of the one column at a time, and for Parquet one row
group's column chunk (without pre-buffering: pyarrow's default reads every column chunk of the
file ahead, the whole file's size in memory), for Arrow one record batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from tokenlens.errors import SourceError

#: file name endings read as tables (Parquet, Arrow IPC / Feather)
PARQUET = (".parquet", ".pq")
ARROW = (".arrow", ".feather", ".ipc")
#: rows read at once (one column)
BATCH_ROWS = 4096

HINTS = {
    "table": "It may be cut short or not a table at all: write it again (e.g. df.to_parquet(path)).",
    "column": "Name the column that holds the text: field='...' (--field in the magics).",
}


def is_table(path: Path) -> bool:
    return path.name.lower().endswith(PARQUET + ARROW)


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.ipc as ipc
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise SourceError("Reading Parquet and Arrow files needs pyarrow: pip install pyarrow") from None
    return pa, ipc, pq


def inspect_table(path: Path, field: str | None) -> tuple[int, str | None, str]:
    """(rows, why the file cannot be used or None, which hint) from the table's metadata; the
    column ``field`` is checked when named (None: only whether the table can be read)."""
    pa, ipc, pq = _pyarrow()
    try:
        if path.name.lower().endswith(PARQUET):
            meta = pq.ParquetFile(path, pre_buffer=False)
            schema, rows = meta.schema_arrow, meta.metadata.num_rows
        else:
            schema, rows = _arrow_rows(path, ipc, pa)
    except (pa.ArrowException, OSError, ValueError) as exc:
        kind = "Parquet" if path.name.lower().endswith(PARQUET) else "Arrow IPC"
        return 0, f"is not a readable {kind} file ({str(exc).splitlines()[0]})", "table"
    if field is None:
        return rows, None, ""
    name = field
    if name not in schema.names:
        return rows, f"has no column {name!r} (its columns: {', '.join(schema.names)})", "column"
    kind = schema.field(name).type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
        return rows, f"has a column {name!r} of {kind}, not text", "column"
    return rows, None, ""


def _is_ipc_file(path: Path) -> bool:
    """An Arrow IPC file (random access, a footer) rather than an IPC stream: its magic bytes."""
    with open(path, "rb") as f:
        return f.read(6) == b"ARROW1"


def _arrow_rows(path: Path, ipc, pa):
    with pa.OSFile(str(path)) as source:
        if _is_ipc_file(path):
            reader = ipc.open_file(source)
            return reader.schema, reader.count_rows()  # from the batches' headers
        reader = ipc.open_stream(source)  # an IPC stream: no footer, so count its batches
        return reader.schema, sum(batch.num_rows for batch in reader)


def _batches(path: Path, column: str | None) -> Iterator:
    """Record batches of at most :data:`BATCH_ROWS` rows: of one column, or of all (None)."""
    pa, ipc, pq = _pyarrow()
    if path.name.lower().endswith(PARQUET):
        # pre_buffer (pyarrow's default) would read the whole file's column chunks ahead: 1 GB for 1 GB
        table = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        yield from table.iter_batches(batch_size=BATCH_ROWS, columns=None if column is None else [column])
        return
    # an ordinary file, not a memory map: mapped pages would count as this process's memory
    with pa.OSFile(str(path)) as source:
        if _is_ipc_file(path):
            reader = ipc.open_file(source)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            batches = ipc.open_stream(source)
        for batch in batches:
            for start in range(0, batch.num_rows, BATCH_ROWS):
                part = batch.slice(start, BATCH_ROWS)
                yield part if column is None else part.select([column])


def read_table(
    path: Path,
    field: str | None = None,
    bad: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The texts of column ``field`` (``text``) of a checked table, a row at a time.

    A null row is told to ``bad`` ("FILE, row N: ...") and skipped; without ``bad`` it raises
    :class:`SourceError`. ``progress`` is told the share of the file's bytes read, after each batch.
    """
    from tokenlens.sources.files import RECORD_HINT

    column = field or "text"
    rows, problem, kind = inspect_table(path, column)
    if problem is not None:  # read without a check first (a caller that checks only readability)
        raise SourceError(f"{path} {problem}. {HINTS[kind]}")
    size = path.stat().st_size
    total, rows = rows, 0
    for batch in _batches(path, column):
        values = batch.column(0).to_pylist()
        for i, value in enumerate(values):
            if value is None:
                message = f"{path}, row {rows + i + 1}: field {column!r} is missing (null)"
                if bad is None:
                    raise SourceError(f"{message}. {RECORD_HINT}")
                bad(message)
                continue
            yield value
        rows += len(values)
        if progress is not None:
            progress(size * rows // max(total, 1))


def read_table_records(path: Path) -> Iterator[tuple[int, dict, None]]:
    """(row number from 1, the row as a dict of its columns, None) for each row, as
    :func:`tokenlens.sources.files.read_records` gives JSON lines."""
    number = 0
    for batch in _batches(path, None):
        for record in batch.to_pylist():
            number += 1
            yield number, record, None


__all__ = ["ARROW", "BATCH_ROWS", "PARQUET", "inspect_table", "is_table", "read_table", "read_table_records"]
