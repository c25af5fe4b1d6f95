"""Keystroke-to-paint latency of the Tokens side panel, in Chromium against a real JupyterLab,
for every shared tokenizer in one run.

A notebook cell (a code cell, then a markdown cell opened for editing) holds N characters
(FLORES-200 English with Hindi, Odia, Chinese and Arabic lines mixed in); the panel follows it
with one tokenizer at a time (GPT-2, cl100k, o200k, BERT uncased, Llama 2 by default). For each
sample the script types one character at the end of the cell and measures, inside the page,
from the keydown event's timestamp to the frame that paints the count the panel shows for the
new text (the panel's `data-chars` equals the new length) and to the frame that paints the token
chips redrawn for it (`data-drawn-chars`). Beside them, in the same keystrokes, the editor's own
echo: the frame that shows the typed character in the cell (CodeMirror's), the floor JupyterLab
sets before any extension sees the change. Each is the time that frame was done on the main
thread (its requestAnimationFrame callbacks, style, layout and paint; a frame clock in the page
tells which frame paints a change: the one whose callbacks made it, else the next). First the
same echo in a JupyterLab without the extension ("echo p95 vs none": what the panel's work in
the keystroke's own task adds to the typed character's paint). "in echo"
is the share of keystrokes whose count painted in that same frame; "in page" the share whose
count was made in the page rather than taken from the server's answer. Keystrokes are spaced by
a pause longer than the panel's debounce (150 ms by default), so each one is "a keystroke after
a pause": the case a person notices.

Beside it, the server's share: the same POST /tokenlens/tokenize for a new text of that size
timed from Python (no browser), so the rest is the browser's (JSON parse, draw, paint).

Issue 21's targets, judged per row at p95: the count paints in the echo frame; the chips paint
in the echo's frame or the next at 5,000 characters ("+frames": frames after the echo's, p95,
counted by the frame clock) and within 50 ms of the echo at 100,000.

Run from the repo root after `jlpm build`:
    .venv/bin/python benchmarks/bench_panel.py [--sizes 5000 100000] [--samples 20]
        [--cells code markdown] [--tokenizers gpt2 cl100k_base o200k_base bert-base-uncased llama-2]
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

from _common import CHROMIUM, FLAGS, ROOT, flores_mix  # also sets TOKENLENS_PATH and HF_HUB_OFFLINE


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


def start_lab(root: Path, without_extension: bool = False) -> tuple[subprocess.Popen, str, str]:
    """JupyterLab on `root`; `without_extension`: its page loads without our labextension (a
    page_config of its own), the baseline for what the editor's echo costs with no panel."""
    token = secrets.token_hex(16)
    env = dict(os.environ)
    if without_extension:
        config = root / ".jupyter-no-panel"
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        page = {"disabledExtensions": {"jupyterlab-tokenlens": True}}
        (config / "labconfig" / "page_config.json").write_text(json.dumps(page))
        env["JUPYTER_CONFIG_DIR"] = str(config)
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
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            return proc, url, token
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("JupyterLab did not start:\n" + (root / "lab.log").read_text())


def server_ms(url: str, token: str, text: str, tokenizer: str, samples: int) -> list[float]:
    """POST /tokenlens/tokenize for a new text each time (no cache hit), timed from Python."""
    out = []
    for k in range(samples):
        body = json.dumps({"text": text + "x" * (k + 1), "tokenizers": [tokenizer]}).encode()
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


def use_tokenizer(root: Path, tokenizer: str) -> None:
    """The panel's setting, as a person's settings file: the next page load shows only `tokenizer`."""
    folder = root / ".settings" / "jupyterlab-tokenlens"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.jupyterlab-settings").write_text(json.dumps({"tokenizers": [tokenizer]}))


