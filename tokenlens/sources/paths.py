"""Which files a person means: paths, globs and folders, expanded by one rule.

- A file is itself; ``~`` is the home folder.
- A glob (``*``, ``?``, ``[…]``, ``**`` for any depth) is what it matches, in sorted order.
- A folder, named or matched, is the text files inside it, at any depth, in sorted order. Names
  starting with ``.`` (hidden files, ``.git``, ``.ipynb_checkpoints``) are left out, and so are
  binary files (a NUL byte in the first 8 KB); both are counted, so the caller can say so.
- A file named twice (by a glob and by its path, say) is read once.

Nothing is dropped in silence: a path that does not exist, a pattern that matches nothing and a
folder with no text file are errors that name them.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tokenlens.errors import SourceError
from tokenlens.sources.files import looks_binary

Spec = str | os.PathLike


@dataclass
class Found:
    """The files named, and what the folders among them held that is not text."""

    files: list[Path] = field(default_factory=list)
    #: entries of the folders whose names start with "." (a hidden folder counts once)
    hidden: int = 0
    #: binary files of the folders, left out
    binary: list[Path] = field(default_factory=list)

    def note(self) -> str:
        """What the folders held that was left out, in words ("" when nothing was)."""
        parts = []
        if self.binary:
            parts.append(f"{len(self.binary)} binary file(s)")
        if self.hidden:
            parts.append(f"{self.hidden} hidden entr{'y' if self.hidden == 1 else 'ies'} (names starting with '.')")
        return f"left out of the folders: {' and '.join(parts)}" if parts else ""


def expand(specs: Spec | Iterable[Spec]) -> Found:
    """The files that ``specs`` (paths, folders, globs, or a list of them) name, by the rule above."""
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    found = Found()
    seen: set[Path] = set()
    named = 0
    for spec in specs:
        named += 1
        for path in _one(spec, found):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.files.append(path)
    if not named:
        raise SourceError("No files were named; give at least one path, folder or glob.")
    return found


def _one(spec: Spec, found: Found) -> list[Path]:
    text = os.path.expanduser(os.fspath(spec))
    if glob.has_magic(text):
        hits = [Path(h) for h in sorted(glob.glob(text, recursive=True))]
        out = []
        for hit in hits:
            out.extend(_folder(hit, found, named=False) if hit.is_dir() else [hit] if hit.is_file() else [])
        if not out:
            raise SourceError(
                f"No file matches {os.fspath(spec)!r} (looked in {Path.cwd()})."
                " Check the folder and the file ending, e.g. 'corpus/*.txt' or 'data/**/*.jsonl'."
            )
        return out
    path = Path(text)
    if path.is_dir():
        return _folder(path, found, named=True)
    if path.is_file():
        return [path]
    raise SourceError(f"No such file or folder: {os.fspath(spec)!r}.{_nearby(path)}")


def _folder(folder: Path, found: Found, named: bool) -> list[Path]:
    files = []
    hidden = binary = 0
    for root, dirs, names in os.walk(folder):
        hidden += sum(1 for d in dirs if d.startswith(".")) + sum(1 for n in names if n.startswith("."))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root, name)
            if name.startswith(".") or not path.is_file():
                continue
            if looks_binary(path):
                found.binary.append(path)
                binary += 1
            else:
                files.append(path)
    found.hidden += hidden
    if named and not files:
        left = f" ({binary} binary and {hidden} hidden left out)" if binary or hidden else ""
        raise SourceError(f"The folder {folder} holds no text files{left}. Name a folder or files that hold text.")
    return sorted(files)


def _nearby(path: Path) -> str:
    """What the folder the path points into holds, to show a misspelling."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return ""
    try:
        near = sorted(p.name for p in parent.iterdir() if not p.name.startswith("."))[:8]
    except OSError:
        return ""
    shown = Path.cwd() if str(parent) == "." else parent  # say which folder "." is
    return f" {shown} holds: {', '.join(near) or 'nothing'}."


__all__ = ["Found", "expand"]
