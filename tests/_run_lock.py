"""A real process standing in for a trainer: it takes a run's lock the way the trainer does
(tokenlens.finetune.lock.acquire) and holds it until it is ended, in a process session of its own."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from tokenlens.finetune import lock\n"
    "ok = lock.acquire(Path(sys.argv[1]), wait=0)\n"
    "print('held' if ok else 'taken', flush=True)\n"
    "time.sleep(120 if ok else 0)\n"
)


class StandIn:
    """Processes that hold run locks; ``end()`` ends (and reaps) them all."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def hold(self, lock_file: Path) -> subprocess.Popen:
        """Start a process that takes ``lock_file``; returns once it holds it (or failed to)."""
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(lock_file)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        proc.answer = proc.stdout.readline().strip()
        self.procs.append(proc)
        return proc

    @property
    def pid(self) -> int:
        return self.procs[-1].pid

    def end(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()


FOLDER_HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from tokenlens.finetune.lock import folder_lock\n"
    "with folder_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(120)\n"
)


@contextmanager
def folder_held_elsewhere(folder: Path):
    """Another process holds ``folder``'s lock (a change of its entries under way there)."""
    proc = subprocess.Popen([sys.executable, "-c", FOLDER_HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
