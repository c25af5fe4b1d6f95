"""The live view of a ``%finetune`` run: a dashboard fed from the run's events.jsonl.

The kernel side polls the run folder in a daemon thread (about once a second) and syncs the
folded state (``RunState.to_dict()``) to the front end; the front end asks for Stop and Resume
with custom messages. A static HTML summary (no scripts, no network) stays in the saved notebook.
"""

from __future__ import annotations

import html
import math
import threading
import time
from typing import Any

import traitlets

from tokenlens.errors import TokenlensError
from tokenlens.finetune.events import ENDED, status_words
from tokenlens.views.base import BundledWidget

#: statuses after which the trainer writes nothing more
FINISHED = ENDED
#: loss points kept in the synced state: the whole history of a long run would be resent every second
MAX_HISTORY = 800


class FinetuneWidget(BundledWidget, bundle="finetune"):
    """Status, losses, samples and Stop/Resume of one fine-tuning run."""

    name = traitlets.Unicode("").tag(sync=True)
    run_dir = traitlets.Unicode("").tag(sync=True)
    #: the exact launch command (command.txt), for a cluster scheduler or a terminal
    command = traitlets.Unicode("").tag(sync=True)
    #: ``RunState.to_dict()``
    state = traitlets.Dict().tag(sync=True)
    #: a problem of the view itself (progress unreadable, Resume refused), not of the run
    error = traitlets.Unicode("").tag(sync=True)

    #: seconds between polls of the run folder
    poll_interval = 1.0

    def __init__(self, *args, run: Any = None, **kwargs):
        # before the widget is made: ipywidgets calls close() even on one whose making failed
        self._closed = threading.Event()
        super().__init__(*args, **kwargs)
        self._run = run
        self._lock = threading.Lock()  # run.poll() keeps a file offset: one reader at a time
        self._thread: threading.Thread | None = None
        self.on_msg(self._on_custom_msg)

    @classmethod
    def for_run(cls, run: Any) -> FinetuneWidget:
        """A view of ``run`` (a ``tokenlens.finetune.launcher.Run``) that follows it live.

        The view reads the folder through its own handle: ``Run.poll`` keeps a file offset, and
        the poller thread and a cell calling ``run.state`` must not share one.
        """
        own = type(run)(run.dir)
        widget = cls(name=run.name, run_dir=str(run.dir.path), command=run.command(), run=own)
        widget.refresh()
        widget._ensure_polling()
        return widget

    of = for_run

    @property
    def run(self) -> Any:
        """The run shown now (a new one after Resume)."""
        return self._run

    # -- polling ---------------------------------------------------------------------------

    def refresh(self) -> dict:
        """Read new events now and update ``state`` when it changed; returns the state."""
        if self._run is None:
            return dict(self.state)
        with self._lock:
            run = self._run
            # a trainer gone without a final event reads "killed", with the end of its log
            snap = _snapshot(run, run.poll())
        if snap != self.state:
            self.state = snap
        return snap

    def _following(self) -> bool:
        """Whether more events may still come."""
        run = self._run
        if run is None or self._closed.is_set():
            return False
        if self.state.get("status") not in FINISHED:
            return True
        return run.alive()  # a resumed run still reads the old "end" until its new "start"

    def _ensure_polling(self) -> None:
        if not self._following() or (self._thread is not None and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._poll_loop, name=f"tokenlens-finetune-{self.name}", daemon=True)
        self._thread.start()

    def _poll_loop(self) -> None:
        failing = False
        while not self._closed.wait(self.poll_interval):
            try:
                self.refresh()
                if failing:
                    self.error, failing = "", False
            except Exception as exc:
                if not failing:
                    self.error = f"Could not read the run's progress ({type(exc).__name__}: {exc}); still trying."
                    failing = True
                continue
            if not self._following():
                return

    def close(self) -> None:
        self._closed.set()
        super().close()

    # -- Stop and Resume -------------------------------------------------------------------

    def _on_custom_msg(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict) or content.get("type") not in {"stop", "resume"}:
            return
        action = content["type"]
        error = None
        try:
            if action == "stop":
                self.stop()
            else:
                self.resume()
        except Exception as exc:
            error = str(exc) or type(exc).__name__
        self.send({"type": "ack", "action": action, "error": error})

    def stop(self) -> None:
        """Ask the trainer to save a checkpoint, then stop."""
        run = self._require_run()
        if not run.alive():
            status = self.refresh().get("status", "unknown")
            raise TokenlensError(f"Run {run.name!r} is not running (it is {status}); there is nothing to stop.")
        run.stop()

    def resume(self) -> Any:
        """Start the run again from its newest complete checkpoint and follow the new process."""
        run = self._require_run()
        with self._lock:
            new = run.resume()
            self._run = new
        self.command = new.command()
        self.error = ""
        self.refresh()
        self._ensure_polling()
        return new

    def _require_run(self) -> Any:
        if self._run is None:
            raise TokenlensError("This view has no run attached; open it with FinetuneWidget.for_run(run).")
        return self._run

    # -- saved-notebook copy ---------------------------------------------------------------

    def static_copy(self) -> dict[str, str]:
        state = self.refresh() if self._run is not None else dict(self.state)
        return {
            "text/plain": summary_text(self.name, state),
            "text/html": summary_html(self.name, state, command=self.command, error=self.error),
        }


