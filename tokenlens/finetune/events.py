"""Progress events: the trainer appends JSON lines to events.jsonl; views and monitors read them.

Event kinds (``"event"``): ``start`` (plan, sizes, tokenizer hash, ``speed``: the speed switches
as applied with why any is off, micro_batch, grad_accum), ``log`` (step, epoch, loss, perplexity,
lr, grad_norm, tokens_per_s, mfu: the share of the GPU's bf16 peak, gpu_mem_gb: peak allocated), ``eval`` (eval_loss, perplexity),
``sample`` (prompt, text), ``checkpoint`` (step, path, reason), ``status`` (running, stopping),
``error`` (message), ``export`` (GGUF path, Modelfile, dtype, size, or error) and ``end`` (status,
step, final path, tokenizer hash after; with ``killed``, the signal and a message). One event is
not the trainer's: ``exit`` (code, signal), written by the kernel that launched the trainer when
it saw the process end without an ``end`` event. Every event has ``time`` (seconds since the epoch).

A run ends ``completed``; ``stopped`` (on request, after saving a checkpoint); ``failed`` (an
error, with its message); or ``killed`` (ended by a signal, or without a final event at all).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenlens.finetune.speed import describe


class EventWriter:
    """Appends events; each line is flushed so a reader never sees half a line for long."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields: Any) -> dict:
        record = {"event": event, "time": time.time(), **fields}
        line = json.dumps(record, ensure_ascii=False, allow_nan=False, default=_plain)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
        return record


