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

from tokenlens.errors import InputError
from tokenlens.finetune.events import RunState, fold, process_alive, read_events
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
    """A handle on a run folder: its state, and Stop / Resume / wait."""

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
        events, self._offset = read_events(self.dir.events_file, self._offset)
        fold(events, self._state)
        gone = self._state.status in {"running", "stopping", "pending"} and not self.alive() and self._offset
        # the process is gone without saying so (killed): say it
        if gone and (self._state.status != "pending" or self.dir.pid_file.exists()):
            self._state.status = "stopped" if self.dir.latest_checkpoint() else "failed"
            self._state.error = self._state.error or "The trainer process ended without a final event; see log.txt."
        return self._state

    @property
    def state(self) -> RunState:
        return self.poll()

    def pid(self) -> int | None:
        try:
            return int(self.dir.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        if _reap(pid):
            return False
        return process_alive(pid)

    def stop(self) -> None:
        """Ask the trainer to save a checkpoint and stop (it checks after every step)."""
        if self.alive():
            self.dir.stop_file.write_text(str(time.time()))

    def kill(self) -> None:
        """End the trainer at once (no save); the last complete checkpoint stays."""
        pid = self.pid()
        if pid and self.alive():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _reap(pid, wait=True)

    def resume(self) -> Run:
        """Start again from the newest complete checkpoint."""
        if self.alive():
            raise InputError(f"Run {self.name!r} is still running; stop it first.")
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
        return f"<Run {self.name!r} {s.status} step {s.step}/{s.max_steps or '?'} at {self.dir.path}>"

    def _repr_html_(self) -> str:
        from tokenlens.views.finetune import run_html

        return run_html(self)


_children: dict[int, subprocess.Popen] = {}


def _reap(pid: int, wait: bool = False) -> bool:
    """True when ``pid`` is our child and has ended (reaped, so no zombie lingers)."""
    proc = _children.get(pid)
    if proc is None:
        return False
    if wait:
        proc.wait()
    return proc.poll() is not None


def start(spec: RunSpec, run: RunDir, resume: bool = False) -> Run:
    """Write the spec and command, then launch the trainer in its own process session, so a
    kernel interrupt or restart does not touch it."""
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
    return Run(run)
