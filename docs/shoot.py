"""Make the README's screenshots in a real JupyterLab, so that they follow the code, not a hand.

Starts JupyterLab (news prompt off, a fresh settings folder, a scratch root holding only the
notebook shot here), runs that notebook in a live kernel and photographs the Tokens panel with
four tokenizers (light, dark, Odia), the aligned compare, the training report, the dataset view,
a completed fine-tune, the premium chart and the n-gram comparison (bigram and trigram counts
against the tiny transformer, the same ids: the live view, and the copy a saved notebook keeps)
into docs/images/.
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
    ("markdown", "# Tokens, seen by four tokenizers"),
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
    (
        "code",
        # the n-gram models count the very ids the tiny transformer above reads, on its training text
        "from tokenlens.finetune import attach\nfrom tokenlens.views.side_by_side import side_by_side\n\n"
        "attach('odia-shot-run').wait(timeout=600)\n"
        "prompt = 'ଓଡ଼ିଆ ଭାଷା ଏକ'\n"
        "bigram = tokenlens.ngram_lm(Path('odia.txt'), 'odia-shot', n=2)\n"
        "trigram = tokenlens.ngram_lm(Path('odia.txt'), 'odia-shot', n=3)\n"
        "shown = side_by_side(bigram.next_tokens(prompt, 3), trigram.next_tokens(prompt, 3),"
        " tokenlens.next_tokens(prompt, 'odia-shot-run', top_k=3))\n"
        "shown",
    ),
    # what a saved notebook (and the docs site) keeps of it: every position at once
    ("code", "from IPython.display import HTML\n\nHTML(shown._repr_html_())"),
]
#: the tokenizers the panel shows besides GPT-2 (checked by default): four, as the README says
PANEL_TOKENIZERS = ("bert-base-uncased", "llama-2", "cl100k_base")


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


#: the notebook's kernel, once it is connected and idle (JupyterLab's own session objects)
KERNEL_IDLE = """() => {
  const kernel = Array.from(window.jupyterapp.shell.widgets('main'))
    .map(w => w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel)
    .find(Boolean);
  return Boolean(kernel) && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""
RESTART_KERNEL = """async () => {
  const kernel = Array.from(window.jupyterapp.shell.widgets('main'))
    .map(w => w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel)
    .find(Boolean);
  await kernel.restart();
}"""


#: the box around what an output draws, in page pixels: its tables and its text (a block element
#: is as wide as the output, its text is not), a few pixels of margin
CONTENT_BOX = """el => {
  const boxes = Array.from(el.querySelectorAll('table'), t => t.getBoundingClientRect());
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    boxes.push(range.getBoundingClientRect());
  }
  const seen = boxes.filter(r => r.width > 0 && r.height > 0);
  const x = Math.max(0, Math.min(...seen.map(r => r.left)) - 6);
  const y = Math.max(0, Math.min(...seen.map(r => r.top)) - 6);
  const right = Math.max(...seen.map(r => r.right)) + 6;
  const bottom = Math.max(...seen.map(r => r.bottom)) + 6;
  return {x, y, width: right - x, height: bottom - y};
}"""


def run_cells(page, first_code_cell, first_output) -> None:
    """Run the notebook from its first code cell once the kernel is idle, and wait for the first
    output. A run sent while the kernel was still starting was sometimes never answered (one
    run in three timed out here): then the kernel is restarted and the cells are run once more."""
    for attempt in (1, 2):
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        first_code_cell.locator(".cm-content").click()
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-below')")
        try:
            first_output.wait_for(timeout=120_000)
            return
        except Exception:  # playwright's TimeoutError
            if attempt == 2:
                raise
            print("the first cell gave no output in 120 s: restarting the kernel and running again")
            page.evaluate(RESTART_KERNEL)


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
    for name in PANEL_TOKENIZERS:
        page.locator(f"{PANEL} label").filter(has_text=name).locator("input").first.check()
    # every tokenizer drawn (the lanes and counts rows carry their tokenizer's name)
    page.wait_for_function(
        f"new Set(Array.from(document.querySelectorAll('{PANEL} [data-tokenizer]'), e => e.dataset.tokenizer)).size"
        f" >= {1 + len(PANEL_TOKENIZERS)}",
        timeout=60_000,
    )
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
    # the cells above cell 3 are text for the panel, not code
    run_cells(page, cells.nth(3), cell_output(page, 4).locator("table").first)
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
    # the n-gram comparison: bigram and trigram counts beside the tiny transformer, the same ids;
    # live, the last token picked and each model's continuation
    out = cell_output(page, 9)
    # the view, or the error that stops it: said at once, not after the whole wait
    out.locator(".tl-predict .tl-topk, [data-mime-type='application/vnd.jupyter.stderr']").first.wait_for(
        timeout=600_000
    )
    if not out.locator(".tl-predict").count():
        raise RuntimeError("The n-gram cell failed:\n" + out.inner_text())
    view = out.locator(".tl-predict").first
    view.locator(".tl-pred-tokens .tl-token").last.click()
    view.locator(".tl-gen-controls input[type='number']").fill("6")
    view.locator(".tl-gen-controls button").click()
    view.locator(".tl-gen-others .tl-other .tl-steps").nth(1).wait_for(timeout=120_000)  # the third model's
    page.mouse.move(0, 0)
    # three models' lists and continuations are taller than the notebook's 800 pixels: a taller
    # window for this one picture, so nothing of the view is cut by the notebook's scroller
    page.set_viewport_size({"width": 1280, "height": 2400})
    page.wait_for_timeout(1000)
    view.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    view.screenshot(path=str(IMAGES / "ngram-live.png"))
    page.set_viewport_size({"width": 1280, "height": 800})
    out = cell_output(page, 10)
    out.locator("table, [data-mime-type='application/vnd.jupyter.stderr']").first.wait_for(timeout=60_000)
    shown = out.locator(".jp-OutputArea-output").last
    shown.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    # static HTML fills the output's width: the picture is cut to its title and table
    box = shown.evaluate(CONTENT_BOX)
    page.screenshot(path=str(IMAGES / "ngram-comparison.png"), clip=box)


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
