"""Training data: files and Python objects to rows, rows checked with line numbers, token counts.

A row is ``{"text": ...}``, ``{"prompt": ..., "completion": ...}`` or ``{"messages": [...]}``.
Python objects are written to the run folder as JSONL before launch, because the trainer runs
in a process of its own and reads files only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError
from tokenlens.sources.files import check, is_records, read_records, read_texts, where
from tokenlens.sources.objects import kind_of
from tokenlens.sources.paths import expand

#: the source of rows given as a Python object; their ``line`` is the item's index
PYTHON = "<python>"


@dataclass
class BadRow:
    source: str
    #: line of a file (from 1), index of a Python item (from 0), or 0 for a whole file
    line: int
    reason: str

    def __str__(self) -> str:
        if self.source == PYTHON:
            return f"item {self.line}: {self.reason}"
        return f"{where(self.source, self.line)}: {self.reason}" if self.line else f"{self.source} {self.reason}"


@dataclass
class Rows:
    rows: list[dict] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    kind: str = ""  # text | prompt_completion | messages
    #: what the named folders held that is not data (binary files, hidden names), in words
    left_out: str = ""

    def check(self, bad_rows: str) -> Rows:
        if self.bad and bad_rows == "fatal":
            listing = "; ".join(str(b) for b in self.bad[:5])
            more = f" (and {len(self.bad) - 5} more)" if len(self.bad) > 5 else ""
            raise InputError(
                f"{len(self.bad)} malformed data row(s): {listing}{more}. Fix them, or pass"
                " --bad-rows skip to train without them."
            )
        if not self.rows:
            reasons = f" ({self.bad[0]})" if self.bad else ""
            left_out = f"; {self.left_out}" if self.left_out else ""
            raise InputError(f"The training data has no usable rows{reasons}{left_out}.")
        return self


def row_kind(row: dict, text_field: str = "text") -> str | None:
    if isinstance(row.get("messages"), list):
        return "messages"
    if isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str):
        return "prompt_completion"
    if isinstance(row.get(text_field), str):
        return "text"
    return None


def _validate(row: Any, text_field: str) -> tuple[dict | None, str]:
    if not isinstance(row, dict):
        return None, f"a JSON object was expected, found {type(row).__name__}"
    kind = row_kind(row, text_field)
    if kind is None:
        return None, (f"no '{text_field}' string, no 'prompt'+'completion' strings and no 'messages' list")
    if kind == "messages":
        msgs = row["messages"]
        if not msgs or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in msgs
        ):
            return None, "'messages' must be a list of {role, content} strings"
        return {"messages": [{"role": m["role"], "content": m["content"]} for m in msgs]}, ""
    if kind == "prompt_completion":
        return {"prompt": row["prompt"], "completion": row["completion"]}, ""
    text = row[text_field]
    if not text.strip():
        return None, f"'{text_field}' is empty"
    return {"text": text}, ""


def read_rows(sources: Iterable[str], text_field: str = "text") -> Rows:
    """Rows from files, folders and globs (the rules of :mod:`tokenlens.sources`): a text file
    is one document, a JSON lines file a row a line; gzip too. A file that is binary or not
    UTF-8 is one bad row, named with the line and byte where it goes wrong."""
    found = expand(list(sources))
    out = Rows(left_out=found.note())
    for path in found.files:
        checked = check(path)
        if checked.problem is not None:
            out.bad.append(BadRow(str(path), 0, checked.problem))
        elif not is_records(path):  # a table gives a row a record, like JSON lines
            text = next(read_texts(path, whole=True))
            if text.strip():
                out.rows.append({"text": text})
            else:
                out.bad.append(BadRow(str(path), 0, "is empty"))
        else:
            for number, record, problem in read_records(path):
                row, reason = (None, problem) if problem else _validate(record, text_field)
                if row is None:
                    out.bad.append(BadRow(str(path), number, reason))
                else:
                    out.rows.append(row)
    _set_kind(out, text_field)
    return out


def rows_from_object(obj: Any, text_field: str = "text") -> Rows:
    """Rows from a str, a list of str or dicts, a pandas Series/DataFrame or a datasets Dataset."""
    kind = kind_of(obj)
    if isinstance(obj, str):
        items: Iterable[Any] = [obj]
    elif kind == "dataframe":
        items = obj.to_dict("records")
    elif kind == "series":
        items = obj.tolist()
    elif kind == "dataset":
        items = iter(obj)
    elif kind == "datasetdict":
        raise InputError(f"Got a {type(obj).__name__}; pick a split first, e.g. ds['train'] (its splits: {list(obj)}).")
    elif isinstance(obj, Iterable) and not isinstance(obj, (bytes, bytearray, dict)):
        items = obj
    else:
        raise InputError(
            f"Cannot train on a {type(obj).__name__}: give text, a list of texts or rows, a pandas column or a datasets Dataset."
        )
    out = Rows()
    for number, item in enumerate(items):
        row, reason = _validate({text_field: item} if isinstance(item, str) else item, text_field)
        if row is None:
            out.bad.append(BadRow(PYTHON, number, reason))
        else:
            out.rows.append(row)
    _set_kind(out, text_field)
    return out


def _set_kind(rows: Rows, text_field: str) -> None:
    kinds = {row_kind(r, text_field) for r in rows.rows}
    if len(kinds) > 1:
        raise InputError(
            f"The data mixes row kinds {sorted(k for k in kinds if k)}; one run trains on one kind"
            " (plain text, prompt/completion, or chat messages)."
        )
    rows.kind = kinds.pop() if kinds else ""


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def split(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Train and validation rows; a single document is split by characters instead."""
    import random

    if fraction <= 0:
        return rows, []
    if len(rows) == 1 and "text" in rows[0]:
        text = rows[0]["text"]
        cut = int(len(text) * (1 - fraction))
        return [{"text": text[:cut]}], [{"text": text[cut:]}]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_val = max(1, int(round(len(rows) * fraction))) if len(rows) > 1 else 0
    val = set(order[:n_val])
    return [r for i, r in enumerate(rows) if i not in val], [r for i, r in enumerate(rows) if i in val]


