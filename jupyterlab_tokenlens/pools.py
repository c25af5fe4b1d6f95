"""The threads that answer requests: one pool for the light routes, and a bounded one for the
heavy routes (a model's predictions, the pipeline view), so a slow request never holds up the
panel's tokenize requests, and heavy requests beyond the bound are refused at once (503)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from .failures import Busy


class BoundedPool:
    """``workers`` threads and at most ``queue`` requests waiting for one; beyond that,
    :meth:`submit` raises :class:`Busy` instead of letting requests pile up."""

    def __init__(self, workers: int, queue: int, what: str, retry_after: int):
        self.what = what
        self.retry_after = retry_after
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"tokenlens-{what}")
        self._slots = threading.BoundedSemaphore(max(1, workers) + max(0, queue))

    def submit(self, fn, *args) -> Future:
        if not self._slots.acquire(blocking=False):
            raise Busy(self.what, self.retry_after)
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Pools:
    """The light pool (unbounded queue: its requests are small and quick) and the heavy one."""

    def __init__(self, workers: int, heavy_workers: int, heavy_queue: int, retry_after: int):
        self.light = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tokenlens")
        self.heavy = BoundedPool(heavy_workers, heavy_queue, "heavy (predict, pipeline)", retry_after)

    def submit(self, heavy: bool, fn, *args) -> Future:
        return self.heavy.submit(fn, *args) if heavy else self.light.submit(fn, *args)

    def shutdown(self) -> None:
        self.light.shutdown(wait=False, cancel_futures=True)
        self.heavy.shutdown()