def run_html(run: Any) -> str:
    """The static summary of ``run`` (a ``Run``), shown where its widget cannot be made."""
    return summary_html(run.name, _snapshot(run, run.poll()), command=run.command())


def _snapshot(run: Any, state: Any) -> dict:
    """What the view shows: the folded state with thinned histories."""
    snap = state.to_dict()
    for key in ("loss_history", "eval_history"):
        snap[key] = thin(snap.get(key) or [], MAX_HISTORY)
    return snap


def thin(points: list, limit: int) -> list:
    """At most ``limit`` points by even strides, always keeping the first and the last."""
    n = len(points)
    if n <= limit or limit < 2:
        return list(points)
    idx = {round(i * (n - 1) / (limit - 1)) for i in range(limit)}
    return [points[i] for i in sorted(idx)]


# -- static summary -----------------------------------------------------------------------


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if not math.isfinite(v):
        return str(v)
    if v != 0 and abs(v) < 1e-3:
        return f"{v:.2e}"
    if abs(v) >= 1e5:
        return f"{v:,.0f}"
    text = f"{v:.{digits}f}"
    return text.rstrip("0").rstrip(".") if digits else text


def _loss(loss: Any, ppl: Any) -> str:
    if loss is None:
        return "—"
    return f"{_num(loss, 4)} (perplexity {_num(ppl, 2)})"


def _step(state: dict) -> str:
    step, top = state.get("step") or 0, state.get("max_steps") or 0
    if top:
        return f"{step} / {top} ({100 * min(step / top, 1):.0f}%)"
    return str(step)


def hash_comparison(before: str | None, after: str | None, finished: bool = False) -> tuple[str, str]:
    """(words, kind) for the tokenizer hash before and after training: the ids do not change."""
    if not before:
        return "not recorded yet", "none"
    if not after:
        when = "not checked again: the run did not finish" if finished else "checked again when the run ends"
        return f"{before[:12]} ({when})", "pending"
    if before == after:
        return f"{before[:12]} → {after[:12]}: unchanged (the token ids mean what they meant)", "same"
    return f"{before[:12]} → {after[:12]}: CHANGED", "changed"


def summary_text(name: str, state: dict) -> str:
    parts = [status_words(state), f"step {_step(state)}"]
    if state.get("loss") is not None:
        parts.append(f"loss {_num(state['loss'], 4)} (ppl {_num(state.get('perplexity'), 2)})")
    if state.get("eval_loss") is not None:
        parts.append(f"eval {_num(state['eval_loss'], 4)} (ppl {_num(state.get('eval_perplexity'), 2)})")
    return f"<Finetune {name!r}: " + ", ".join(parts) + ">"


_STATUS_COLOURS = {
    "running": "#1976d2",
    "stopping": "#f57c00",
    "stopped": "#757575",
    "completed": "#2e7d32",
    "failed": "#d32f2f",
    "killed": "#e65100",
    "pending": "#757575",
}


