"""Keystroke-to-paint latency of the Tokens side panel, in Chromium against a real JupyterLab.

A notebook cell holds N characters (FLORES-200 English with Hindi, Odia, Chinese and Arabic
lines mixed in); the panel follows it with GPT-2. For each sample the script types one character
at the end of the cell and measures, inside the page, from the keydown event's timestamp to the
first frame after the panel shows the count for the new text (the panel's `data-chars` equals
the new length; measured in the requestAnimationFrame callback of the frame that paints it, so
style and layout of that frame are not included), and to the frame after the token view is
redrawn for it (`data-drawn-chars`). The last column is the share of keystrokes whose count was
made in the page (GPT-2's ranks in the browser, src/lab/bpe.ts) rather than taken from the server's
answer; below each row, what that counting cost the keystroke's task.
Keystrokes are spaced by a pause longer than the panel's debounce (150 ms by default), so each
one is "a keystroke after a pause": the case a person notices.

Beside it, the server's share: the same POST /tokenlens/tokenize for a new text of that size
timed from Python (no browser), so the rest is the browser's (JSON parse, draw, paint).

Run from the repo root after `jlpm build`:
    .venv/bin/python benchmarks/bench_panel.py [--sizes 5000 100000] [--samples 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import CHROMIUM, FLAGS, flores_mix  # also sets TOKENLENS_PATH and HF_HUB_OFFLINE


def corpus(chars: int) -> str:
    """FLORES lines, four English to one other language, cut to `chars` characters."""
    english, others = flores_mix()
    lines, k, n = [], 0, 0
    while n < chars:
        line = english[k % len(english)] if k % 5 else others[(k // 5) % 4][k % len(others[0])]
        lines.append(line)
        n += len(line) + 1
        k += 1
    return "\n".join(lines)[:chars]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path) -> tuple[subprocess.Popen, str, str]:
    token = secrets.token_hex(16)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={root / '.settings'}",
        f"--LabApp.workspaces_dir={root / '.workspaces'}",
    ]
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            return proc, url, token
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("JupyterLab did not start:\n" + (root / "lab.log").read_text())


def server_ms(url: str, token: str, text: str, samples: int) -> list[float]:
    """POST /tokenlens/tokenize for a new text each time (no cache hit), timed from Python."""
    out = []
    for k in range(samples):
        body = json.dumps({"text": text + "x" * (k + 1), "tokenizers": ["gpt2"]}).encode()
        req = urllib.request.Request(
            f"{url}/tokenlens/tokenize",
            data=body,
            method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        t = time.perf_counter()
        with urllib.request.urlopen(req) as r:
            r.read()
        out.append((time.perf_counter() - t) * 1000)
    return out


# On each keydown: note its time, and when the editor itself first paints the new character
# (the frame after CodeMirror changes its DOM): the floor JupyterLab sets before any panel.
# The panel is watched from the start too: its counts may paint in the keystroke's own frame.
# For each new value of data-chars (counts) and data-drawn-chars (token view): the time of the
# first frame after it, its requestAnimationFrame callback running just before style, layout and
# paint (the panel's own deferred drawing must not count as this frame's), and data-counted-by.
ECHO = """() => {
  window.__tlSeen = { chars: {}, drawnChars: {}, by: {} };
  const panel = document.querySelector('#tokenlens-panel');
  new MutationObserver(() => {
    for (const key of ['chars', 'drawnChars']) {
      const value = panel.dataset[key];
      const seen = window.__tlSeen[key];
      if (value && !(value in seen)) {
        seen[value] = null;
        if (key === 'chars') { window.__tlSeen.by[value] = panel.dataset.countedBy; }
        requestAnimationFrame(() => { seen[value] = performance.now() - window.__tlKey; });
      }
    }
  }).observe(panel, { attributes: true });
  document.addEventListener('keydown', e => {
    window.__tlKey = e.timeStamp;
    const editor = document.querySelector('.jp-Notebook .jp-Cell.jp-mod-active .cm-content');
    window.__tlEcho = new Promise(resolve => {
      const obs = new MutationObserver(() => {
        obs.disconnect();
        requestAnimationFrame(() => resolve(performance.now() - e.timeStamp));
      });
      obs.observe(editor, { childList: true, characterData: true, subtree: true });
    });
  }, { capture: true });
}"""

# Resolves with [count paint, tokens paint, editor paint, counted by, counting in the page] for
# the text of n characters, in ms after the keydown (the last: ms the count took in the page).
MEASURE = """(n) => new Promise(resolve => {
  const seen = window.__tlSeen;
  const poll = () => {
    const count = seen.chars[n], view = seen.drawnChars[n];
    if (count == null || view == null) { setTimeout(poll, 5); return; }
    // the time the last count made in the page took (performance.measure in src/lab/counting.ts)
    const made = performance.getEntriesByName('tokenlens:count-here');
    const cost = made.length ? made[made.length - 1].duration : null;
    performance.clearMeasures('tokenlens:count-here');
    window.__tlEcho.then(echo => resolve([count, view, echo, seen.by[n], cost]));
  };
  poll();
})"""


async def browser_ms(url: str, token: str, text: str, samples: int, pause_ms: int) -> tuple[list[float], ...]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = await browser.new_page(viewport={"width": 1400, "height": 850})
        await page.goto(f"{url}/lab/tree/bench.ipynb?token={token}")
        await page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        # A markdown cell shows its editor once it is not rendered (as after a double click).
        await page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget?.content?.activeCell")
        await page.evaluate(
            "(() => { const c = window.jupyterapp.shell.currentWidget.content.activeCell;"
            " if ('rendered' in c) { c.rendered = false; } })()"
        )
        await page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=90_000)
        await page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:copy-ids')")
        await page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")
        await page.locator(".jp-Notebook .jp-Cell").nth(0).locator(".cm-content").click()
        await page.evaluate(
            "t => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.setSource(t)", text
        )
        await page.wait_for_function(
            "n => document.querySelector('#tokenlens-panel').dataset.chars === String(n)",
            arg=len(text),
            timeout=120_000,
        )
        await page.keyboard.press("Control+End")
        await page.evaluate(ECHO)
        counts, views, echoes, by, costs = [], [], [], [], []
        for k in range(samples + 3):
            await page.wait_for_timeout(pause_ms)
            await page.keyboard.press("x")
            count_ms, view_ms, echo_ms, counted_by, cost_ms = await page.evaluate(MEASURE, len(text) + k + 1)
            if k >= 3:  # the first few warm up the JIT and the caches
                counts.append(count_ms)
                views.append(view_ms)
                echoes.append(echo_ms)
                by.append(counted_by)
                if cost_ms is not None:
                    costs.append(cost_ms)
        await browser.close()
        return counts, views, echoes, by, costs


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000, 100_000])
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--pause", type=int, default=400, help="ms between keystrokes (> the debounce)")
    ap.add_argument(
        "--cell",
        choices=["code", "markdown", "raw"],
        default="code",
        help="the kind of cell typed in (a code cell is highlighted as Python)",
    )
    args = ap.parse_args()

    targets = {5_000: 50, 100_000: 150}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cell = {"cell_type": args.cell, "id": "b0", "metadata": {}, "source": ""}
        if args.cell == "code":
            cell.update(execution_count=None, outputs=[])
        nb = {
            "cells": [cell],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (root / "bench.ipynb").write_text(json.dumps(nb))
        proc, url, token = start_lab(root)
        try:
            load = os.getloadavg()[0]
            print(
                f"{os.cpu_count()} CPUs, load average {load:.2f}, {args.samples} keystrokes per size,"
                f" {args.pause} ms apart, in a {args.cell} cell"
            )
            print(
                f"{'chars':>8} {'tokens':>7} {'server p50':>10} {'p95':>6} {'editor paint p50':>16} {'p95':>6}"
                f" {'count paint p50':>15} {'p95':>6} {'max':>6} {'tokens paint p50':>16} {'p95':>6}"
                f" {'target (p95)':>12} {'counted in page':>15}"
            )
            import tokenlens

            for size in args.sizes:
                text = corpus(size)
                n_tokens = len(tokenlens.tokenize(text, "gpt2"))
                server = server_ms(url, token, text, min(args.samples, 20))
                paint, view, echo, by, costs = asyncio.run(browser_ms(url, token, text, args.samples, args.pause))
                here = sum(b == "browser" for b in by) / len(by)
                target = targets.get(size)
                print(
                    f"{size:>8,} {n_tokens:>7,} {statistics.median(server):>10.1f} {p95(server):>6.1f}"
                    f" {statistics.median(echo):>16.1f} {p95(echo):>6.1f}"
                    f" {statistics.median(paint):>15.1f} {p95(paint):>6.1f} {max(paint):>6.1f}"
                    f" {statistics.median(view):>16.1f} {p95(view):>6.1f}"
                    f" {('≤ %d ms' % target) if target else '':>12} {here:>15.0%}"
                )
                if costs:
                    print(
                        f"{'':>8} counting in the page: p50 {statistics.median(costs):.2f} ms,"
                        f" p95 {p95(costs):.2f} ms per keystroke"
                    )
            print(f"load average after: {os.getloadavg()[0]:.2f}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
