"""The JupyterLite site (lite/build_site.py, `make lite`) with no Jupyter server at all: the built folder
is served by a plain static file server, opened in Debian's Chromium, and text typed into a
notebook's cells (English in a code cell, Odia in a markdown cell) must show in the Tokens panel
with the same ids as the Python engine's, for GPT-2, o200k, BERT uncased and Llama 2, following
the active cell.

The site is built once per module from the built labextension folder (a wheel would need a
production build of minutes; `make lite` uses the wheel) into the temporary folder, kept there
under a hash of everything that goes into it, so a rerun without changes only serves and browses.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.metadata
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from ._harness import ARTIFACTS, CHROMIUM, FLAGS, SKIP_REASON, QuietHandler, have_chromium
from .conftest import ROOT, TOKENIZERS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not have_chromium(), reason=SKIP_REASON),
]

LITE = ROOT / "lite"
LABEXTENSION = ROOT / "jupyterlab_tokenlens" / "labextension"
SHOWN = ["gpt2", "llama-2", "bert-base-uncased", "o200k_base"]  # lite/overrides.json's panel
ENGLISH = "Tokens in the page: I love NLP"
ODIA = " ଓଡ଼ିଆରେ ଲେଖନ୍ତୁ"

# A tokenizer's ids as the panel shows them: its chips, in the stacked layout.
PANEL_IDS = """(name) => {
  const block = document.querySelector(`#tokenlens-panel .tl-result[data-tokenizer="${name}"]`);
  return block ? [...block.querySelectorAll('.tl-token')].map(e => Number(e.dataset.id)) : null;
}"""
SOURCE = "() => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.getSource()"


def _inputs_hash() -> str:
    """What the built site depends on: the lite folder, the built extension, the library that
    writes the tokenizers' files, the tokenizers themselves (by size and time) and jupyterlite."""
    digest = hashlib.sha256(importlib.metadata.version("jupyterlite-core").encode())
    files = [p for p in LITE.rglob("*") if "_output" not in p.parts and "__pycache__" not in p.parts]
    files += list(LABEXTENSION.rglob("*")) + list((ROOT / "tokenlens").rglob("*.py"))
    for path in sorted(p for p in files if p.is_file()):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    for path in sorted(p for p in TOKENIZERS.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(TOKENIZERS)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


@pytest.fixture(scope="module")
def site() -> Path:
    pytest.importorskip("jupyterlite_core", reason="jupyterlite-core is not installed: pip install -e '.[docs]'")
    if not (LABEXTENSION / "package.json").exists():
        pytest.fail("the labextension is not built: run `jlpm build` (make test does)")
    cache = Path(tempfile.gettempdir()) / "tokenlens-lite"
    built = cache / _inputs_hash()
    if not (built / "files" / "tokenlens" / "manifest.json").exists():
        sys.path.insert(0, str(LITE))
        try:
            from build_site import build
        finally:
            sys.path.remove(str(LITE))
        shutil.rmtree(cache, ignore_errors=True)  # older builds: only the newest is kept
        partial = cache / "partial"
        build(partial, LABEXTENSION)
        partial.rename(built)
    return built


@pytest.fixture(scope="module")
def served(site):
    """The built folder over plain HTTP: no Jupyter server anywhere."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def _python_ids(text: str) -> dict[str, list[int]]:
    import tokenlens

    return {name: list(tokenlens.tokenize(text, name).ids) for name in SHOWN}


def _wait_for_ids(page, expected: dict[str, list[int]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen: dict = {}
    while time.monotonic() < deadline:
        seen = {name: page.evaluate(PANEL_IDS, name) for name in expected}
        if seen == expected:
            return
        page.wait_for_timeout(200)
    wrong = {name: (seen.get(name), ids) for name, ids in expected.items() if seen.get(name) != ids}
    raise AssertionError(f"the panel's ids differ from the Python engine's (shown, expected): {wrong}")


def test_lite_panel_counts_in_the_page_with_no_server(served):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    server_calls: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 850})
            page.on("pageerror", lambda e: errors.append(str(e)))
            # the panel's server routes do not exist here: the ids can only come from the page,
            # and once it knows that, it asks no server for them
            page.on("request", lambda r: r.method == "POST" and "/tokenlens/" in r.url and server_calls.append(r.url))
            page.goto(f"{served}/lab/index.html?path=try-tokenlens.ipynb")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content", timeout=90_000)
            # JupyterLab asks which kernel to start, and this site has none
            page.locator(".jp-Dialog").get_by_role("button", name="No Kernel").click(timeout=30_000)
            page.wait_for_function(
                "window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:toggle-panel')"
            )
            page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")
            # one block of chips per tokenizer: every id is a chip of its own
            page.locator("#tokenlens-panel .tl-opt-layout button[data-value='stacked']").click()
            cells = page.locator(".jp-Notebook .jp-Cell")

            # English typed into the empty code cell at the end
            cells.last.locator(".cm-content").click()
            page.keyboard.type(ENGLISH)
            english = page.evaluate(SOURCE)
            assert english == ENGLISH
            _wait_for_ids(page, _python_ids(english))

            # the token card says why " love" has its id, from the page's own files
            chip = page.locator("#tokenlens-panel .tl-result[data-tokenizer='gpt2'] .tl-token[data-id='1842']")
            chip.hover()
            page.wait_for_selector(".tl-card[data-id='1842'][data-state='ready']:not([hidden])", timeout=20_000)
            card = page.locator(".tl-card:not([hidden])")
            assert card.locator(".tl-card-rank").inner_text() == "1842"
            parents = card.locator(".tl-card-parents .tl-card-parent")
            assert parents.evaluate_all("els => els.map(e => Number(e.dataset.id))") == [300, 659, 1842]
            page.mouse.move(5, 5)
            # (no POST, even before the page knew there is no server)

            # Odia typed at the end of the Odia markdown cell, opened for editing
            odia_cell = cells.filter(has_text="ଓଡ଼ିଆ").first
            odia_cell.dblclick()
            odia_cell.locator(".cm-content").click()
            page.keyboard.press("Control+End")
            page.keyboard.insert_text(ODIA)
            odia = page.evaluate(SOURCE)
            assert odia.endswith(ODIA)
            _wait_for_ids(page, _python_ids(odia))
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "lite-panel-odia.png"))

            # back to the code cell: the panel follows it
            cells.last.locator(".cm-content").click()
            _wait_for_ids(page, _python_ids(english))

            # the panel hidden, the status bar counts the first tokenizer in the page too
            page.evaluate("window.jupyterapp.commands.execute('tokenlens:toggle-panel')")
            page.wait_for_selector("#tokenlens-panel", state="hidden")
            page.keyboard.press("Control+End")
            page.keyboard.type(" and more")
            more = page.evaluate(SOURCE)
            assert more == ENGLISH + " and more"
            n = len(_python_ids(more)["gpt2"])
            page.wait_for_selector(f".tl-statusbar[data-tokenizer='gpt2'][data-count='{n}']", timeout=30_000)
        finally:
            browser.close()
    assert not errors, errors
    assert not server_calls, f"the page kept asking a server that is not there: {server_calls[:3]}"


def test_site_holds_the_manifest_and_files_only_in_the_output(site):
    """The tokenizers' files are in the built site, match the manifest, and none was written into
    the repository's lite folder or beside the shared tokenizers."""
    import json

    folder = site / "files" / "tokenlens"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["name"]: e for e in manifest["tokenizers"]}
    assert set(SHOWN) <= set(entries)
    for entry in entries.values():
        body = (folder / entry["url"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] and len(body) == entry["bytes"]
    written = {entry["url"] for entry in entries.values()} | {"manifest.json"}
    in_repo = [p for p in LITE.rglob("*") if p.name in written and "_output" not in p.relative_to(LITE).parts]
    beside_shared = [p for p in TOKENIZERS.rglob("*") if p.name in written]
    assert not in_repo and not beside_shared, in_repo + beside_shared
