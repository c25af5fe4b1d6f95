"""Fine-tune (or pretrain from scratch) a small causal language model in a process of its own.

``finetune(...)`` writes a run folder and launches the trainer; ``attach(name)`` finds a run
again (after a kernel restart, say); ``dry_run(...)`` says what a run would train on.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError
from tokenlens.finetune import lock
from tokenlens.finetune.data import DryRun, Rows, read_rows, rows_from_object, write_jsonl
from tokenlens.finetune.launcher import Run, build_command
from tokenlens.finetune.runs import RunList, install, list_runs, recover_final, staging, tidy
from tokenlens.finetune.spec import RunDir, RunSpec, runs_dir, spec_options

__all__ = [
    "DryRun",
    "Run",
    "RunList",
    "RunSpec",
    "attach",
    "dry_run",
    "finetune",
    "list_runs",
    "print_command",
    "runs_dir",
]


def _prepare(data: Any, options: dict, stage: RunDir | None = None, run: RunDir | None = None) -> tuple[RunSpec, Rows]:
    """The spec with data as absolute file paths. Python objects become JSONL, written into
    ``stage`` and named as it will be once the stage is in ``run``'s place."""
    text_field = options.get("text_field", "text")
    if isinstance(data, (str, Path)) or (
        isinstance(data, (list, tuple))
        and data
        and all(isinstance(d, (str, Path)) for d in data)
        and _looks_like_paths(data)
    ):
        sources = [str(data)] if isinstance(data, (str, Path)) else [str(d) for d in data]
        rows = read_rows(sources, text_field)
        files = [str(Path(s).expanduser().absolute()) for s in sources]
    else:
        rows = rows_from_object(data, text_field)
        files = []
        if stage is not None and run is not None:
            write_jsonl(rows.rows, stage.data_dir / "train.jsonl")
            files = [str((run.data_dir / "train.jsonl").absolute())]
    spec = RunSpec(data=files or ["<python object>"], **options)
    return spec, rows


def _looks_like_paths(items) -> bool:
    """A list of file names or globs (not a list of training texts)."""

    def one(d) -> bool:
        d = str(d)
        if "\n" in d or len(d) > 1024:
            return False
        if any(c in d for c in "*?[") or d.endswith((".txt", ".jsonl", ".json", ".gz")):
            return True
        try:
            return Path(d).expanduser().exists()
        except OSError:
            return False

    return all(one(d) for d in items)


def dry_run(data: Any, **options: Any) -> DryRun:
    """Token counts, rows truncated at the context length and the steps a run would take."""
    from tokenlens.finetune.data import dry_run as _dry
    from tokenlens.finetune.models import load_tokenizer

    options = spec_options(options)
    spec, rows = _prepare(data, {"name": "dry-run", **options})
    spec.validate()
    rows.check(spec.bad_rows)
    if not spec.from_scratch:
        from tokenlens.finetune.models import check_causal_lm, check_context

        check_context(spec, check_causal_lm(spec.model), given="context" in options)
    return _dry(rows, load_tokenizer(spec), spec)


def finetune(data: Any, name: str, overwrite: bool = False, root: Path | None = None, **options: Any) -> Run:
    """Start a run named ``name`` on ``data`` (files, globs or a Python object); returns its
    :class:`Run`, which displays as the live view.

    ``options`` are the fields of :class:`RunSpec` (``layers=2`` is ``%finetune --layers 2``).
    Everything is checked before anything changes on disk; with ``overwrite``, the run of that
    name is kept until the new one's trainer has started, and put back if it does not start.
    """
    options = spec_options(options)
    run = RunDir.named(name, root)
    base = run.path.parent
    with lock.folder_lock(base):
        tidy(base)
        if run.path.exists():
            if not overwrite:
                raise InputError(
                    f"A run named {name!r} exists ({run.path}). Resume it with %finetune --resume {name},"
                    " watch it with --attach, pick another --name, or pass --overwrite to replace it."
                )
            if Run(run).alive():
                raise InputError(
                    f"Run {name!r} is still running; stop it (%finetune --stop {name}) before replacing it."
                )
        stage = staging(base, name)
        try:
            spec, rows = _prepare(data, {"name": name, **options}, stage, run)
            spec.validate()
            rows.check(spec.bad_rows)
            _check_model_and_tokenizer(spec, context_given="context" in options)
            _check_disk(base, spec)
            return install(stage, run, spec)
        finally:
            shutil.rmtree(stage.path, ignore_errors=True)  # nothing half-made is left behind


def _check_model_and_tokenizer(spec: RunSpec, context_given: bool) -> None:
    """Refuse, before launching, what the trainer would refuse minutes later. A context left
    unset becomes the model's own limit where that is shorter, saved so in the run's spec."""
    from tokenlens.finetune.models import check_causal_lm, check_context, check_qlora, check_vocab, load_tokenizer

    check_qlora(spec)
    tok = load_tokenizer(spec)
    if not spec.from_scratch:
        config = check_causal_lm(spec.model)
        check_context(spec, config, given=context_given)
        check_vocab(spec, tok, config)


def _check_disk(path: Path, spec: RunSpec) -> None:
    free = shutil.disk_usage(path).free
    if free < 200 * 2**20:
        raise InputError(f"Only {free // 2**20} MB free at {path}: checkpoints need room. Free some space first.")


def attach(name: str, root: Path | None = None) -> Run:
    """The run called ``name``, to watch, stop or resume (also after a kernel restart)."""
    run = RunDir.named(name, root)
    known = list_runs(root)  # tidies what a crash left, so a run moved aside is back first
    if not run.exists():
        names = [r.name for r in known]
        raise InputError(f"No run named {name!r} in {run.path.parent}. Runs: {', '.join(names) or 'none yet'}.")
    found = Run(run)
    recover_final(found)
    return found


def print_command(data: Any, name: str, root: Path | None = None, **options: Any) -> str:
    """The launch command a run would use, for a cluster scheduler (nothing is started)."""
    import shlex

    run = RunDir.named(name, root)
    spec, _ = _prepare(data, {"name": name, **spec_options(options)})
    spec.validate()
    return shlex.join(build_command(spec, run))
