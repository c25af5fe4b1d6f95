"""Make the README's screenshots in a real JupyterLab, so that they follow the code, not a hand.

Starts JupyterLab (news prompt off, a fresh settings folder, a scratch root holding only the
notebook shot here), runs that notebook in a live kernel and photographs the Tokens panel (light,
dark, Odia), the aligned compare, the training report, the dataset view, a completed fine-tune
and the premium chart into docs/images/.
Run from the repo root after `make setup`:

    TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python docs/shoot.py
"""

from __future__ import annotations

import json
import os
import runpy
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
FLORES = ROOT.parent / "shared" / "data" / "flores200"
# Chromium's path and flags live once, in ui-tests/harness/chromium.py
_CHROMIUM = runpy.run_path(str(ROOT / "ui-tests" / "harness" / "chromium.py"))
CHROMIUM: str = _CHROMIUM["CHROMIUM"]
FLAGS: list[str] = _CHROMIUM["FLAGS"]
PANEL = "#tokenlens-panel"

CELLS = [
    ("markdown", "# Tokens, seen by three tokenizers"),
    ("code", "I love NLP, and tokenizers split it differently."),
    ("code", "ଓଡ଼ିଆ ଭାଷା ଏକ ସୁନ୍ଦର ଭାଷା।"),
    ("code", "%load_ext tokenlens"),
    ("code", "%%tokenize -t gpt2 -t bert-base-uncased -t llama-2\nI love NLP"),
    (
        "code",
        "%train_tokenizer odia.txt --algorithm bpe --vocab-size 2000 --name odia-shot --compare gpt2"
        " --eval odia-eval.txt --overwrite --no-progress",
    ),
    ("code", "%tokenizer_stats -t gpt2 --context 256 --longest 3 --no-progress odia-eval.txt"),
    (
        "code",
        "%finetune --from-scratch --tokenizer odia-shot --data odia.txt --layers 2 --width 64 --heads 2"
        " --context 64 --batch-size 8 --max-steps 60 --lr 3e-3 --eval-steps 30 --save-steps 60 --device cpu"
        " --sample-prompt ଓଡ଼ିଆ --name odia-shot-run --overwrite",
    ),
    (
        "code",
        "from pathlib import Path\n\nimport tokenlens\n\n"
        "tokenlens.stats({'English': Path('eng-eval.txt'), 'Odia': Path('odia-eval.txt')},"
        " ['gpt2', 'cl100k_base', 'llama-2', 'odia-shot'], reference='English', progress=False)",
    ),
]


def notebook() -> dict:
    cells = []
    for i, (kind, src) in enumerate(CELLS):
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": src}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        cells.append(cell)
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def start_lab(root: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    settings = root.parent / "settings"
    # The news prompt is a notification that would sit on every picture: off by setting and flag.
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}"]
    cmd += ["--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    cmd += ["--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", f"--LabApp.user_settings_dir={settings}"]
    cmd += [f"--LabApp.workspaces_dir={root.parent / 'workspaces'}"]
    log = open(root.parent / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            return proc, f"{url}/lab/tree/tokens.ipynb?token={token}"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("JupyterLab did not start:\n" + (root.parent / "lab.log").read_text())


def cell_output(page, index: int):
    return page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def shoot(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell .cm-content", timeout=60_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:copy-ids')")
    page.evaluate("window.jupyterapp.shell.collapseLeft()")
    page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")
    page.wait_for_selector(f"{PANEL} .tl-token", timeout=60_000)
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    for name in ("bert-base-uncased", "llama-2"):  # three tokenizers, as in notebook 01
        page.locator(f"{PANEL} label").filter(has_text=name).locator("input").first.check()
    cells.nth(1).locator(".cm-content").click()
    page.wait_for_timeout(2000)
    page.screenshot(path=str(IMAGES / "panel-light.png"))
    cells.nth(2).locator(".cm-content").click()
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_timeout(2500)
    page.screenshot(path=str(IMAGES / "panel-dark-odia.png"))
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.wait_for_timeout(2000)
    page.evaluate("window.jupyterapp.shell.collapseRight()")
    cells.nth(3).locator(".cm-content").click()  # the cells above are text for the panel, not code
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-below')")
    # (cell, picture, the part of its output shown): the report's charts, merge frequency against rank
    shots = [
        (4, "compare-aligned.png", "table"),
        (5, "training-report.png", ".tl-train-charts"),
        (6, "dataset-view.png", "svg"),
    ]
    for index, name, part in shots:
        shown = cell_output(page, index)
        if part.startswith("."):
            shown = shown.locator(part).first
        shown.locator("svg, table").first.wait_for(timeout=60_000)
        shown.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        shown.screenshot(path=str(IMAGES / name))
    run = cell_output(page, 7)
    run.get_by_text("completed").first.wait_for(timeout=300_000)
    run.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    run.screenshot(path=str(IMAGES / "finetune-completed-light.png"))
    # the premium chart (tokens per English token, the trained Odia BPE among them)
    for index, name in ((8, "premium-chart.png"),):
        shown = cell_output(page, index).locator(".jp-OutputArea-output").last  # not the weights' progress bar
        shown.locator("svg, table").first.wait_for(timeout=300_000)
        shown.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        shown.screenshot(path=str(IMAGES / name))


def main() -> None:
    from playwright.sync_api import sync_playwright

    odia = (FLORES / "ory_Orya.dev").read_text(encoding="utf-8")
    # A fixed, plain scratch folder: the training report prints where it saved the tokenizer.
    tmp = Path(tempfile.gettempdir()) / "tokenlens"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        root = tmp / "examples"  # the only folder the pictures show
        root.mkdir(parents=True)
        (root / "tokens.ipynb").write_text(json.dumps(notebook()), encoding="utf-8")
        (root / "odia.txt").write_text(odia, encoding="utf-8")
        (root / "odia-eval.txt").write_text((FLORES / "ory_Orya.devtest").read_text(encoding="utf-8"))
        (root / "eng-eval.txt").write_text((FLORES / "eng_Latn.devtest").read_text(encoding="utf-8"))
        os.environ.setdefault("TOKENLENS_PATH", str(ROOT.parent / "shared" / "data" / "tokenizers"))
        # A scratch registry and runs folder: the panel lists only what this script trains.
        os.environ["TOKENLENS_REGISTRY"] = str(tmp / "registry")
        os.environ["TOKENLENS_RUNS"] = str(tmp / "runs")
        proc, url = start_lab(root)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
                try:
                    shoot(page, url)
                except Exception:
                    page.screenshot(path=str(Path(tempfile.gettempdir()) / "tokenlens-shoot-failed.png"))
                    raise
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("wrote", ", ".join(sorted(p.name for p in IMAGES.glob("*.png"))))


if __name__ == "__main__":
    main()