# A frame clock: each frame's requestAnimationFrame callbacks begin with `tick` (requested a
# frame ahead, so first), and a task queued there runs once that frame's callbacks, style,
# layout and paint are done: its time is when the frame was painted (on the main thread). A DOM
# change seen while a frame's callbacks run (the panel draws in one) is painted by that frame;
# one made in a task between frames (the keystroke's own, a deferred drawing) by the next.
# On each keydown: note its time, and when the frame that paints the editor's new character
# (CodeMirror's DOM change) was done: the floor JupyterLab sets before any panel. The panel is
# watched from the start too: for each new value of data-chars (counts) and data-drawn-chars
# (token view), when the frame that paints it was done, and data-counted-by.
ECHO = """() => {
  const clock = { n: 0, inFrame: false, waiting: {} };
  // A size that changes every frame: the observer reports it after the frame's callbacks, style
  // and layout, so a task that runs from then on (a keystroke, ahead of any timer) is the next
  // frame's.
  const probe = document.body.appendChild(document.createElement('div'));
  probe.style.cssText = 'position: fixed; left: 0; top: 0; height: 1px; width: 1px; visibility: hidden';
  new ResizeObserver(() => { clock.inFrame = false; }).observe(probe);
  const tick = () => {
    const n = ++clock.n;
    probe.style.width = (n % 2) + 1 + 'px';
    clock.inFrame = true;
    setTimeout(() => {
      clock.inFrame = false;
      const done = performance.now();
      (clock.waiting[n] || []).forEach(f => f(done, n));
      delete clock.waiting[n];
    }, 0);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const painted = f => {
    const n = clock.inFrame ? clock.n : clock.n + 1;
    (clock.waiting[n] = clock.waiting[n] || []).push(f);
  };
  window.__tlSeen = { chars: {}, drawnChars: {}, by: {}, frame: { chars: {}, drawnChars: {} } };
  const panel = document.querySelector('#tokenlens-panel');
  if (panel) new MutationObserver(() => {
    for (const key of ['chars', 'drawnChars']) {
      const value = panel.dataset[key];
      const seen = window.__tlSeen[key];
      if (value && !(value in seen)) {
        seen[value] = null;
        if (key === 'chars') { window.__tlSeen.by[value] = panel.dataset.countedBy; }
        painted((done, n) => { seen[value] = done - window.__tlKey; window.__tlSeen.frame[key][value] = n; });
      }
    }
  }).observe(panel, { attributes: true });  // (no panel: the baseline page, echo only)
  document.addEventListener('keydown', e => {
    window.__tlKey = e.timeStamp;
    const editor = document.querySelector('.jp-Notebook .jp-Cell.jp-mod-active .cm-content');
    window.__tlEcho = new Promise(resolve => {
      const obs = new MutationObserver(() => {
        obs.disconnect();
        painted((done, n) => resolve([done - e.timeStamp, n]));
      });
      obs.observe(editor, { childList: true, characterData: true, subtree: true });
    });
  }, { capture: true });
}"""

# Resolves with [count paint, chips paint, editor paint, counted by, counting in the page, the
# frames that painted the count, the chips and the echo] for the text of n characters, in ms
# after the keydown (counting: ms the count took in the page); a paint that has not come 30 s
# after the keydown is null.
MEASURE = """(n) => new Promise(resolve => {
  const seen = window.__tlSeen;
  const until = performance.now() + 30000;
  const poll = () => {
    const count = seen.chars[n], view = seen.drawnChars[n];
    if ((count == null || view == null) && performance.now() < until) { setTimeout(poll, 5); return; }
    // the time the last count made in the page took (performance.measure in src/lab/counting.ts)
    const made = performance.getEntriesByName('tokenlens:count-here');
    const cost = made.length ? made[made.length - 1].duration : null;
    performance.clearMeasures('tokenlens:count-here');
    const late = new Promise(r => setTimeout(() => r(null), Math.max(0, until - performance.now())));
    Promise.race([window.__tlEcho, late]).then(echo =>
      resolve([count ?? null, view ?? null, echo ? echo[0] : null, seen.by[n] ?? null, cost,
               seen.frame.chars[n] ?? null, seen.frame.drawnChars[n] ?? null, echo ? echo[1] : null]));
  };
  poll();
})"""


# The baseline page has no panel: only the editor's echo, or null after 30 s.
MEASURE_ECHO = """() => Promise.race([window.__tlEcho, new Promise(r => setTimeout(() => r(null), 30000))])
  .then(echo => echo ? echo[0] : null)"""


