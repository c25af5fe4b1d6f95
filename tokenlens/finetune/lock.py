"""Whether a run's trainer is alive: it holds an ``flock`` on the run's ``lock`` file for its
whole life, and writes its PID and process group there.

A lock dies with the process that holds it, so a crash, a signal or a reboot frees it; a PID
alone does not say as much, since the system hands a dead process's PID to the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: the file descriptors this process holds locks on; kept open until the process ends
_HELD: list[int] = []


def acquire(path: Path, wait: float = 5.0) -> bool:
    """Take the lock for the rest of this process's life and record who holds it.

    Returns False when another process holds it after ``wait`` seconds: a probe by a kernel
    holds it for a moment, a second trainer for good.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                return False
            time.sleep(0.05)
    record = {"pid": os.getpid(), "pgid": os.getpgid(0), "host": socket.gethostname(), "time": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)
    _HELD.append(fd)
    return True


def holder(path: Path) -> dict | None:
    """The record of the process holding the lock (``pid``, ``pgid``), ``{}`` while it is being
    written, or None when no process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            # a shared lock: probes from several kernels do not block one another
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                return {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def wait_for_holder(path: Path, pgid: int, ended, timeout: float) -> bool:
    """Wait until the process group ``pgid`` holds the lock; False once ``ended()`` says the
    launched process is gone, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (holder(path) or {}).get("pgid") == pgid:
            return True
        if ended():
            return False
        time.sleep(0.02)
    return False


@contextmanager
def folder_lock(folder: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the lock of a folder of runs while its entries change (a run appears, replaces
    another, resumes); yields False, without waiting, when ``wait`` is off and it is taken."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            got = True
        except BlockingIOError:
            got = False
        yield got
    finally:
        os.close(fd)  # closing the descriptor releases the lock
