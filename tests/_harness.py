"""The browser harness shared by the tests that drive ui-tests/harness/ pages in Debian's Chromium:
a quiet static server over the repository root, Chromium's path and flags, and a page that
fails the test if it raised any error."""

from __future__ import annotations

import contextlib
import functools
import http.server
import runpy
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from .conftest import ROOT

# Chromium's path and flags live once, in ui-tests/harness/chromium.py, for scripts and tests alike
_CHROMIUM = runpy.run_path(str(ROOT / "ui-tests" / "harness" / "chromium.py"))
CHROMIUM: str = _CHROMIUM["CHROMIUM"]
FLAGS: list[str] = _CHROMIUM["FLAGS"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SKIP_REASON = "Debian's chromium is not installed (make test installs it as root)"


def have_chromium() -> bool:
    return Path(CHROMIUM).exists()


def page_bundle(entry: str) -> str:
    """TypeScript of src/ bundled for a plain page: ``entry`` is a module's text (paths from the
    repository root), its exports become ``window.TL``."""
    return subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "esbuild"), "--bundle", "--format=iife", "--global-name=TL"]
        + ["--target=es2020", "--loader=ts", "--sourcefile=entry.ts"],
        input=entry,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def harness_page(path: str, *, width: int, height: int, state: str = "visible") -> Iterator:
    """A Chromium page on ``ui-tests/harness/{path}`` (query string allowed), served from the
    repository root, once ``body[data-ready='true']`` is in the requested ``state``. The page's
    ``url`` is the harness address, for reloading it with other parameters. Every page error
    fails the test at the end."""
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{server.server_port}/ui-tests/harness/{path}")
            page.wait_for_selector("body[data-ready='true']", state=state)
            yield page
            browser.close()
    finally:
        server.shutdown()
    assert not errors, errors
