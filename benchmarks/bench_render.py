"""Render time of the token view in Chromium: virtualised (the renderer) vs naive (all at once).

Payloads are real tokenizer output on FLORES-200 text (English with Hindi, Odia, Chinese and
Arabic lines mixed in, so byte groups and wide characters occur), cut to 10k, 100k and 250k
GPT-2 tokens; the compare case is the 250k text under GPT-2, BERT and Llama 2 (aligned view).

Modes: "virtual" is the renderer; "naive" draws every token at once (the same chips, no
virtualisation); "plain" is the bare text in the same scroller, no tokens: the floor this
machine and browser set.

For each case and mode: first paint (render call to the frame that shows it), DOM nodes,
then two scrolls through it: "wheel" (120 frames of 100 px, a brisk mouse-wheel scroll) and
"fling" (60 frames of one viewport each, like dragging the scrollbar), each with its frames
over 50 ms, p95 and worst frame (and for the wheel its median frame and the share of frames
that kept 60 fps, at most 20 ms); and a jump to the end (is the last token drawn, how long).

Run from the repo root after `jlpm build:widget`:
    TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python benchmarks/bench_render.py [--quick]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import CHROMIUM, FLAGS, ROOT, flores_mix  # also sets TOKENLENS_PATH and HF_HUB_OFFLINE


def corpus(chars: int) -> str:
    """FLORES lines, four English to one other language, repeated up to `chars` characters."""
    english, others = flores_mix()
    lines, k = [], 0
    while sum(map(len, lines)) + len(lines) < chars:
        lines.append(english[k % len(english)])
        if k % 4 == 3:
            lines.append(others[(k // 4) % len(others)][k % len(others[0])])
        k += 1
    return "\n".join(lines)


def prefix_with_tokens(text: str, n: int, tokenizer: str = "gpt2") -> str:
    import tokenlens

    t = tokenlens.tokenize(text, tokenizer)
    if len(t) < n:
        raise SystemExit(f"corpus too short: {len(t)} tokens < {n}")
    return text[: t.spans[n - 1][1]]


def payloads(out: Path, sizes: list[int], compare: bool) -> dict[str, dict]:
    import tokenlens

    text = corpus(int(max(sizes) * 4.2) + 10_000)
    cases = {}
    for n in sizes:
        part = prefix_with_tokens(text, n)
        result = tokenlens.tokenize(part, "gpt2").to_dict()
        name = f"gpt2-{n // 1000}k"
        (out / f"{name}.json").write_text(json.dumps({"results": [result]}, ensure_ascii=False))
        cases[name] = {"tokens": result["n_tokens"], "chars": result["n_chars"], "layout": "stacked"}
    if compare:
        n = max(sizes)
        part = prefix_with_tokens(text, n)
        results = [tokenlens.tokenize(part, t).to_dict() for t in ("gpt2", "bert-base-uncased", "llama-2")]
        name = f"compare3-{n // 1000}k"
        (out / f"{name}.json").write_text(json.dumps({"results": results}, ensure_ascii=False))
        cases[name] = {
            "tokens": "/".join(str(r["n_tokens"]) for r in results),
            "chars": results[0]["n_chars"],
            "layout": "aligned",
        }
    return cases


class Handler(http.server.SimpleHTTPRequestHandler):
    """The repo root, plus /payloads/ from the temporary folder."""

    payload_dir: Path = Path(".")

    def translate_path(self, path: str) -> str:
        if path.startswith("/payloads/"):
            return str(self.payload_dir / Path(path.split("?")[0]).name)
        return super().translate_path(path)

    def log_message(self, *args) -> None:
        pass


def run(cases: dict[str, dict], payload_dir: Path, modes: list[str], naive_limit: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    Handler.payload_dir = payload_dir
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/ui-tests/harness/bench.html"
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for name, info in cases.items():
            for mode in modes:
                tokens = info["tokens"] if isinstance(info["tokens"], int) else int(str(info["tokens"]).split("/")[0])
                if mode == "naive" and (tokens > naive_limit or info["layout"] == "aligned"):
                    rows.append({"case": name, "mode": mode, "skipped": True, **info})
                    continue
                if mode == "plain" and info["layout"] == "aligned":
                    continue
                page = browser.new_page(viewport={"width": 800, "height": 900})
                page.set_default_timeout(300_000)
                page.goto(f"{base}?payload=/payloads/{name}.json&mode={mode}&layout={info['layout']}")
                page.wait_for_selector("body[data-ready='true']", state="attached", timeout=60_000)
                t = time.monotonic()
                first = page.evaluate("firstPaint()")
                wall = (time.monotonic() - t) * 1000
                wheel = page.evaluate("scrollTest(120, 100)")
                fling = page.evaluate("scrollTest(60, 1)")
                jump = page.evaluate("jumpToEnd()")
                rows.append(
                    {
                        "case": name,
                        "mode": mode,
                        **info,
                        "first_paint_ms": round(first["paint"]),
                        "script_ms": round(first["script"]),
                        "wall_ms": round(wall),
                        "nodes": first["nodes"],
                        "wheel_over50": wheel["over50"],
                        "wheel_p95_ms": round(wheel["p95"], 1),
                        "wheel_p50_ms": round(wheel["p50"], 1),
                        "wheel_60fps": wheel["smooth"],
                        "wheel_max_ms": round(wheel["max"]),
                        "fling_over50": fling["over50"],
                        "fling_p95_ms": round(fling["p95"], 1),
                        "fling_max_ms": round(fling["max"]),
                        "nodes_after_scroll": fling["nodes"],
                        "end_ms": None if jump["ms"] is None else round(jump["ms"]),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
                page.close()
        browser.close()
    server.shutdown()
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| case | tokens | mode | first paint ms | DOM nodes | wheel: frames >50 ms of 120, p95 / worst ms "
        "| wheel: median ms, frames at 60 fps | fling: frames >50 ms of 60, p95 / worst ms | jump to end ms |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        if r.get("skipped"):
            lines.append(f"| {r['case']} | {r['tokens']} | {r['mode']} | not run (minutes) | | | | | |")
            continue
        lines.append(
            f"| {r['case']} | {r['tokens']} | {r['mode']} | {r['first_paint_ms']} | {r['nodes']:,} "
            f"| {r['wheel_over50']}, {r['wheel_p95_ms']} / {r['wheel_max_ms']} "
            f"| {r['wheel_p50_ms']}, {r['wheel_60fps'] / 120:.0%} "
            f"| {r['fling_over50']}, {r['fling_p95_ms']} / {r['fling_max_ms']} | {r['end_ms']} |"
        )
    return "\n".join(lines)


def ratios(rows: list[dict]) -> str:
    out = []
    by = {(r["case"], r["mode"]): r for r in rows if not r.get("skipped")}
    for (case, mode), r in by.items():
        naive = by.get((case, "naive"))
        if mode == "virtual" and naive:
            out.append(
                f"- {case}: first paint {naive['first_paint_ms'] / max(1, r['first_paint_ms']):.0f}× faster "
                f"than naive ({r['first_paint_ms']} vs {naive['first_paint_ms']} ms), "
                f"{naive['nodes'] / max(1, r['nodes']):.0f}× fewer DOM nodes"
            )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only, no compare case")
    parser.add_argument(
        "--naive-limit", type=int, default=300_000, help="skip the naive renderer above this many tokens"
    )
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 250_000]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
        t = time.monotonic()
        cases = payloads(tmp_path, sizes, compare=not args.quick)
        print(f"payloads ready in {time.monotonic() - t:.1f} s: {cases}", file=sys.stderr)
        rows = run(cases, tmp_path, ["virtual", "naive", "plain"], args.naive_limit)
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(table(rows))
    print()
    print(ratios(rows))


if __name__ == "__main__":
    main()
