"""A real JupyterLab in Debian's Chromium: the side panel follows the active cell as the user types.

Screenshots land in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ._harness import CHROMIUM, FLAGS

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

if not Path(CHROMIUM).exists():  # pragma: no cover - make installs it; say so if it could not
    pytest.skip("Debian's chromium is not installed (make test installs it as root)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(cells: list[str]) -> dict:
    return {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": src}
            for i, src in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    (root / "demo.ipynb").write_text(json.dumps(_notebook(["hello world", "second cell"])))
    yield from serve_jupyter(root, "jupyterlab", lab_args(root))


def lab_args(root: Path) -> list[str]:
    """JupyterLab's options for a test: the app reachable from the page, settings and
    workspaces kept inside ``root``."""
    return [
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={root / '.settings'}",
        f"--LabApp.workspaces_dir={root / '.workspaces'}",
    ]


def serve_jupyter(root: Path, module: str, app_args: list[str], *, python=sys.executable, env=None, cwd=None):
    """Run `python -m <module>` (jupyterlab, notebook) in root on a free port with a fresh token; yield url, token, root.
    `python`, `env` and `cwd` default to this process's (test_wheel runs a fresh install's)."""
    token = secrets.token_hex(16)
    port = _free_port()
    env = dict(os.environ) if env is None else env
    cmd = [
        str(python),
        "-m",
        module,
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        *app_args,
    ]
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((root / "lab.log").read_text()) from None
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError(f"{module} did not start:\n" + (root / "lab.log").read_text())
    yield {"url": url, "token": token, "root": root}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@contextlib.asynccontextmanager
async def chromium_page(**kwargs):
    # The async API shares pytest-jupyter's event loop; the sync API would fight it for the thread.
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield await browser.new_page(**kwargs)
        finally:
            await browser.close()


async def _panel_ids(page, tokenizer: str = "gpt2") -> list[int]:
    chips = page.locator(f'#tokenlens-panel .tl-result[data-tokenizer="{tokenizer}"] .tl-token')
    return [int(x) for x in await chips.evaluate_all("els => els.map(e => e.dataset.id)")]


async def _wait_for_ids(page, expected: list[int], tokenizer: str = "gpt2", timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while time.monotonic() < deadline:
        seen = await _panel_ids(page, tokenizer)
        if seen == expected:
            return
        await page.wait_for_timeout(150)
    raise AssertionError(f"panel shows {seen}, expected {expected}")


async def _select_cell(page, index: int) -> None:
    await page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content").click()


async def _open_lab(page, lab) -> None:
    await page.goto(f"{lab['url']}/lab/tree/demo.ipynb?token={lab['token']}")
    await page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60_000)
    await page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:toggle-panel')")


async def test_panel_follows_the_active_cell(lab):
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        await _open_lab(page, lab)
        await page.evaluate("window.jupyterapp.commands.execute('tokenlens:toggle-panel')")
        await page.wait_for_selector("#tokenlens-panel", state="visible")

        await _select_cell(page, 0)
        await _wait_for_ids(page, [31373, 995])  # "hello world"

        # typing replaces the text; the panel catches up after the debounce
        await page.keyboard.press("Control+a")
        await page.keyboard.type("I love NLP")
        await _wait_for_ids(page, [40, 1842, 399, 19930])
        status = await page.locator("#tokenlens-panel .tl-status").inner_text()
        assert "4 tokens" in status
        await page.screenshot(path=str(ARTIFACTS / "panel-light.png"))

        # switching cells switches the panel
        await _select_cell(page, 1)
        await _wait_for_ids(page, [12227, 2685])  # "second cell"
        await _select_cell(page, 0)
        await _wait_for_ids(page, [40, 1842, 399, 19930])

        # Odia text: pieces of characters are shown as bytes, never U+FFFD
        await page.keyboard.press("Control+a")
        await page.keyboard.type("ଓଡ଼ିଆ ଭାଷା")
        await page.wait_for_function(
            "() => document.querySelectorAll('#tokenlens-panel .tl-result[data-tokenizer=gpt2] .tl-token').length > 10"
        )
        texts = await page.locator("#tokenlens-panel .tl-token").all_inner_texts()
        assert not any("\ufffd" in t for t in texts)
        await page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
        await page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        await page.wait_for_timeout(800)
        await page.screenshot(path=str(ARTIFACTS / "panel-dark-odia.png"))


def test_chromium_flags_are_spelled_once():
    """Every script and test launches Chromium with ui-tests/harness/chromium.py's flags: none
    spells its own (a copy drifts: docs/shoot.py's once lacked two)."""
    from .conftest import ROOT

    home = ROOT / "ui-tests" / "harness" / "chromium.py"
    flag = "--disable-" + "background-networking"  # in two parts, so this file does not spell it
    spelled = [
        path.relative_to(ROOT).as_posix()
        for folder in ("tests", "benchmarks", "docs", "ui-tests", "tokenlens", "jupyterlab_tokenlens")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".ts", ".js", ".json"}
        and "node_modules" not in path.parts
        and path != home
        and path.is_file()
        and flag in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert spelled == [], spelled
    assert flag in home.read_text(encoding="utf-8") and flag in FLAGS
