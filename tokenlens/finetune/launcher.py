"""Start, watch, stop and resume a run: the trainer in its own process session, launched with
plain Python, ``accelerate launch`` or ``torchrun`` — the same command on one CPU or many GPUs."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tokenlens.core.limits import LIMITS
from tokenlens.errors import InputError
from tokenlens.finetune import lock
from tokenlens.finetune.events import (
    ACTIVE,
    ENDED,
    EventWriter,
    RunState,
    fold,
    killed_message,
    read_events,
    signal_name,
    status_words,
)
from tokenlens.finetune.spec import RunDir, RunSpec
from tokenlens.views.display import ShownAsWidget

TRAIN_MODULE = "tokenlens.finetune.trainer"


def build_command(spec: RunSpec, run: RunDir, resume: bool = False, python: str | None = None) -> list[str]:
    """The exact launch command; ``--print-command`` shows it for a cluster scheduler."""
    py = python or sys.executable
    tail = ["-m", TRAIN_MODULE, str(run.path.resolve())] + (["--resume"] if resume else [])
    if spec.launcher == "torchrun":
        cmd = [
            py,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            str(spec.num_processes),
            "--nnodes",
            str(spec.num_machines),
            "--node_rank",
            str(spec.machine_rank),
        ]
        if spec.num_machines > 1:
            cmd += ["--master_addr", spec.main_address, "--master_port", str(spec.main_port)]
        else:
            cmd += ["--master_port", str(spec.main_port)]
        return cmd + tail
    if spec.launcher == "accelerate":
        cmd = [
            py,
            "-m",
            "accelerate.commands.launch",
            "--num_processes",
            str(spec.num_processes * spec.num_machines),
            "--num_machines",
            str(spec.num_machines),
            "--machine_rank",
            str(spec.machine_rank),
            "--main_process_port",
            str(spec.main_port),
            "--dynamo_backend",
            "no",
        ]
        if spec.num_machines > 1:
            cmd += ["--main_process_ip", spec.main_address]
        if spec.device == "cpu":
            cmd += ["--cpu"]
        elif spec.num_processes * spec.num_machines > 1:
            cmd += ["--multi_gpu"]
        mixed = {"bf16": "bf16", "fp16": "fp16"}.get(spec.precision, "no")
        return cmd + ["--mixed_precision", mixed] + tail
    return [py] + tail


class Run(ShownAsWidget):
    """A handle on a run folder: its state, and Stop / Kill / Resume / wait.

    The trainer is alive while it holds the run's lock (lock.py), not while some process has
    the PID it had: a PID is reused once its process is gone, a lock is not.
    """

    _widget_class = "tokenlens.views.finetune:FinetuneWidget"

    def __init__(self, run: RunDir):
        self.dir = run
        self._offset = 0
        self._state = RunState()

    @property
    def name(self) -> str:
        return self.dir.path.name

    @property
    def spec(self) -> RunSpec:
        return self.dir.spec()

    def poll(self) -> RunState:
        """Fold the events written since the last poll into the state."""
        self._read()
        state = self._state
        if state.status in ACTIVE and not self.alive():
            if _note_exit(self):  # our child ended: its exit code or signal is now an event
                self._read()
            launched = self._offset or self.dir.pid_file.exists()
            if state.status in ACTIVE and launched:
                # gone without a final event, and nobody saw how
                state.status, state.error = "killed", killed_message(step=state.step)
                if not self._offset:
                    tail = self.log_tail(12)
                    state.error = "The trainer process ended before reporting anything" + (
                        f"; the end of log.txt:\n{tail}" if tail else "; see log.txt in the run folder."
                    )
        elif state.status in ENDED:
            _note_exit(self)  # reap our child, so no zombie lingers
        latest = self.dir.latest_checkpoint() if state.status in {"stopped", "killed", "failed"} else None
        state.resume_from = str(latest) if latest else None
        return state

    def _read(self) -> None:
        events, self._offset = read_events(self.dir.events_file, self._offset)
        fold(events, self._state)

    @property
    def state(self) -> RunState:
        return self.poll()

    def pid(self) -> int | None:
        """The PID of the launched process (the launcher, leader of the trainer's process group)."""
        try:
            return int(self.dir.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        """Whether a trainer holds this run's lock now."""
        return lock.holder(self.dir.lock_file) is not None

    def stop(self) -> None:
        """Ask the trainer to save a checkpoint and stop (it checks after every step)."""
        if not self.alive():
            raise InputError(
                f"Run {self.name!r} is not running (it is {status_words(self.poll().to_dict())}); nothing to stop."
            )
        self.dir.stop_file.write_text(str(time.time()))

    def kill(self) -> bool:
        """End the trainer at once (SIGKILL to its process group, no save); the newest complete
        checkpoint stays. Only a process group that holds this run's lock and is the one this
        run launched is signalled. True when one was."""
        holder = self._holder()
        if holder is None:
            return False
        pid = self.pid()
        if holder.get("pgid") != pid:
            raise InputError(
                f"Run {self.name!r} is trained by process group {holder.get('pgid')}, not {pid} as its pid"
                " file says; nothing was killed. Stop it with %finetune --stop instead."
            )
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + 30
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        proc = _children.pop(pid, None)
        if proc is not None:
            proc.wait()
        self._read()
        if self._state.status in ACTIVE:  # no final event: say who ended it, and how
            EventWriter(self.dir.events_file).write("exit", code=None, signal="SIGKILL", by="Run.kill()")
            self._read()
        return True

    def _holder(self) -> dict | None:
        """The lock holder's record, once it has written one (it writes right after locking)."""
        deadline = time.monotonic() + 2
        while True:
            holder = lock.holder(self.dir.lock_file)
            if holder is None or holder.get("pgid") or time.monotonic() > deadline:
                return holder
            time.sleep(0.02)

    def resume(self) -> Run:
        """Start again from the newest complete checkpoint (from the beginning if there is none)."""
        with lock.folder_lock(self.dir.path.parent):
            holder = lock.holder(self.dir.lock_file)
            if holder is not None:
                raise InputError(
                    f"Run {self.name!r} is running (trainer process {holder.get('pid', '?')}), so it cannot be"
                    f" resumed: one run trains in one process at a time. Stop it first (%finetune --stop"
                    f" {self.name}) or watch it (%finetune --attach {self.name})."
                )
            return start(self.dir.spec(), self.dir, resume=True)

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> RunState:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.alive():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Run {self.name!r} still running after {timeout} s.")
            time.sleep(poll)
        return self.poll()

    def command(self) -> str:
        return self.dir.command_file.read_text().strip() if self.dir.command_file.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.dir.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        s = self.poll()
        words = status_words(s.to_dict())
        return f"<Run {self.name!r} {words}, step {s.step}/{s.max_steps or '?'} at {self.dir.path}>"

    def _repr_html_(self) -> str:
        from tokenlens.views.finetune import run_html

        return run_html(self)


#: the trainers this process launched, by PID, until their end is seen
_children: dict[int, subprocess.Popen] = {}


def _note_exit(run: Run) -> bool:
    """Reap the trainer if this process launched it and it has ended; when it ended without a
    final event, record how (exit code or signal) as an ``exit`` event. True when one was written."""
    pid = run.pid()
    proc = _children.get(pid) if pid else None
    if proc is None:
        return False
    code = proc.poll()
    if code is None:
        if lock.holder(run.dir.lock_file) is not None:
            return False
        try:
            code = proc.wait(timeout=2)  # the lock is free: the process is ending, if not gone
        except subprocess.TimeoutExpired:
            return False
    del _children[pid]
    run._read()
    if run._state.status not in ACTIVE:
        return False
    signalled = signal_name(-code) if code < 0 else None
    EventWriter(run.dir.events_file).write("exit", code=None if signalled else code, signal=signalled)
    return True


def start(spec: RunSpec, run: RunDir, resume: bool = False) -> Run:
    """Write the spec and command, launch the trainer in its own process session (so a kernel
    interrupt or restart does not touch it) and return once it holds the run's lock.

    A trainer that ends, or does not take the lock within ``Limits.finetune_start_seconds``,
    is an error that quotes its log; nothing of it is left running.
    """
    run.write_spec(spec)
    cmd = build_command(spec, run, resume)
    run.command_file.write_text(shlex.join(cmd) + "\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    # the trainer imports tokenlens from wherever this process does
    import tokenlens

    pkg_root = str(Path(tokenlens.__file__).resolve().parents[1])
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if spec.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    reported = run.events_file.stat().st_size if run.events_file.exists() else 0
    log = open(run.log_file, "ab")
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            cwd=str(run.path),
        )
    finally:
        log.close()
    _children[proc.pid] = proc
    run.pid_file.write_text(str(proc.pid))
    if spec.machine_rank > 0:
        return Run(run)  # the lock is machine 0's: the trainer of rank 0 takes it
    limit = LIMITS.finetune_start_seconds
    if lock.wait_for_holder(run.lock_file, proc.pid, lambda: proc.poll() is not None, limit):
        return Run(run)
    if proc.poll() is None:  # still not started: undo the launch
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        why = f"did not start within {limit} s (Limits.finetune_start_seconds)"
    elif run.events_file.exists() and run.events_file.stat().st_size > reported:
        return Run(run)  # it started, reported and ended between two looks: its events say how
    else:
        why = f"ended before it started (exit code {proc.returncode})"
    _children.pop(proc.pid, None)
    tail = Run(run).log_tail(12)
    raise InputError(f"The trainer of run {run.path.name!r} {why}." + (f" The end of log.txt:\n{tail}" if tail else ""))