async def browser_ms(
    url: str, token: str, notebook: str, texts: list[str], samples: int, pause_ms: int, panel: bool = True
) -> list[dict]:
    """One page on `notebook`; for each text in turn, the cell holds it and `samples` keystrokes
    (after 3 that warm up the JIT and the caches) are measured. One dict of lists per text.
    `panel` False: a page without the extension, where only the editor's echo is measured."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = await browser.new_page(viewport={"width": 1400, "height": 850})
        # a fresh workspace: the notebook of the last page must not be restored beside this one
        await page.goto(f"{url}/lab/tree/{notebook}?reset&token={token}")
        await page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        # A markdown cell shows its editor once it is not rendered (as after a double click).
        await page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget?.content?.activeCell")
        await page.evaluate(
            "(() => { const c = window.jupyterapp.shell.currentWidget.content.activeCell;"
            " if ('rendered' in c) { c.rendered = false; } })()"
        )
        await page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=90_000)
        if panel:
            await page.wait_for_function(
                "window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:copy-ids')"
            )
            await page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")
        else:
            assert not await page.evaluate("window.jupyterapp.commands.hasCommand('tokenlens:copy-ids')")
        await page.locator(".jp-Notebook .jp-Cell").nth(0).locator(".cm-content").click()
        await page.evaluate(ECHO)
        runs = []
        for text in texts:
            await page.evaluate(
                "t => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.setSource(t)", text
            )
            if panel:
                await page.wait_for_function(
                    "n => document.querySelector('#tokenlens-panel').dataset.drawnChars === String(n)",
                    arg=len(text),
                    timeout=120_000,
                )
            else:
                await page.wait_for_timeout(2000)  # the editor's own work on the new text
            await page.keyboard.press("Control+End")
            run = {"count": [], "chips": [], "echo": [], "by": [], "cost": [], "frames": [], "lost": 0}
            for k in range(samples + 3):
                await page.wait_for_timeout(pause_ms)
                await page.keyboard.press("x")
                if not panel:
                    echo_ms = await page.evaluate(MEASURE_ECHO)
                    if k >= 3 and echo_ms is not None:
                        run["echo"].append(echo_ms)
                    continue
                measured = await page.evaluate(MEASURE, len(text) + k + 1)
                count_ms, chips_ms, echo_ms, counted_by, cost_ms, count_f, chips_f, echo_f = measured
                if k < 3:
                    continue
                if count_ms is None or chips_ms is None or echo_ms is None:
                    run["lost"] += 1
                    continue
                run["count"].append(count_ms)
                run["chips"].append(chips_ms)
                run["echo"].append(echo_ms)
                run["by"].append(counted_by)
                # frames after the echo's that painted the count and the chips
                run["frames"].append((count_f - echo_f, chips_f - echo_f))
                if cost_ms is not None:
                    run["cost"].append(cost_ms)
            runs.append(run)
        await browser.close()
        return runs


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


# Issue 21: the chips in the frame after the echo's at the latest at 5,000 characters (counted
# in frames, by the page's frame clock), within 50 ms of the echo at 100,000.
CHIPS_FRAMES = {5_000: 1}
CHIPS_SLACK = {100_000: 50.0}
SHARED = ["gpt2", "cl100k_base", "o200k_base", "bert-base-uncased", "llama-2"]


def build_id() -> str:
    """The built labextension's entry file: a row measured on another build than the first says so."""
    package = json.loads((ROOT / "jupyterlab_tokenlens" / "labextension" / "package.json").read_text())
    return package["jupyterlab"]["_build"]["load"].rsplit("/", 1)[-1]


