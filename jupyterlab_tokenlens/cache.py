"""Recent answers by request, so identical requests (a panel re-opened, a cell re-selected) are
not recomputed. Bounded by total size; the oldest answers go first."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict


class AnswerCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, names: list[str], special: bool, counts_only: bool = False) -> tuple:
        from tokenlens.core.resolve import fingerprint

        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        # a retrained tokenizer (same name, new file) must not be answered from the cache
        return (digest, tuple(names), special, counts_only, tuple(fingerprint(n) for n in names))

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, answer: bytes) -> None:
        if len(answer) > self.max_bytes // 4:
            return  # one huge answer would push out everything else
        with self._lock:
            if key in self._items:
                return
            self._items[key] = answer
            self._size += len(answer)
            while self._size > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)
