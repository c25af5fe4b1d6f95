"""Shared fixtures: the offline reference tokenizers of ../shared/data, an isolated registry,
and no hub access (nothing may be downloaded while testing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
TOKENIZERS = SHARED / "tokenizers"
FLORES = SHARED / "flores200"

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# Set before any test imports tokenlens, so every process the tests start inherits them.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENLENS_PATH"] = str(TOKENIZERS)


def pytest_configure(config):
    if not TOKENIZERS.is_dir():
        raise pytest.UsageError(
            f"The reference tokenizers are missing ({TOKENIZERS}). The tests read them from"
            " ../shared/data beside the checkout, or from TOKENLENS_SHARED_DATA."
        )


@pytest.fixture(autouse=True)
def _isolated_registry(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TOKENLENS_REGISTRY", str(tmp_path_factory.mktemp("registry")))
    monkeypatch.setenv("TOKENLENS_PATH", str(TOKENIZERS))


@pytest.fixture
def shell():
    """A fresh IPython shell with ``%load_ext tokenlens`` done."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext tokenlens", store_history=False)
    yield sh
    InteractiveShell.clear_instance()


def flores(lang: str, split: str = "dev") -> list[str]:
    return (FLORES / f"{lang}.{split}").read_text(encoding="utf-8").splitlines()


async def error_of(coro) -> tuple[int, dict]:
    """The status and JSON body of a server route's error answer, which shows no traceback."""
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await coro
    payload = json.loads(info.value.response.body)
    assert "Traceback" not in json.dumps(payload)
    return info.value.code, payload
