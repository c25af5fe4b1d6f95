"""Loaded causal LMs kept between calls, keyed by their folder and the stamp (name, mtime_ns,
size) of the files a model loads from, so a model saved again in the same folder (``%finetune
--overwrite``) is loaded afresh; bounded by the bytes of their weights
(``Limits.model_cache_bytes``), the least recently used dropped first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenlens.core.limits import LIMITS

#: the files whose change means a different model (weights, configuration, tokenizer)
_LOADED_FROM = (".safetensors", ".json", ".model", ".txt", ".jinja")


def stamp(folder: Path) -> tuple:
    """What changes when anything the model loads from is written again."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix in _LOADED_FROM:
            try:
                st = path.stat()
            except OSError:  # removed while we looked: the next look sees the new state
                continue
            out.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def weight_bytes(model: Any) -> int:
    """Bytes of a torch model's parameters and buffers (tied weights counted once)."""
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    return sum(t.numel() * t.element_size() for t in tensors.values())


class ModelCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (folder, stamp) → (value, bytes), least recently used first
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._key_locks: dict[tuple, threading.Lock] = {}

    def get(self, folder: Path, load: Callable[[], tuple[Any, Any]]) -> tuple[Any, Any]:
        """The (model, tokenizer) of ``folder``, loaded by ``load`` unless held for its files as they are now."""
        key = (str(folder.resolve()), stamp(folder))
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        try:
            with key_lock:  # one load per key even when several threads ask at once
                with self._lock:
                    hit = self._items.get(key)
                if hit is not None:
                    return hit[0]
                value = load()
                self._put(key, value, weight_bytes(value[0]))
                return value
        finally:
            with self._lock:
                self._key_locks.pop(key, None)

    def _put(self, key: tuple, value: tuple[Any, Any], size: int) -> None:
        with self._lock:
            # an older save of the same folder can never be asked for again
            for old in [k for k in self._items if k[0] == key[0]]:
                del self._items[old]
            if size <= LIMITS.model_cache_bytes:  # a model bigger than the whole budget is used once, not kept
                self._items[key] = (value, size)
            # the budget may have been lowered since the last load: hold to it now
            while self._items and sum(s for _, s in self._items.values()) > LIMITS.model_cache_bytes:
                self._items.popitem(last=False)

    def held(self) -> list[tuple[str, int]]:
        """(folder, bytes) of each model held, least recently used first."""
        with self._lock:
            return [(k[0], s) for k, (_, s) in self._items.items()]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


models = ModelCache()
