"""Replacing a folder (a run, a run's final model) without a moment in which the old one is gone
and the new one not yet in place: the old is renamed aside to a hidden sibling
(``.NAME.old-XXXXXXXX``), the new renamed in, and only then is the old removed.

A crash between the steps leaves the aside copy; :func:`recover` puts it back when nothing took
its place, or removes it when something did. Only call it where no swap of that folder can be
under way (the caller holds the lock that guards the folder).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def _aside_prefix(target: Path) -> str:
    return f".{target.name}.old-"


def move_aside(target: Path) -> Path | None:
    """Rename ``target`` to a hidden sibling; the sibling's path, or None when there was nothing."""
    if not target.exists():
        return None
    aside = target.with_name(_aside_prefix(target) + uuid.uuid4().hex[:8])
    os.rename(target, aside)
    return aside


def put_back(aside: Path | None, target: Path) -> None:
    """Undo :func:`move_aside`; what took ``target``'s place meanwhile is removed."""
    if target.exists():
        shutil.rmtree(target)
    if aside is not None:
        os.rename(aside, target)


def replace_dir(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``, replacing what is there."""
    old = move_aside(target)
    try:
        os.rename(new, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def leftovers(target: Path) -> list[Path]:
    """Aside copies of ``target`` a crash left behind, oldest first."""
    prefix = _aside_prefix(target)
    try:
        found = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except FileNotFoundError:
        return []
    return sorted(found, key=lambda p: p.stat().st_ctime)


def recover(target: Path) -> None:
    """Put the newest aside copy back where nothing took its place; remove the rest."""
    found = leftovers(target)
    if found and not target.exists():
        os.rename(found.pop(), target)
    for p in found:
        shutil.rmtree(p, ignore_errors=True)
