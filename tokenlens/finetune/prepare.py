"""Training text tokenized and packed once, kept by content, reused by every later run.

Plain-text rows are tokenized with ``datasets`` (``Dataset.map(batched=True)`` over up to one
process per core, fewer for small data) and packed into blocks of the context length exactly as
:func:`tokenlens.finetune.data.iter_blocks` packs them. The blocks are Arrow files in
``<runs folder>/.prepared/<key>/``, where the key is a hash of the texts themselves (after the
validation split), of what decides the tokenizer's ids and of the packing settings: a second run
on the same data, and every process of a multi-GPU run, memory-maps the same files instead of
tokenizing again, and any change of data, tokenizer or settings makes a new key.

An entry is written in a hidden folder and renamed into place when complete, so a prepare that
crashes or is killed never leaves a folder under a key; what it left is removed by the next
prepare on that machine once its process is gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenlens.finetune.events import process_alive

#: bump when tokenizing or packing changes, so entries made by older code are not reused
FORMAT = 1
#: the folder of prepared data inside the runs folder (hidden: not a run)
FOLDER = ".prepared"
#: texts per tokenizing process: below this a process costs more to start than it saves
TEXTS_PER_PROCESS = 2_000
_SPLITS = ("train", "validation")
_INFO = "prepared.json"


@dataclass
class Prepared:
    """Token blocks of the training and validation text, and where they are kept."""

    key: str
    path: Path
    reused: bool
    train: Blocks | None
    validation: Blocks | None


class Blocks(Sequence):
    """The blocks of one split, read from the memory-mapped Arrow file one at a time."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):  # the trainer asks for one block at a time
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.dataset[i]["input_ids"]


def texts_key(splits: dict[str, list[str]], tokenizer, context: int, packing: bool) -> str:
    """The key of the prepared data: the texts of each split, the tokenizer's ids, the packing."""
    from tokenlens.finetune.models import tokenizer_hash

    h = hashlib.sha256()
    settings = {
        "format": FORMAT,
        "tokenizer": tokenizer_hash(tokenizer),
        "eos": tokenizer.eos_token_id,
        "context": context,
        "packing": packing,
        "add_special_tokens": False,
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    for split in _SPLITS:
        texts = splits.get(split) or []
        h.update(f"\0{split}\0{len(texts)}\0".encode())
        for text in texts:
            data = text.encode("utf-8", errors="surrogatepass")
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
    return h.hexdigest()[:32]


def cache_root(runs_root: Path) -> Path:
    return Path(runs_root) / FOLDER


def find(runs_root: Path, key: str) -> Path | None:
    """The folder of a complete entry for ``key``, if one is kept."""
    path = cache_root(runs_root) / key
    info = path / _INFO
    if not info.is_file():
        return None
    try:
        if json.loads(info.read_text(encoding="utf-8")).get("key") != key:
            return None
    except (OSError, ValueError):
        return None
    return path


def prepare(
    splits: dict[str, list[str]],
    tokenizer,
    *,
    context: int,
    packing: bool,
    runs_root: Path,
    num_proc: int | None = None,
) -> Prepared:
    """The packed blocks of ``splits`` (``train`` and, possibly empty, ``validation`` texts):
    read from the cache when an entry for their key is kept, else tokenized, packed and kept."""
    key = texts_key(splits, tokenizer, context, packing)
    found = find(runs_root, key)
    reused = found is not None
    if found is None:
        found = _build(splits, tokenizer, key, context, packing, cache_root(runs_root), num_proc)
    return Prepared(key, found, reused, *(_load(found, split) for split in _SPLITS))


def _load(folder: Path, split: str) -> Blocks | None:
    from datasets import Dataset

    path = folder / f"{split}.arrow"
    if not path.is_file():
        return None
    dataset = Dataset.from_file(str(path))
    return Blocks(dataset) if len(dataset) else None


def _build(
    splits: dict[str, list[str]], tokenizer, key: str, context: int, packing: bool, root: Path, num_proc
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _tidy(root)
    stage = root / f".tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        counts = {}
        for split in _SPLITS:
            texts = splits.get(split) or []
            if texts:
                counts[split] = _write_split(texts, tokenizer, context, packing, stage, split, num_proc)
        info = {"key": key, "format": FORMAT, "context": context, "packing": packing, "splits": counts}
        (stage / _INFO).write_text(json.dumps(info), encoding="utf-8")
        target = root / key
        if target.exists() and find(root.parent, key) is None:
            shutil.rmtree(target)  # not an entry (an entry is renamed in whole): never reused
        try:
            os.rename(stage, target)
        except OSError:
            if find(root.parent, key) is None:  # not a complete entry another process put there
                raise
        return target
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _write_split(texts: list[str], tokenizer, context: int, packing: bool, stage: Path, split: str, num_proc) -> dict:
    """Tokenize (in parallel) and pack one split into ``stage/<split>.arrow``."""
    from datasets import Dataset
    from datasets.arrow_writer import ArrowWriter

    procs = num_proc or processes_for(len(texts))

    def tokenize(batch: dict[str, list]) -> dict[str, Any]:
        return {"input_ids": tokenizer(batch["text"], add_special_tokens=False)["input_ids"]}

    tokenized = Dataset.from_dict({"text": texts}).map(
        tokenize,
        batched=True,
        num_proc=procs if procs > 1 else None,
        remove_columns=["text"],
        cache_file_name=str(stage / f"{split}-tokens.arrow"),
        new_fingerprint=f"{stage.name}-{split}",
        desc=f"tokenizing the {split} text",
    )
    rows = tokens = 0
    writer = None
    batch: list[list[int]] = []
    for block in _blocks(tokenized, tokenizer.eos_token_id, context, packing):
        batch.append(block)
        rows += 1
        tokens += len(block)
        if len(batch) == 1024 or rows == 1:
            writer = writer or ArrowWriter(path=str(stage / f"{split}.arrow"))
            writer.write_batch({"input_ids": batch})
            batch = []
    if writer is not None:
        if batch:
            writer.write_batch({"input_ids": batch})
        writer.finalize()
        writer.close()
    del tokenized
    for part in stage.glob(f"{split}-tokens*.arrow"):
        part.unlink()
    return {"texts": len(texts), "blocks": rows, "tokens": tokens}


def _blocks(tokenized, eos_id: int | None, context: int, packing: bool) -> Iterator[list[int]]:
    from tokenlens.finetune.data import iter_blocks

    ids = (row for batch in tokenized.iter(batch_size=1000) for row in batch["input_ids"])
    if packing:
        return iter_blocks(ids, eos_id, context)
    return (x[:context] for x in ids if x)


def processes_for(texts: int) -> int:
    """Tokenizing processes for ``texts`` texts: one per core, fewer where the data is small."""
    return max(1, min(os.cpu_count() or 1, texts // TEXTS_PER_PROCESS))


def _tidy(root: Path) -> None:
    """What a killed prepare on this machine left (its process is gone), removed."""
    host = socket.gethostname()
    for p in root.glob(".tmp-*"):
        parts = p.name[len(".tmp-") :].rsplit("-", 2)
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if not process_alive(int(parts[1])):
            shutil.rmtree(p, ignore_errors=True)


__all__ = ["FOLDER", "Blocks", "Prepared", "cache_root", "find", "prepare", "processes_for", "texts_key"]
