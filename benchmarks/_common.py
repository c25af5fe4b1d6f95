"""Set-up shared by the browser benchmarks (bench_panel.py, bench_render.py): where the repo and
the shared data are, the environment tokenlens reads (set before it is imported), Chromium's path
and flags, and the FLORES-200 lines each script mixes into its corpus.

The scripts run as `python benchmarks/bench_x.py`, so this folder is on sys.path and they
import this module as `_common`.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
FLORES = SHARED / "flores200"
os.environ.setdefault("TOKENLENS_PATH", str(SHARED / "tokenizers"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Chromium's path and flags live once, in ui-tests/harness/chromium.py
_CHROMIUM = runpy.run_path(str(ROOT / "ui-tests" / "harness" / "chromium.py"))
CHROMIUM: str = _CHROMIUM["CHROMIUM"]
FLAGS: list[str] = _CHROMIUM["FLAGS"]
MIX = ["hin_Deva", "ory_Orya", "zho_Hans", "arb_Arab"]


def flores_mix() -> tuple[list[str], list[list[str]]]:
    """The English dev lines, and the dev lines of each language in MIX (in that order)."""
    english = (FLORES / "eng_Latn.dev").read_text(encoding="utf-8").splitlines()
    others = [(FLORES / f"{lang}.dev").read_text(encoding="utf-8").splitlines() for lang in MIX]
    return english, others
