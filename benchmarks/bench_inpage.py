"""The page's own tokenizing (src/lab/inpage/) against the Python engine, side by side: for each
shared tokenizer, the ids and spans of a text after one keystroke, in Chromium, and
``tokenlens.tokenize`` of the same text in this process, at 5,000 and 100,000 characters.

    TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python benchmarks/bench_inpage.py [--runs 9]

"first" is a fresh engine's first encode of the text (nothing remembered: a pasted text, another
cell); "keystroke" the same text edited near its end once the text's parts are remembered
(src/lab/inpage/parts.ts: the keystroke's own line is tokenized anew, the rest put together). What
the panel does with it: a text whose parts are not ready beyond 20,000 characters (summed over
tokenizers, src/lab/counting.ts COLD_CHARS) is made ready between frames and the server draws
that text's chips; a keystroke in a ready text counts in its own task and draws the chips once
its frame is painted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = ["gpt2", "cl100k_base", "o200k_base", "bert-base-uncased", "llama-2"]
LANGS = ["eng_Latn", "hin_Deva", "ory_Orya", "zho_Hans", "arb_Arab", "spa_Latn"]
SIZES = {"5k": 5_000, "100k": 100_000}

MEASURE = """async ([files, texts, runs]) => {
  const out = {};
  for (const f of files) {
    for (const [label, text] of Object.entries(texts)) {
      const engine = await TL.engineFor(f);
      const t = performance.now();
      engine.encode(text, true);  // a fresh engine: nothing remembered
      out[f.name + ' ' + label + ' first'] = performance.now() - t;
      const times = [];
      for (let k = 0; k < runs; k++) {
        const edited = text.slice(0, -20) + 'typing ' + k + text.slice(-20);
        const t0 = performance.now();
        if (engine.encode(edited, true) === null) throw new Error(f.name + ' declined ' + label);
        times.push(performance.now() - t0);
      }
      out[f.name + ' ' + label] = times;
    }
  }
  return out;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    import tokenlens
    from tests._harness import page_bundle
    from tests.test_browser import chromium_page
    from tests.test_inpage_browser import ENTRY
    from tokenlens.core.api import SERVER_SANDBOX
    from tokenlens.core.page_files import page_file, page_manifest

    js = page_bundle(ENTRY)
    flores = ROOT.parent / "shared" / "data" / "flores200"
    lines = [line for lang in LANGS for line in (flores / f"{lang}.devtest").read_text().splitlines()[:200]]
    mixed = "\n".join(lines)
    texts = {label: (mixed * (n // len(mixed) + 1))[:n] for label, n in SIZES.items()}
    files = [
        {
            "name": e["name"],
            "kind": e["kind"],
            "engine": tokenlens.load(e["name"]).kind,
            "text": page_file(e["name"], SERVER_SANDBOX)[0].decode(),
        }
        for e in page_manifest(NAMES, SERVER_SANDBOX)
    ]

    async def page_times() -> dict:
        async with chromium_page() as page:
            await page.set_content("<html><body></body></html>")
            await page.add_script_tag(content=js)
            return await page.evaluate(MEASURE, [files, texts, args.runs])

    page = asyncio.run(page_times())
    print(
        f"{'tokenizer':20s} {'text':>5s} {'page first':>11s} {'keystroke median':>17s} {'max':>8s}"
        f" {'python median':>14s} {'ratio':>6s}"
    )
    for name in NAMES:
        for label, text in texts.items():
            tokenlens.tokenize(text, name)
            py = []
            for k in range(args.runs):
                edited = text[:-20] + f"typing {k}" + text[-20:]
                t0 = time.perf_counter()
                tokenlens.tokenize(edited, name).span_array  # noqa: B018 - the spans made, as the page makes them
                py.append(1000 * (time.perf_counter() - t0))
            here = page[f"{name} {label}"]
            ratio = statistics.median(here) / statistics.median(py)
            print(
                f"{name:20s} {label:>5s} {page[f'{name} {label} first']:9.1f}ms {statistics.median(here):15.1f}ms"
                f" {max(here):6.1f}ms {statistics.median(py):12.1f}ms {ratio:5.1f}×"
            )


if __name__ == "__main__":
    main()
