"""Texts held in Python: a list or other iterable of strings, a pandas Series, a ``datasets``
column, and a table (pandas DataFrame, ``datasets`` Dataset) by its ``field`` column.

A string alone is left to the caller (measuring takes it as one text, training as many lines);
so are paths (files, :mod:`tokenlens.sources.paths`). Items are checked one by one as they are
read, with one wording for an item that is not text: :func:`item_problem`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tokenlens.errors import SourceError

#: what to do about items that are not text
ITEM_HINT = "Drop missing values first (series.dropna()), or turn the items into strings."

_ACCEPTED = "a string, a list or iterator of strings, a pandas Series or column, a datasets column, or files"


def kind_of(obj: Any) -> str:
    """``dataframe``, ``series``, ``dataset``, ``datasetdict`` or ``""`` (anything else)."""
    module, name = type(obj).__module__ or "", type(obj).__name__
    if module.startswith("pandas"):
        return {"DataFrame": "dataframe", "Series": "series"}.get(name, "")
    if module.startswith("datasets"):
        if name == "DatasetDict" or name == "IterableDatasetDict":
            return "datasetdict"
        if name in ("Dataset", "IterableDataset"):
            return "dataset"
    return ""


def columns_of(table: Any) -> list[str]:
    if kind_of(table) == "dataframe":
        return [str(c) for c in table.columns]
    return list(getattr(table, "column_names", None) or [])


@dataclass
class Items:
    """Items to read as texts: the items, how many (None: not known before reading), what they are."""

    items: Iterable[Any]
    n: int | None
    description: str
    #: a name the items carry (a Series' name, a table's column)
    label: str | None = None


def items_of(obj: Any, field: str | None = None) -> Items:
    """The items of ``obj`` (not a string, not a path), or an error that says what to pass."""
    kind = kind_of(obj)
    if isinstance(obj, (bytes, bytearray)):
        raise SourceError("Got bytes: decode them to text first, e.g. data.decode('utf-8').")
    if isinstance(obj, os.PathLike):
        raise SourceError(f"{obj} is a path; pass paths as files, not as texts.")
    if kind == "datasetdict":
        raise SourceError(
            f"Got a {type(obj).__name__}; pick a split first, e.g. ds['train'] (its splits: {list(obj)})."
        )
    if kind in ("dataframe", "dataset"):
        return _column(obj, field)
    if isinstance(obj, dict):
        keys = ", ".join(map(str, list(obj)[:5]))
        raise SourceError(
            f"Got a dict (keys: {keys}); pick the part that holds text: a split of a DatasetDict"
            " (ds['train']), a list of strings."
        )
    if getattr(obj, "ndim", 1) != 1 and hasattr(obj, "shape"):
        raise SourceError(f"Got a table of shape {obj.shape}; pass one column of text.")
    if kind == "series":
        name = getattr(obj, "name", None)
        return Items(obj, len(obj), f"Series of {len(obj):,} items", str(name) if name is not None else None)
    if not isinstance(obj, Iterable):
        raise SourceError(f"Cannot read texts from a {type(obj).__name__}: give {_ACCEPTED}.")
    try:
        n = len(obj)
    except TypeError:
        return Items(obj, None, type(obj).__name__)
    return Items(obj, n, f"{type(obj).__name__} of {n:,} items")


def _column(table: Any, field: str | None) -> Items:
    columns = columns_of(table)
    name = field or ("text" if "text" in columns or not columns else None)
    if name is None or (columns and name not in columns):
        example = next((c for c in columns if c != "id"), "text")
        raise SourceError(
            f"Name the column of the {type(table).__name__} that holds the text: field='{example}'"
            f" (--field in the magics), or pass the column itself, e.g. table['{example}']."
            f" Its columns: {', '.join(columns)}."
        )
    if kind_of(table) == "dataframe":
        column = table[name]
        return Items(column, len(column), f"column {name!r} of {len(column):,} rows", name)
    try:
        n = len(table)
    except TypeError:  # an IterableDataset: its length is not known before reading
        n = None
    return Items(_dataset_column(table, name), n, f"column {name!r} of a {type(table).__name__}", name)


def _dataset_column(dataset: Any, column: str) -> Iterator[Any]:
    """The column's items, a thousand rows at a time (the other columns are not read)."""
    if hasattr(dataset, "select_columns"):
        dataset = dataset.select_columns([column])
    for batch in dataset.iter(batch_size=1000):
        yield from batch[column]


def item_problem(index: int, item: Any) -> str | None:
    """Why item ``index`` is not a text ("item 3 is missing (NaN)"), or None when it is one."""
    if isinstance(item, str):
        return None
    if item is None or (isinstance(item, float) and item != item) or type(item).__name__ in ("NAType", "NaTType"):
        return f"item {index} is missing ({'None' if item is None else repr(item)})"
    shown = repr(item)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return f"item {index} is {type(item).__name__} ({shown}), not text"


__all__ = ["ITEM_HINT", "Items", "columns_of", "item_problem", "items_of", "kind_of"]
