"""Where the example notebooks find their data, so that every notebook looks in the same places.

``data("flores200/ory_Orya.dev")`` looks in ``examples/data`` (our own small samples), then in the
shared data folder: ``TOKENLENS_SHARED_DATA``, the folder above each ``TOKENLENS_PATH`` entry
(``…/data/tokenizers`` sits beside ``…/data/flores200``), and ``../shared/data`` beside the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def roots() -> list[Path]:
    """The folders searched, in order."""
    found = [HERE / "data"]
    if shared := os.environ.get("TOKENLENS_SHARED_DATA"):
        found.append(Path(shared))
    found += [Path(p).parent for p in os.environ.get("TOKENLENS_PATH", "").split(os.pathsep) if p]
    found.append(HERE.parents[1] / "shared" / "data")
    return list(dict.fromkeys(p.resolve() for p in found))


def data(name: str) -> Path:
    """The file or folder ``name`` in the first root that has it; a clear error where none has."""
    for root in roots():
        if (root / name).exists():
            return root / name
    searched = "\n  ".join(str(r) for r in roots())
    raise FileNotFoundError(
        f"{name} is not in any of the example data folders:\n  {searched}\n"
        "Set TOKENLENS_SHARED_DATA to the folder that holds it (FLORES-200 is flores200/ in the"
        " project's shared data), then rerun this cell."
    )