def _plain(value: Any):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def read_events(path: Path | str, offset: int = 0) -> tuple[list[dict], int]:
    """Events appended after byte ``offset``, and the offset to continue from.

    A last line without its newline yet is left for the next read.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = []
    for line in data[:end].splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a torn line from a killed writer: skip it, keep the rest
    return events, offset + end


def perplexity(loss: float | None) -> float | None:
    if loss is None or not math.isfinite(loss):
        return None
    return math.exp(min(loss, 50.0))


#: statuses after which the trainer writes nothing more
ENDED = frozenset({"completed", "stopped", "failed", "killed"})
#: statuses of a run whose trainer should be alive
ACTIVE = frozenset({"pending", "running", "stopping"})


def signal_name(number: int | None) -> str | None:
    import signal

    try:
        return signal.Signals(number).name if number else None
    except ValueError:
        return f"signal {number}"


def killed_message(signal: str | None = None, code: int | None = None, step: int | None = None) -> str:
    """Why a run ended without finishing, in a sentence."""
    at = f" at step {step}" if step else ""
    if signal:
        return f"The trainer was ended by {signal}{at}, before it could save."
    if code is not None:
        return f"The trainer process exited with code {code}{at} without a final event; see log.txt."
    return f"The trainer process ended{at} without a final event (a signal, or a crash that left nothing); see log.txt."


@dataclass
class RunState:
    """What a view shows, folded from the events so far."""

    status: str = "pending"
    step: int = 0
    max_steps: int = 0
    epoch: float = 0.0
    started: float | None = None
    updated: float | None = None
    loss: list[tuple[int, float]] = field(default_factory=list)
    eval_loss: list[tuple[int, float]] = field(default_factory=list)
    lr: float | None = None
    grad_norm: float | None = None
    tokens_per_s: float | None = None
    mfu: float | None = None
    gpu_mem_gb: float | None = None
    last_checkpoint: dict | None = None
    samples: list[dict] = field(default_factory=list)
    tokenizer_hash: str | None = None
    tokenizer_hash_after: str | None = None
    error: str | None = None
    final: str | None = None
    #: the GGUF file written at the end (``--export gguf``), or why it was not
    gguf: str | None = None
    export_error: str | None = None
    #: time and step of the latest start (a resume starts the pace afresh)
    pace_from: tuple[float, int] | None = None
    plan: dict = field(default_factory=dict)
    #: with ``killed``: the signal's name (``SIGTERM``) or the exit code, where known
    signal: str | None = None
    exit_code: int | None = None
    #: with stopped, killed or failed: the checkpoint Resume continues from (set by ``Run.poll``)
    resume_from: str | None = None

    def apply(self, ev: dict) -> None:
        kind = ev.get("event")
        self.updated = ev.get("time", self.updated)
        if kind == "start":
            self.status = "running"
            self.started = self.started or ev.get("time")
            self.pace_from = (ev.get("time"), self.step)
            self.error = self.signal = self.exit_code = self.resume_from = None
            self.max_steps = int(ev.get("max_steps") or 0)
            self.tokenizer_hash = ev.get("tokenizer_hash")
            self.plan = {k: v for k, v in ev.items() if k not in {"event", "time"}}
        elif kind == "log":
            self.step = int(ev.get("step", self.step))
            self.epoch = float(ev.get("epoch", self.epoch) or 0)
            if ev.get("loss") is not None:
                self.loss.append((self.step, float(ev["loss"])))
            for key in ("lr", "grad_norm", "tokens_per_s", "mfu", "gpu_mem_gb"):
                if ev.get(key) is not None:
                    setattr(self, key, float(ev[key]))
        elif kind == "eval":
            if ev.get("eval_loss") is not None:
                self.eval_loss.append((int(ev.get("step", self.step)), float(ev["eval_loss"])))
        elif kind == "sample":
            self.samples.append({"step": ev.get("step"), "prompt": ev.get("prompt"), "text": ev.get("text")})
        elif kind == "checkpoint":
            self.last_checkpoint = {
                "step": ev.get("step"),
                "path": ev.get("path"),
                "time": ev.get("time"),
                "reason": ev.get("reason"),
            }
        elif kind == "status":
            self.status = ev.get("status", self.status)
        elif kind == "error":
            self.error = ev.get("message")
            self.status = "failed"
        elif kind == "export":
            self.gguf = ev.get("path")
            self.export_error = ev.get("error")
        elif kind == "end":
            self.status = ev.get("status", "completed")
            self.step = int(ev.get("step", self.step))
            if self.status == "killed":
                self.signal = ev.get("signal")
                self.error = ev.get("message") or killed_message(self.signal, step=self.step)
            self.tokenizer_hash_after = ev.get("tokenizer_hash_after")
            self.final = ev.get("final") or self.final
        elif kind == "exit" and self.status not in ENDED:
            self.status = "killed"
            self.signal, self.exit_code = ev.get("signal"), ev.get("code")
            self.error = killed_message(self.signal, self.exit_code, self.step)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far."""
        if not (self.pace_from and self.updated and self.max_steps) or self.status != "running":
            return None
        t0, s0 = self.pace_from
        if self.step <= s0:
            return None
        rate = (self.updated - t0) / (self.step - s0)
        return max(self.max_steps - self.step, 0) * rate

    def to_dict(self) -> dict:
        last_loss = self.loss[-1][1] if self.loss else None
        last_eval = self.eval_loss[-1][1] if self.eval_loss else None
        return {
            "status": self.status,
            "step": self.step,
            "max_steps": self.max_steps,
            "epoch": self.epoch,
            "eta_s": self.eta_s,
            "loss": last_loss,
            "perplexity": perplexity(last_loss),
            "eval_loss": last_eval,
            "eval_perplexity": perplexity(last_eval),
            "lr": self.lr,
            "grad_norm": self.grad_norm,
            "tokens_per_s": self.tokens_per_s,
            "mfu": self.mfu,
            "switches": describe(self.plan.get("speed")),
            "gpu_mem_gb": self.gpu_mem_gb,
            "last_checkpoint": self.last_checkpoint,
            "samples": self.samples[-5:],
            "tokenizer_hash": self.tokenizer_hash,
            "tokenizer_hash_after": self.tokenizer_hash_after,
            "error": self.error,
            "signal": self.signal,
            "exit_code": self.exit_code,
            "resume_from": self.resume_from,
            "final": self.final,
            "gguf": self.gguf,
            "export_error": self.export_error,
            "loss_history": [[s, v] for s, v in self.loss],
            "eval_history": [[s, v] for s, v in self.eval_loss],
            "plan": self.plan,
        }


def status_words(state: dict) -> str:
    """The status with what a person needs next: ``killed by SIGKILL at step 12; resumable from
    checkpoint-10``. Takes ``RunState.to_dict()``."""
    status = str(state.get("status") or "pending")
    words = status
    if status == "killed":
        how = state.get("signal") or (
            f"exit code {state['exit_code']}" if state.get("exit_code") is not None else "no final event"
        )
        words += f" ({how})"
    if status in {"stopped", "killed", "failed"}:
        ckpt = state.get("resume_from")
        words += f"; resumable from {Path(ckpt).name}" if ckpt else "; no complete checkpoint (Resume starts over)"
    return words


def fold(events: Iterator[dict] | list[dict], state: RunState | None = None) -> RunState:
    state = state or RunState()
    for ev in events:
        state.apply(ev)
    return state


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
