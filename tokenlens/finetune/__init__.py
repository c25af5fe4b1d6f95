"""Fine-tune (or pretrain from scratch) a small causal language model in a process of its own.

``finetune(...)`` writes a run folder and launches the trainer; ``attach(name)`` finds a run
again (after a kernel restart, say); ``dry_run(...)`` says what a run would train on.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError
from tokenlens.finetune.data import DryRun, Rows, read_rows, rows_from_object, write_jsonl
from tokenlens.finetune.launcher import Run, build_command, start
from tokenlens.finetune.spec import RunDir, RunSpec, runs_dir

__all__ = ["DryRun", "Run", "RunSpec", "attach", "dry_run", "finetune", "list_runs", "runs_dir"]


def _prepare(data: Any, spec_kwargs: dict, run: RunDir | None) -> tuple[RunSpec, Rows]:
    """The spec with data as absolute file paths; Python objects become JSONL in the run."""
    text_field = spec_kwargs.get("text_field", "text")
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
        if run is not None:
            files = [str(write_jsonl(rows.rows, run.data_dir / "train.jsonl"))]
    spec = RunSpec(data=files or ["<python object>"], **spec_kwargs)
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


def dry_run(data: Any, **spec_kwargs: Any) -> DryRun:
    """Token counts, rows truncated at the context length and the steps a run would take."""
    from tokenlens.finetune.data import dry_run as _dry
    from tokenlens.finetune.models import load_tokenizer

    spec_kwargs.setdefault("name", "dry-run")
    spec, rows = _prepare(data, spec_kwargs, None)
    spec.data = spec.data or ["<python object>"]
    spec.validate()
    rows.check(spec.bad_rows)
    return _dry(rows, load_tokenizer(spec), spec)


def finetune(data: Any, name: str, overwrite: bool = False, root: Path | None = None, **spec_kwargs: Any) -> Run:
    """Start a run named ``name`` on ``data`` (files, globs or a Python object); returns its
    :class:`Run`, which displays as the live view."""
    run = RunDir.named(name, root)
    if run.path.exists():
        if not overwrite:
            raise InputError(
                f"A run named {name!r} exists ({run.path}). Resume it with %finetune --resume {name},"
                " watch it with --attach, pick another --name, or pass --overwrite to replace it."
            )
        if Run(run).alive():
            raise InputError(f"Run {name!r} is still running; stop it before replacing it.")
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True)
    try:
        spec, rows = _prepare(data, {"name": name, **spec_kwargs}, run)
        spec.validate()
        rows.check(spec.bad_rows)
        _check_model_and_tokenizer(spec)
        _check_disk(run.path, spec)
    except BaseException:
        shutil.rmtree(run.path, ignore_errors=True)  # nothing half-made is left behind
        raise
    return start(spec, run)


def _check_model_and_tokenizer(spec: RunSpec) -> None:
    """Refuse, before launching, what the trainer would refuse minutes later."""
    from tokenlens.finetune.models import check_causal_lm, check_qlora, check_vocab, load_tokenizer

    check_qlora(spec)
    tok = load_tokenizer(spec)
    if not spec.from_scratch:
        check_vocab(spec, tok, check_causal_lm(spec.model))


def _check_disk(path: Path, spec: RunSpec) -> None:
    free = shutil.disk_usage(path).free
    if free < 200 * 2**20:
        raise InputError(f"Only {free // 2**20} MB free at {path}: checkpoints need room. Free some space first.")


def attach(name: str, root: Path | None = None) -> Run:
    """The run called ``name``, to watch, stop or resume (also after a kernel restart)."""
    run = RunDir.named(name, root)
    if not run.exists():
        known = [r.path.name for r in list_runs(root)]
        raise InputError(f"No run named {name!r} in {run.path.parent}. Runs: {', '.join(known) or 'none yet'}.")
    return Run(run)


def list_runs(root: Path | None = None) -> list[RunDir]:
    base = root or runs_dir()
    if not base.is_dir():
        return []
    return sorted((RunDir(p) for p in base.iterdir() if (p / "spec.json").is_file()), key=lambda r: r.path.name)


def print_command(data: Any, name: str, **spec_kwargs: Any) -> str:
    """The launch command a run would use, for a cluster scheduler (nothing is started)."""
    import shlex

    run = RunDir.named(name, spec_kwargs.pop("root", None))
    spec, _ = _prepare(data, {"name": name, **spec_kwargs}, None)
    spec.validate()
    return shlex.join(build_command(spec, run))
