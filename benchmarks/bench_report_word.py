"""The training report's word builder on long words and long texts, against building the whole word.

The report shows how a typed word is built merge by merge (``built_rows``). Each merge step reads
the whole word, so building a word of n symbols whole costs about n² (what the report did before
``LIMITS.report_word_chars``); the report now builds the first ``report_word_chars`` symbols of a
word and only the eight words it shows. This script times, side by side:

- *report*: ``built_rows(result, text)``, everything the view gets (rows of chips, note);
- *whole word*: ``build_steps`` over all the word's start symbols, the step builder alone, as the
  report ran it before (no chips made), for words up to ``--whole-max`` letters.

A word is a run of letters: the FLORES English sentences with everything but ASCII letters taken
out, cut to the length asked for. A text is ``" language"`` repeated. The tokenizer is byte-level
BPE, vocabulary 2,000, trained on FLORES English and Odia dev (the report's usual case).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_report_word.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("TOKENLENS_PATH", str(SHARED / "tokenizers"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENLENS_REGISTRY"] = tempfile.mkdtemp(prefix="bench-report-")
sys.path.insert(0, str(ROOT))

from tokenlens.views.train_report import built_rows  # noqa: E402
from tokenlens.vocab.merges import build_steps  # noqa: E402
from tokenlens.vocab.train import train_tokenizer  # noqa: E402


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--whole-max", type=int, default=4_000, help="longest word built whole (n² grows fast)")
    args = ap.parse_args()

    flores = SHARED / "flores200"
    lines = [line for lang in ("eng_Latn", "ory_Orya") for line in (flores / f"{lang}.dev").read_text().splitlines()]
    result = train_tokenizer(lines, name="bench-report", vocab_size=2000, progress=None)
    letters = "".join(ch for ch in " ".join(lines) if ch.isascii() and ch.isalpha())
    ranks = result._merge_ranks()
    vocab = result._vocab()

    print("| word (letters) | report ms | whole word ms | whole / report |")
    print("|---:|---:|---:|---:|")
    for n in (10, 100, 1_000, 4_000, 100_000):
        word = letters[:n]
        report = best_of(args.repeats, lambda w=word: built_rows(result, w))
        cell, ratio = "—", "—"
        if n <= args.whole_max:
            start = result._start_symbols(result._words(word, None)[0], vocab, None, None)
            whole = best_of(1, lambda s=start: build_steps(s, ranks))
            cell, ratio = f"{whole * 1e3:,.1f}", f"{whole / report:,.1f}"
        print(f"| {n:,} | {report * 1e3:,.1f} | {cell} | {ratio} |")

    print()
    print("| text (words) | report ms |")
    print("|---:|---:|")
    for n in (8, 10_000, 1_000_000):
        text = " language" * n
        print(f"| {n:,} | {best_of(args.repeats, lambda t=text: built_rows(result, t)) * 1e3:,.1f} |")


if __name__ == "__main__":
    main()