def summary_html(name: str, state: dict, command: str = "", error: str = "") -> str:
    """A self-contained summary: inline styles, inline SVG, no scripts, no network."""
    e = html.escape
    status = str(state.get("status") or "pending")
    colour = _STATUS_COLOURS.get(status, "#757575")
    rows: list[tuple[str, str]] = [("Step", e(_step(state))), ("Epoch", _num(state.get("epoch"), 2))]
    history = state.get("loss_history") or []
    train = _loss(state.get("loss"), state.get("perplexity"))
    if history and state.get("loss") is not None:
        first_step, first = history[0]
        train += f", from {_num(first, 4)} at step {e(str(first_step))}"
    rows.append(("Train loss", train))
    rows.append(("Eval loss", _loss(state.get("eval_loss"), state.get("eval_perplexity"))))
    for label, key, digits, unit in (
        ("Learning rate", "lr", 3, ""),
        ("Gradient norm", "grad_norm", 3, ""),
        ("Tokens/s", "tokens_per_s", 0, ""),
        ("GPU memory", "gpu_mem_gb", 2, " GiB"),
    ):
        if state.get(key) is not None:
            rows.append((label, _num(state[key], digits) + unit))
    if state.get("mfu") is not None:
        rows.append(("MFU", f"{100 * state['mfu']:.1f}% of the GPU's bf16 peak"))
    if state.get("switches"):
        rows.append(("Speed switches", e(state["switches"])))
    ckpt = state.get("last_checkpoint")
    if ckpt:
        when = ""
        if ckpt.get("time"):
            when = time.strftime(" at %Y-%m-%d %H:%M:%S", time.localtime(float(ckpt["time"])))
        reason = f", {ckpt['reason']}" if ckpt.get("reason") else ""
        rows.append(
            (
                "Last checkpoint",
                f"step {e(str(ckpt.get('step')))}{e(when)}{e(reason)}<br><code>{e(str(ckpt.get('path') or ''))}</code>",
            )
        )
    words, kind = hash_comparison(state.get("tokenizer_hash"), state.get("tokenizer_hash_after"), status in FINISHED)
    hash_colour = {"same": "#2e7d32", "changed": "#d32f2f"}.get(kind)
    rows.append(("Tokenizer hash", f'<span style="color:{hash_colour}">{e(words)}</span>' if hash_colour else e(words)))
    if status in {"stopped", "killed", "failed"}:
        rows.append(("Ended", e(status_words(state))))
    if state.get("final"):
        rows.append(("Final model", f"<code>{e(str(state['final']))}</code>"))
    samples = state.get("samples") or []
    if samples:
        s = samples[-1]
        rows.append(
            (
                f"Sample (step {e(str(s.get('step')))})",
                f"<code>{e(str(s.get('prompt') or ''))}</code> → {e(str(s.get('text') or ''))}",
            )
        )

    cell = "padding:2px 10px 2px 0;vertical-align:top;text-align:left"
    table = "".join(
        f'<tr><th style="{cell};font-weight:600;white-space:nowrap">{k}</th><td style="{cell}">{v}</td></tr>'
        for k, v in rows
    )
    problems = "".join(
        f'<div style="margin:6px 0;padding:4px 8px;border-left:3px solid #d32f2f;white-space:pre-wrap">{e(msg)}</div>'
        for msg in (state.get("error"), error)
        if msg
    )
    cmd = (
        (f'<div style="margin-top:6px">Launch command: <code style="word-break:break-all">{e(command)}</code></div>')
        if command
        else ""
    )
    return (
        '<div class="tokenlens-finetune-summary" style="font-family:sans-serif;font-size:13px;line-height:1.4">'
        f'<div style="margin-bottom:4px"><strong>Fine-tune run {e(name)}</strong> '
        f'<span style="display:inline-block;padding:0 6px;border-radius:8px;color:#fff;background:{colour}">'
        f"{e(status)}</span></div>{problems}"
        f'<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">'
        f'<table style="border-collapse:collapse">{table}</table>'
        f"{loss_svg(history, state.get('eval_history') or [])}</div>{cmd}</div>"
    )


def loss_svg(train: list, evals: list, width: int = 360, height: int = 180) -> str:
    """Train (line) and eval (dashed line with dots) loss against step, as inline SVG."""
    points = [(float(s), float(v)) for s, v in list(train) + list(evals) if v is not None and math.isfinite(float(v))]
    if not points:
        return ""
    left, right, top, bottom = 44, 10, 10, 24
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad

    def fx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def fy(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    def path(series: list) -> str:
        return " ".join(
            f"{fx(float(s)):.1f},{fy(float(v)):.1f}" for s, v in series if v is not None and math.isfinite(float(v))
        )

    axis = 'stroke="currentColor" stroke-opacity="0.35"'
    label = 'fill="currentColor" font-size="10" font-family="sans-serif"'
    parts = [
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" {axis}/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" {axis}/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" {label}>{_num(y1, 2)}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" {label}>{_num(y0, 2)}</text>',
        f'<text x="{left}" y="{height - 8}" {label}>step {x0:.0f}</text>',
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end" {label}>{x1:.0f}</text>',
    ]
    if train:
        parts.append(f'<polyline points="{path(train)}" fill="none" stroke="#1976d2" stroke-width="1.5"/>')
    if evals:
        parts.append(
            f'<polyline points="{path(evals)}" fill="none" stroke="#e65100" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts += [
            f'<circle cx="{fx(float(s)):.1f}" cy="{fy(float(v)):.1f}" r="2.5" fill="#e65100"/>'
            for s, v in evals
            if v is not None and math.isfinite(float(v))
        ]
    legend = (
        f'<text x="{width - right}" y="{top + 8}" text-anchor="end" {label}>'
        '<tspan fill="#1976d2">— train</tspan>'
        + ('  <tspan fill="#e65100">- - eval</tspan>' if evals else "")
        + "</text>"
    )
    return (
        f'<svg width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="Loss by step: train'
        f'{" and eval" if evals else ""}">' + "".join(parts) + legend + "</svg>"
    )