def notebook(root: Path, kind: str) -> str:
    cell = {"cell_type": kind, "id": "b0", "metadata": {}, "source": ""}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    nb = {
        "cells": [cell],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    name = f"bench-{kind}.ipynb"
    (root / name).write_text(json.dumps(nb))
    return name


def verdict(size: int, run: dict) -> str:
    """Issue 21's two targets for this row, at p95: the count in the echo frame (and the share of
    keystrokes whose count was), the chips within a frame of the echo's (5,000 characters) or
    within the slack after the echo (100,000)."""
    count_after = [c for c, _ in run["frames"]]
    chips_after = [v for _, v in run["frames"]]
    same = sum(c == 0 for c in count_after) / len(count_after)
    count_ok = p95(count_after) <= 0
    if size in CHIPS_FRAMES:
        chips = "met" if p95(chips_after) <= CHIPS_FRAMES[size] else "missed"
    elif size in CHIPS_SLACK:
        chips = "met" if p95(run["chips"]) <= p95(run["echo"]) + CHIPS_SLACK[size] else "missed"
    else:
        chips = ""
    return f"{same:>6.0%} {p95(chips_after):>+6} {'met' if count_ok else 'missed':>6} {chips:>6}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000, 100_000])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--pause", type=int, default=400, help="ms between keystrokes (> the debounce)")
    ap.add_argument("--tokenizers", nargs="+", default=SHARED)
    ap.add_argument("--no-baseline", action="store_true", help="skip the echo of a JupyterLab without the extension")
    ap.add_argument(
        "--cells",
        nargs="+",
        choices=["code", "markdown", "raw"],
        default=["code", "markdown"],
        help="the kinds of cell typed in (a code cell is highlighted as Python)",
    )
    args = ap.parse_args()

    import tokenlens

    texts = [corpus(size) for size in args.sizes]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        notebooks = {kind: notebook(root, kind) for kind in args.cells}
        first_build = build_id()
        print(f"extension build {first_build}")
        base: dict[tuple[str, int], float] = {}
        if not args.no_baseline:
            # The editor's echo in a JupyterLab without the extension: what the panel may not delay.
            bare, bare_url, bare_token = start_lab(root, without_extension=True)
            try:
                for kind in args.cells:
                    print(f"  ({kind} cell, no extension: measuring)", file=sys.stderr, flush=True)
                    runs = asyncio.run(
                        browser_ms(bare_url, bare_token, notebooks[kind], texts, args.samples, args.pause, panel=False)
                    )
                    for size, run in zip(args.sizes, runs):
                        base[kind, size] = p95(run["echo"])
                        print(
                            f"no extension, {kind} cell, {size:,} characters: echo p50"
                            f" {statistics.median(run['echo']):.1f} ms, p95 {base[kind, size]:.1f} ms"
                        )
            finally:
                bare.terminate()
                bare.wait(timeout=20)
        proc, url, token = start_lab(root)
        try:
            print(
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {args.samples} keystrokes per row,"
                f" {args.pause} ms apart; ms from the keydown; targets: count in the echo frame, chips"
                " in the echo's frame or the next (5,000) / ≤ echo + 50 ms (100,000)"
            )
            print(
                f"{'cell':<8} {'tokenizer':<17} {'chars':>7} {'tokens':>7} {'server p95':>10}"
                f" {'echo p50':>8} {'p95':>6} {'count p50':>9} {'p95':>6} {'chips p50':>9} {'p95':>6}"
                f" {'in page':>7} {'in echo':>7} {'+frames':>6} {'count':>6} {'chips':>6} {'echo p95 vs none':>16}"
            )
            for tokenizer in args.tokenizers:
                use_tokenizer(root, tokenizer)
                tokens = [len(tokenlens.tokenize(t, tokenizer)) for t in texts]
                server = [p95(server_ms(url, token, t, tokenizer, min(args.samples, 10))) for t in texts]
                for kind in args.cells:
                    print(f"  ({kind} cell, {tokenizer}: measuring)", file=sys.stderr, flush=True)
                    built = build_id()
                    runs = asyncio.run(browser_ms(url, token, notebooks[kind], texts, args.samples, args.pause))
                    rebuilt = f"  (extension rebuilt: {built})" if built != first_build or build_id() != built else ""
                    for size, n_tokens, server_p95, run in zip(args.sizes, tokens, server, runs):
                        head = f"{kind:<8} {tokenizer:<17} {size:>7,} {n_tokens:>7,} {server_p95:>10.1f}"
                        if not run["count"]:
                            print(f"{head} no keystroke painted within 30 s")
                            continue
                        here = sum(b == "browser" for b in run["by"]) / len(run["by"])
                        print(
                            f"{head} {statistics.median(run['echo']):>8.1f} {p95(run['echo']):>6.1f}"
                            f" {statistics.median(run['count']):>9.1f} {p95(run['count']):>6.1f}"
                            f" {statistics.median(run['chips']):>9.1f} {p95(run['chips']):>6.1f}"
                            f" {here:>7.0%} {verdict(size, run)}"
                            + (f" {p95(run['echo']) - base[kind, size]:>+16.1f}" if (kind, size) in base else "")
                            + (f"  ({run['lost']} keystrokes never painted)" if run["lost"] else "")
                            + rebuilt
                        )
                        if run["cost"]:
                            print(
                                f"{'':>8} counting in the page: p50 {statistics.median(run['cost']):.2f} ms,"
                                f" p95 {p95(run['cost']):.2f} ms per keystroke"
                            )
                    sys.stdout.flush()
            print(f"load average after: {os.getloadavg()[0]:.2f}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