def render_row(row: dict, tokenizer) -> str:
    """The training text of a row (chat rows through the tokenizer's chat template)."""
    if "text" in row:
        return row["text"]
    if "prompt" in row:
        return row["prompt"] + row["completion"]
    return tokenizer.apply_chat_template(row["messages"], tokenize=False)


@dataclass
class DryRun:
    """What a run would train on, before anything starts."""

    rows: int
    kind: str
    tokens: int
    longest: int
    truncated_rows: int
    context: int
    blocks: int
    steps_per_epoch: int
    total_steps: int
    bad_rows: list[str]
    #: whether the tokenized, packed data is kept from an earlier run (plain text only)
    prepared: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        lines = [
            f"{self.rows:,} rows of {self.kind or 'data'}, {self.tokens:,} tokens (longest row {self.longest:,}).",
            f"{self.truncated_rows:,} row(s) longer than the context of {self.context} tokens"
            + (" (packed into blocks, so nothing is lost)." if self.kind == "text" else " would be truncated."),
            f"{self.blocks:,} training sequences; {self.steps_per_epoch:,} steps per epoch, {self.total_steps:,} in all.",
        ]
        if self.bad_rows:
            lines.append(f"{len(self.bad_rows)} malformed row(s) skipped, e.g. {self.bad_rows[0]}")
        if self.prepared:
            lines.append(self.prepared)
        return "\n".join(lines)


def dry_run(rows: Rows, tokenizer, spec, runs_root: Path | None = None) -> DryRun:
    texts = [render_row(r, tokenizer) for r in rows.rows]
    counts = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    tokens = sum(counts)
    if rows.kind == "text" and spec.packing:
        blocks = max(1, (tokens + len(counts)) // spec.context)  # one EOS between documents
    else:
        blocks = len(counts)
    per_step = spec.batch_size * spec.grad_accum * max(spec.num_processes, 1) * max(spec.num_machines, 1)
    train_blocks = math.ceil(blocks * (1 - spec.validation)) if spec.validation else blocks
    steps_per_epoch = max(1, math.ceil(train_blocks / per_step))
    total = spec.max_steps if spec.max_steps > 0 else math.ceil(steps_per_epoch * spec.epochs)
    return DryRun(
        rows=len(rows.rows),
        kind=rows.kind,
        tokens=tokens,
        longest=max(counts, default=0),
        truncated_rows=sum(c > spec.context for c in counts),
        context=spec.context,
        blocks=blocks,
        steps_per_epoch=steps_per_epoch,
        total_steps=total,
        bad_rows=[str(b) for b in rows.bad],
        prepared=_prepared_line(rows, tokenizer, spec, tokens, runs_root) if rows.kind == "text" else "",
    )


def _prepared_line(rows: Rows, tokenizer, spec, tokens: int, runs_root: Path | None) -> str:
    """Whether a run would reuse data prepared before (the key the trainer computes), or how
    much it would tokenize."""
    from tokenlens.finetune.prepare import find, texts_key
    from tokenlens.finetune.spec import runs_dir

    train, val = split(rows.rows, spec.validation, spec.seed)
    splits = {"train": [render_row(r, tokenizer) for r in train], "validation": [render_row(r, tokenizer) for r in val]}
    key = texts_key(splits, tokenizer, spec.context, spec.packing)
    if find(runs_root or runs_dir(), key) is not None:
        return f"prepared data: reused from {key}"
    return f"will prepare: {len(rows.rows):,} texts, ~{tokens:,} tokens"


def iter_blocks(token_lists: Iterable[list[int]], eos_id: int | None, context: int) -> Iterator[list[int]]:
    """Pack documents into blocks of ``context`` tokens, EOS between documents."""
    buffer: list[int] = []
    for ids in token_lists:
        buffer.extend(ids)
        if eos_id is not None:
            buffer.append(eos_id)
        if len(buffer) >= context:
            # cut all the whole blocks at once: one copy of the rest, not one per block
            full = len(buffer) // context * context
            for start in range(0, full, context):
                yield buffer[start : start + context]
            buffer = buffer[full:]
    if len(buffer) > 1:
        yield buffer
