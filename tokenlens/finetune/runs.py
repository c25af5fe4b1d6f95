"""The folder of runs: the runs in it with their states, a new run put in place, and what a
crash in the middle of that left behind, tidied.

Entries change (a run appears, replaces another, resumes) only under the folder's lock
(``lock.folder_lock``). A new run is prepared in a hidden folder (``.NAME.new-XXXXXXXX``); the run
it replaces is moved aside (``.NAME.old-XXXXXXXX``, swap.py) and removed only once the new
trainer has started. Leftovers are tidied under the same lock, which proves that no change is
under way: an aside copy goes back where nothing took its place, everything else hidden goes.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import uuid
from pathlib import Path

from tokenlens.finetune import lock, swap
from tokenlens.finetune.events import status_words
from tokenlens.finetune.launcher import Run, start
from tokenlens.finetune.spec import _NAME, RunDir, RunSpec, runs_dir

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>old|new)-[0-9a-f]{8}$")


def staging(base: Path, name: str) -> RunDir:
    """A hidden, empty folder beside the run ``name`` in which its next version is prepared."""
    stage = RunDir(base / f".{name}.new-{uuid.uuid4().hex[:8]}")
    stage.path.mkdir(parents=True)
    return stage


def install(stage: RunDir, run: RunDir, spec: RunSpec) -> Run:
    """Put the prepared folder in the run's place and start its trainer. The run it replaces is
    kept aside until then: if the trainer does not start, it goes back. Hold the folder's lock."""
    old = swap.move_aside(run.path)
    try:
        os.rename(stage.path, run.path)
        started = start(spec, run)
    except BaseException:
        swap.put_back(old, run.path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return started


def tidy(base: Path) -> None:
    """Leftovers of a crash mid-change, put back or removed. Hold the folder's lock."""
    for p in list(base.iterdir()):
        m = _LEFTOVER.match(p.name)
        if m is None:
            continue
        if m["kind"] == "new":
            shutil.rmtree(p, ignore_errors=True)  # a run being prepared when its process died
        else:
            swap.recover(base / m["name"])


class RunList(list):
    """The runs of a folder (``Run`` handles), shown as a table of their states."""

    def _rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for run in self:
            state = run.poll().to_dict()
            top = state.get("max_steps")
            rows.append((run.name, status_words(state), f"{state.get('step', 0)}/{top or '?'}"))
        return rows

    def __repr__(self) -> str:
        rows = self._rows()
        if not rows:
            return "No runs yet."
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"{name:<{width}}  step {step:<11} {words}" for name, words, step in rows)

    def _repr_html_(self) -> str:
        e = html.escape
        body = "".join(
            f"<tr><td><code>{e(name)}</code></td><td>{e(step)}</td><td>{e(words)}</td></tr>"
            for name, words, step in self._rows()
        )
        if not body:
            return "<p>No runs yet.</p>"
        return f"<table><tr><th>run</th><th>step</th><th>status</th></tr>{body}</table>"


def list_runs(root: Path | None = None) -> RunList:
    """The runs in ``root`` (default: the runs folder), by name, each with its state."""
    base = root or runs_dir()
    if not base.is_dir():
        return RunList()
    with lock.folder_lock(base, wait=False) as got:
        if got:
            tidy(base)
    runs = RunList(
        Run(RunDir(p)) for p in sorted(base.iterdir()) if _NAME.match(p.name) and (p / "spec.json").is_file()
    )
    for run in runs:
        recover_final(run)
    return runs


def recover_final(run: Run) -> None:
    """A final model the trainer had moved aside when it died, put back (only while no trainer
    holds the run's lock, since only a trainer swaps final/)."""
    if swap.leftovers(run.dir.final) and not run.alive():
        swap.recover(run.dir.final)
