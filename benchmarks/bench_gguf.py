"""GGUF tokenizers without merges: the merge list from scores, and loading, side by side.

    TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python benchmarks/bench_gguf.py [--repeats N]

``merges_from_scores`` (two sorted prefix/suffix stacks) against the textbook definition it
replaced (every cut of every piece, both halves sliced and looked up), on the same vocabularies:

- Llama 2's 32,000 pieces and scores, written as llama.cpp's converter writes them;
- ``a``, ``aa``, …, ``a``×600: every cut is a split (179,700 merges), the output itself is large;
- 300 pieces of ``a``×1000 followed by a distinct tail, with ``a``…``a``×1000 in the vocabulary
  (unused pieces, so never merged themselves): long chains of prefixes but no split, where the
  textbook one cuts and looks up a million characters a piece.

Then loading: Llama 2 as that GGUF file against its SentencePiece ``tokenizer.model``, and the
issue's file (``a``…``a``×1000, 509 KB) from the start of the read to its refusal by
``gguf_merge_chars``. Each contender runs ``--repeats`` rounds; the best CPU time and peak
Python memory (tracemalloc) are shown, and the ratios new / old.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKENIZERS = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "tokenizers"
os.environ.setdefault("TOKENLENS_PATH", str(TOKENIZERS))
sys.path.insert(0, str(ROOT))

from tests.test_gguf_fuzz import _write, slow_merges_from_scores  # noqa: E402
from tokenlens.backends import open_path  # noqa: E402
from tokenlens.backends.gguf_backend import GGUFTokenizer, merges_from_scores, read_tokenizer  # noqa: E402
from tokenlens.core.limits import configure  # noqa: E402
from tokenlens.errors import TokenizerFileError  # noqa: E402


def llama2_gguf(folder: Path) -> Path:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZERS / "llama-2" / "tokenizer.model"))
    n = sp.get_piece_size()
    types = [
        2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else 6 if sp.is_byte(i) else 1
        for i in range(n)
    ]
    kv = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": [sp.id_to_piece(i) for i in range(n)],
        "tokenizer.ggml.scores": [sp.get_score(i) for i in range(n)],
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0,
    }
    return _write(folder / "llama2.gguf", "llama", kv)


def measure(fn, repeats: int) -> tuple[float, int]:
    """Best CPU seconds of this process (the work is single-threaded; CPU time stays steady when
    other processes share the machine), and the peak of Python allocations in one run."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def row(label: str, new: tuple[float, int], old: tuple[float, int]) -> None:
    print(
        f"| {label} | {new[0]:.3f} s, {new[1] / 2**20:.1f} MiB | {old[0]:.3f} s, {old[1] / 2**20:.1f} MiB"
        f" | {new[0] / old[0]:.2f} | {new[1] / old[1]:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configure(gguf_merge_chars=10**10)  # the vocabularies below are measured, not refused
    with tempfile.TemporaryDirectory() as tmp:
        llama = read_tokenizer(llama2_gguf(Path(tmp)))
        same = ["a" * n for n in range(1, 601)]
        tails = ["a" * n for n in range(1, 1001)] + [f"{'a' * 1000}{i:03d}" for i in range(300)]
        unused = [5] * 1000 + [1] * 300  # the runs of a are parts only, never merged themselves
        vocabularies = {
            "Llama 2 (32,000 pieces)": llama,
            "a … a×600": GGUFTokenizer("a.gguf", "llama", same, scores=[-float(n) for n in range(600)]),
            "300 × (a×1000 + tail)": GGUFTokenizer(
                "t.gguf", "llama", tails, scores=[0.0] * len(tails), token_types=unused
            ),
        }
        print("| merges from scores | new | textbook | time new/old | memory new/old |")
        print("|---|---|---|---|---|")
        for label, info in vocabularies.items():
            assert merges_from_scores(info) == slow_merges_from_scores(info), label
            row(
                label,
                measure(lambda i=info: merges_from_scores(i), args.repeats),
                measure(lambda i=info: slow_merges_from_scores(i), args.repeats),
            )

        print()
        print("| loading | time | peak Python memory |")
        print("|---|---|---|")
        configure(gguf_merge_chars=32_000_000)
        gguf = Path(tmp) / "llama2.gguf"
        for label, path in (("Llama 2 as GGUF", gguf), ("Llama 2 tokenizer.model", TOKENIZERS / "llama-2")):
            t, peak = measure(lambda p=path: open_path("x", p), args.repeats)
            print(f"| {label} | {t:.3f} s | {peak / 2**20:.1f} MiB |")
        issue = _write(
            Path(tmp) / "aaa.gguf",
            "llama",
            {
                "tokenizer.ggml.model": "llama",
                "tokenizer.ggml.tokens": ["a" * n for n in range(1, 1001)],
                "tokenizer.ggml.scores": [-float(n) for n in range(1, 1001)],
            },
        )

        def refuse() -> None:
            try:
                open_path("aaa", issue)
            except TokenizerFileError:
                return
            raise AssertionError("the issue's file loaded")

        t, peak = measure(refuse, args.repeats)
        print(
            f"| the issue's a…a×1000 ({issue.stat().st_size / 1000:.0f} KB), refused | {t:.3f} s | {peak / 2**20:.1f} MiB |"
        )


if __name__ == "__main__":
    main()
