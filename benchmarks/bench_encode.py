"""Encode overhead: tokenlens.tokenize() against each engine's own encode, side by side.

    TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python benchmarks/bench_encode.py [MB] [--repeats N] [--tokenizers ...]

For each reference tokenizer, the same text (FLORES-200, all eight languages, repeated to MB
megabytes, one text) is encoded by tokenlens.tokenize (ids + character span of every token;
display strings, pieces and grapheme segments are computed on first use and timed separately
as "view") and by the engine itself, in its best way of each kind:

- ids only: tiktoken ``encode_to_numpy``; sentencepiece ``encode(return_type="numpy")``;
  Hugging Face ``encode_batch_fast`` over the text cut after newlines (about 16k characters a
  piece, the engine's threads share them; it computes no offsets);
- with offsets: tiktoken has no such call (its tokens tile the bytes; "-"); sentencepiece
  ``encode(return_type="offset_mapping")`` (ids, pieces and character offsets); Hugging Face
  the faster of ``encode(text)`` (one thread) and ``encode_batch`` over the same newline pieces.

The contenders run in turn, ``--repeats`` rounds; each prints the fastest run and the median, in
wall seconds and in CPU seconds of the whole process (all threads; steadier when other
processes share the machine). Ratios are tokenize / engine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLORES = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "flores200"
os.environ.setdefault("TOKENLENS_PATH", str(FLORES.parent / "tokenizers"))

import tokenlens  # noqa: E402

CHUNK_CHARS = 16_384


def corpus(megabytes: float) -> str:
    parts = [p.read_text(encoding="utf-8") for p in sorted(FLORES.glob("*.dev*"))]
    text = "\n".join(parts)
    target = int(megabytes * 1_000_000)
    reps = target // len(text.encode()) + 1
    return (text * reps).encode()[:target].decode("utf-8", errors="ignore")


def line_chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    chunks, pos = [], 0
    while pos < len(text):
        cut = text.find("\n", pos + size)
        cut = len(text) if cut < 0 else cut + 1
        chunks.append(text[pos:cut])
        pos = cut
    return chunks


def contenders(backend, text: str) -> dict:
    """name → (kind, function): the engine's own calls on ``text``."""
    if backend.kind == "tiktoken":
        enc = backend.encoding
        return {"ids only": lambda: enc.encode_to_numpy(text, allowed_special="all")}
    if backend.kind == "sentencepiece":
        sp = backend.sp
        return {
            "ids only": lambda: sp.encode(text, return_type="numpy"),
            "with offsets": lambda: sp.encode(text, return_type="offset_mapping"),
        }
    tok = backend.tokenizer
    chunks = line_chunks(text)
    return {
        "ids only": lambda: tok.encode_batch_fast(chunks, add_special_tokens=False),
        "with offsets (one encode)": lambda: tok.encode(text),
        "with offsets (encode_batch)": lambda: tok.encode_batch(chunks, add_special_tokens=False),
    }


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mb", nargs="?", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--tokenizers", nargs="+", default=["gpt2", "cl100k_base", "o200k_base", "llama-2", "bert-base-uncased"]
    )
    args = parser.parse_args()
    text = corpus(args.mb)
    print(
        f"text: {len(text.encode()) / 1e6:.1f} MB, {len(text):,} characters; {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.2f}; best of {args.repeats} (median in brackets)\n"
    )
    print(
        "| tokenizer | tokens | engine call | engine wall s | tokenize wall s | ratio wall | engine CPU s"
        " | tokenize CPU s | ratio CPU | view fields s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.tokenizers:
        backend = tokenlens.load(name)
        tokenlens.tokenize("warm up the per-id tables", name)
        calls = contenders(backend, text)
        calls["tokenize"] = lambda: tokenlens.tokenize(text, name)
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in calls}
        for _ in range(args.repeats):
            for k, fn in calls.items():
                runs[k].append(timed(fn))
        result = tokenlens.tokenize(text, name)
        t = time.perf_counter()
        result.tokens, result.pieces, result.special, result.segments  # noqa: B018
        t_view = time.perf_counter() - t

        def best(k, i):
            return min(r[i] for r in runs[k])

        def med(k, i):
            return statistics.median(r[i] for r in runs[k])

        ours = "tokenize"
        for k in calls:
            if k == ours:
                continue
            print(
                f"| {name} | {len(result):,} | {k} "
                f"| {best(k, 0):.2f} ({med(k, 0):.2f}) | {best(ours, 0):.2f} ({med(ours, 0):.2f}) "
                f"| {best(ours, 0) / best(k, 0):.2f}× ({med(ours, 0) / med(k, 0):.2f}×) "
                f"| {best(k, 1):.2f} ({med(k, 1):.2f}) | {best(ours, 1):.2f} ({med(ours, 1):.2f}) "
                f"| {best(ours, 1) / best(k, 1):.2f}× ({med(ours, 1) / med(k, 1):.2f}×) | {t_view:.1f} |",
                flush=True,
            )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
