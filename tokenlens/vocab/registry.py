"""Trained tokenizers in the registry folder: which names can be used, and an atomic save.

The registry (:func:`tokenlens.core.resolve.registry_dir`) is shared by every kernel and the server; a
folder appears there whole or not at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

from tokenlens.vocab.options import TrainingError, TrainingOptions

#: the file in a trained folder that holds what tokenlens learnt about the training
TRAINING_FILE = "tokenlens_training.json"


def check_name(name: str, overwrite: bool = False) -> Path:
    """The registry folder for ``name``; refuses names that cannot be used, with what can."""
    from tokenlens.core.resolve import _PLAIN_NAME, registry_dir, search_path
    from tokenlens.vocab.taken_names import free_name, shadowed

    if not isinstance(name, str) or not _PLAIN_NAME.match(name or ""):
        owner = isinstance(name, str) and "/" in name
        hub = " It has the shape of a Hugging Face hub id (owner/name)." if owner else ""
        raise TrainingError(
            f"{name!r} cannot name a tokenizer.{hub} A name starts with a letter or digit and holds only"
            " letters, digits and . _ + - (at most 128 characters), e.g. 'odia-bpe-8k'."
        )
    for root in search_path():
        if (root / name).is_dir():
            raise TrainingError(
                f"{name!r} is already a tokenizer on TOKENLENS_PATH ({root / name}), which is looked up"
                f" before trained tokenizers, so yours would be hidden; pick another name, e.g. {free_name(name)!r}."
            )
    hidden = shadowed(name)
    if hidden is not None:
        raise TrainingError(
            f"{name!r} already names {hidden}; trained tokenizers are looked up first, so yours would"
            f" silently take its place everywhere (cells, the side panel, the server); pick another name,"
            f" e.g. {free_name(name)!r}."
        )
    target = registry_dir() / name
    if target.exists() and not overwrite:
        raise TrainingError(
            f"A tokenizer named {name!r} exists already ({target}). Pick another name, or replace it"
            " with --overwrite (overwrite=True)."
        )
    return target


#: what a save leaves while it runs: the folder being written, and the folder it replaces
_LEFTOVER = re.compile(r"^\.(?P<kind>tmp|old)-(?P<name>.+)-[0-9a-z_]{8}$")


def _tidy(registry: Path) -> None:
    """Undo what a save cut short left behind; only under the registry's lock, which every save
    holds, so no save is under way and each leftover is provably stale."""
    for p in list(registry.iterdir()):
        m = _LEFTOVER.match(p.name)
        if m is None:
            continue
        if m["kind"] == "old" and not (registry / m["name"]).exists():
            os.rename(p, registry / m["name"])  # died between its two renames: the old folder goes back
        else:
            shutil.rmtree(p, ignore_errors=True)


def clean_stale(registry: Path) -> None:
    """Tidy the registry when no save holds it (for a listing, which must not wait or fail)."""
    from tokenlens.finetune.lock import folder_lock

    try:
        with folder_lock(registry, wait=False) as got:
            if got:
                _tidy(registry)
    except OSError:
        pass  # a registry this process may not write to: nothing to tidy from here


def save_atomically(name: str, files: dict[str, str], overwrite: bool = False) -> Path:
    """Write ``files`` into the registry folder ``name`` all at once.

    They are written to a hidden temporary folder beside it and renamed into place, so another
    process (the server, a second kernel) sees the old folder or the new one, never half of one,
    and an interrupted write leaves nothing behind.
    """
    from tokenlens.core.resolve import registry_dir
    from tokenlens.finetune.lock import folder_lock

    target = check_name(name, overwrite)
    registry = registry_dir()
    with folder_lock(registry):
        _tidy(registry)
        return _save_locked(registry, target, name, files, overwrite)


def _save_locked(registry: Path, target: Path, name: str, files: dict[str, str], overwrite: bool) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=registry))
    try:
        os.chmod(tmp, 0o755)
        for fname, content in files.items():
            with open(tmp / fname, "w", encoding="utf-8") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
        if target.exists():
            if not overwrite:
                raise TrainingError(
                    f"A tokenizer named {name!r} appeared while training ({target}); nothing was replaced."
                )
            old = registry / f".old-{name}-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # No cache to clear: loaded tokenizers are keyed by their file's mtime and size, so the next
    # tokenlens.load(name) in any process reads the new folder.
    return target


def config_files(tok, opts: TrainingOptions, name: str) -> dict[str, str]:
    """tokenizer.json plus the two small files ``transformers.AutoTokenizer`` reads."""
    specials = opts.special_tokens or []
    roles: dict[str, str] = {}
    if opts.algorithm == "bpe":
        if "<|endoftext|>" in specials:
            roles = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    elif opts.algorithm == "wordpiece":
        bert_roles = (
            ("unk_token", "[UNK]"),
            ("pad_token", "[PAD]"),
            ("cls_token", "[CLS]"),
            ("sep_token", "[SEP]"),
            ("mask_token", "[MASK]"),
        )
        for role, token in bert_roles:
            if token in specials:
                roles[role] = token
    else:
        for role, token in (
            ("unk_token", "<unk>"),
            ("bos_token", "<s>"),
            ("eos_token", "</s>"),
            ("pad_token", "<pad>"),
        ):
            if token in specials:
                roles[role] = token
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 1_000_000,
        "clean_up_tokenization_spaces": False,
        "do_lower_case": bool(opts.lowercase),
        "name_or_path": name,
        **roles,
    }
    return {
        "tokenizer.json": tok.to_str(pretty=True),
        "tokenizer_config.json": json.dumps(config, indent=2, ensure_ascii=False),
        "special_tokens_map.json": json.dumps(roles, indent=2, ensure_ascii=False),
    }


__all__ = ["TRAINING_FILE", "check_name", "config_files", "save_atomically"]
