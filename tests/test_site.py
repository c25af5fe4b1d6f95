"""The documentation site builds with warnings as errors and shows what a learner needs: the
README's guide, each notebook with its outputs (widgets through their static copies) and the API
reference. Runs after tests/test_examples.py (file order), reusing the notebooks it executed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import TOKENIZERS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_site_builds_strict_with_notebooks_and_api(tmp_path):
    pytest.importorskip("mkdocs_jupyter", reason="the docs extra is not installed: pip install -e '.[docs]'")
    site = tmp_path / "site"
    env = {**os.environ, "TOKENLENS_PATH": str(TOKENIZERS), "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "images/compare-aligned.png" in home and (site / "images" / "compare-aligned.png").exists()
    assert 'href="notebooks/01-tokenize/"' in home  # the README's notebook links lead to the pages
    pages = {p.stem: site / "notebooks" / p.stem / "index.html" for p in EXAMPLES.glob("*.ipynb")}
    assert len(pages) == 5 and all(p.exists() for p in pages.values())
    first = pages["01-tokenize"].read_text(encoding="utf-8")
    assert "[40, 1842, 399, 19930]" in first  # an executed output, not just the code
    assert first.count("tokenlens-static") >= 2  # both token widgets, through their static copies
    assert "Loading weights" not in pages["05-pipeline-and-decoding"].read_text(encoding="utf-8")
    api = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert "next_tokens" in api and "train_tokenizer" in api


def test_example_data_missing_says_where_it_looked(monkeypatch):
    sys.path.insert(0, str(EXAMPLES))
    from _paths import data

    monkeypatch.setenv("TOKENLENS_SHARED_DATA", "/nonexistent-data")
    assert data("flores200").joinpath("ory_Orya.dev").exists()
    with pytest.raises(FileNotFoundError, match="(?s)/nonexistent-data.*Set TOKENLENS_SHARED_DATA"):
        data("flores200/no-such-language.dev")
