"""Where texts come from: one loader for measuring (``stats``, ``dataset_view``), training a
vocabulary (``train_tokenizer``) and fine-tuning (``%finetune``'s data).

- Files, folders and globs (:mod:`.paths`): a folder is the text files inside it, at any depth;
  hidden names (starting with ``.``) and binary files are left out and counted.
- One file (:mod:`.files`): plain UTF-8 text, JSON lines (``.jsonl``, ``.ndjson``, ``.json``:
  a ``field`` of each object, dots for nested ones), either of them compressed (``.gz``,
  ``.zst``); checked before it is read, so a binary or non-UTF-8 file is refused or skipped
  whole, with the line and byte where it goes wrong. Parquet and Arrow files (:mod:`.tables`):
  a ``field`` column, a record batch at a time, row counts from their metadata.
- Python objects (:mod:`.objects`): lists and iterables of strings, pandas Series, ``datasets``
  columns, and tables (DataFrame, Dataset, IterableDataset) by their ``field`` column.

Nothing is read whole: files and datasets are read as they are used, so memory is bounded by
the batch, not the corpus. Each caller keeps what it needs on top: measuring counts the texts
before any work where it can (None for a stream) and hands them out in batches (:mod:`.texts`); training streams lines with byte progress, a stop and a
seeded hold-out (``tokenlens.vocab.corpus``); fine-tuning reads rows with line numbers
(``tokenlens.finetune.data``). Bad input is worded the same way everywhere.
"""

from tokenlens.sources.files import FileCheck, check, read_records, read_texts
from tokenlens.sources.objects import item_problem, items_of
from tokenlens.sources.paths import Found, expand
from tokenlens.sources.texts import Texts, as_texts

__all__ = [
    "FileCheck",
    "Found",
    "Texts",
    "as_texts",
    "check",
    "expand",
    "item_problem",
    "items_of",
    "read_records",
    "read_texts",
]
