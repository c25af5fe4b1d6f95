"""Executed copies of the example notebooks, made once and shared by the tests and the docs build.

tests/test_examples.py always executes the notebooks and saves what it ran here; ``make docs``
reuses a saved copy when it was run from the same notebook text after the library last changed,
and otherwise executes the notebook itself. Copies live in build/notebooks (gitignored), so
outputs stay out of git.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CACHE = ROOT / "build" / "notebooks"


def cache_path(notebook: Path) -> Path:
    """Where the executed copy of ``notebook`` (as it reads now) is saved."""
    digest = hashlib.sha256(notebook.read_bytes()).hexdigest()[:16]
    return CACHE / f"{notebook.stem}-{digest}.ipynb"


def execute(notebook: Path):
    """Run ``notebook`` top to bottom in a fresh kernel, in examples/ (the cwd its paths assume)."""
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    resources = {"metadata": {"path": str(EXAMPLES)}}
    NotebookClient(nb, timeout=300, kernel_name="python3", resources=resources).execute()
    return nb


def save(notebook: Path, nb) -> Path:
    """Keep an executed copy; older copies of the same notebook are removed."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = cache_path(notebook)
    for old in CACHE.glob(f"{notebook.stem}-*.ipynb"):
        old.unlink(missing_ok=True)
    tmp = out.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)  # a reader never sees a half-written copy
    return out


def library_mtime() -> float:
    """When the library last changed: a copy older than this may show stale outputs."""
    return max(p.stat().st_mtime for p in (ROOT / "tokenlens").rglob("*.py"))


def executed(notebook: Path) -> Path:
    """An executed copy of ``notebook``: the saved one where still current, else a fresh run."""
    out = cache_path(notebook)
    if out.exists() and out.stat().st_mtime >= library_mtime():
        return out
    return save(notebook, execute(notebook))
