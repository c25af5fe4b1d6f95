"""Encode overhead: tokenlens.tokenize() against each engine's own encode, side by side.

    TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python benchmarks/bench_encode.py [MB]

For each reference tokenizer, the same text (FLORES-200, all eight languages, repeated to MB
megabytes) is encoded by the bare engine (tiktoken's encode, tokenizers' encode with offsets,
sentencepiece's encode) and by tokenlens.tokenize (ids + character spans; display strings,
pieces and grapheme segments are computed on first use and timed separately as "view").
Each timing is the best of 3 runs. Prints a Markdown table of seconds and ratios.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import tokenlens

ROOT = Path(__file__).resolve().parents[1]
FLORES = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "flores200"
os.environ.setdefault("TOKENLENS_PATH", str(FLORES.parent / "tokenizers"))


def corpus(megabytes: float) -> str:
    parts = [p.read_text(encoding="utf-8") for p in sorted(FLORES.glob("*.dev*"))]
    text = "\n".join(parts)
    target = int(megabytes * 1_000_000)
    reps = target // len(text.encode()) + 1
    text = (text * reps).encode()[:target].decode("utf-8", errors="ignore")
    return text


def engine_encode(backend, text: str):
    if backend.kind == "tiktoken":
        return backend.encoding.encode(text, allowed_special="all")
    if backend.kind == "sentencepiece":
        return backend.sp.encode(text)
    return backend.tokenizer.encode(text)


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(megabytes: float = 10.0) -> None:
    text = corpus(megabytes)
    print(f"text: {len(text.encode()) / 1e6:.1f} MB, {len(text):,} characters\n")
    print("| tokenizer | tokens | engine encode (s) | tokenlens.tokenize (s) | ratio | view fields (s) |")
    print("|---|---|---|---|---|---|")
    for name in ["gpt2", "cl100k_base", "o200k_base", "llama-2", "bert-base-uncased"]:
        backend = tokenlens.load(name)
        tokenlens.tokenize("warm up the per-id tables", name)
        t_engine = best(lambda: engine_encode(backend, text))
        t_ours = best(lambda: tokenlens.tokenize(text, name))
        result = tokenlens.tokenize(text, name)
        t = time.perf_counter()
        result.tokens, result.pieces, result.special, result.segments  # noqa: B018
        t_view = time.perf_counter() - t
        print(f"| {name} | {len(result):,} | {t_engine:.2f} | {t_ours:.2f} | {t_ours / t_engine:.2f}× | {t_view:.2f} |")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
