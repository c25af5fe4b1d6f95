"""tokenlens.stats against the bare batch encode of each engine, side by side, in one run.

The bare batch encode is the engine's own multi-threaded call on the whole list of texts
(tiktoken ``encode_ordinary_batch``, Hugging Face ``encode_batch``, sentencepiece
``encode(list, num_threads=…, return_type="numpy")``), ids only, with the same number of
threads as ``stats``.
For Hugging Face it also times ``encode_batch_fast``, which skips offsets (and so cannot
attribute tokens to words): the ratio against it is printed too. ``stats``
does that encoding in batches and measures everything (words, fertility, split words,
unknown / byte-fallback / partial shares, per-text counts) on top.

The text is FLORES-200 (dev + devtest, all eight languages of ../shared/data/flores200),
repeated to the size asked for, one sentence per text. Runs alternate (bare, stats, bare,
stats, …) and the fastest of each is kept, so load from other processes hits both alike.

    python benchmarks/bench_metrics.py --mb 100                  # all three engines
    python benchmarks/bench_metrics.py --mb 20 --tokenizers gpt2 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("TOKENLENS_PATH", str(SHARED / "tokenizers"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(ROOT))

import tokenlens  # noqa: E402
from tokenlens.backends.batch import default_threads  # noqa: E402


def corpus(megabytes: float) -> list[str]:
    lines: list[str] = []
    for path in sorted((SHARED / "flores200").glob("*.dev*")):
        lines += path.read_text(encoding="utf-8").splitlines()
    size = sum(len(t.encode("utf-8")) for t in lines)
    target = int(megabytes * 1e6)
    out: list[str] = []
    total = 0
    while total < target:
        for line in lines:
            out.append(line)
            total += len(line.encode("utf-8"))
            if total >= target:
                break
    assert size > 0
    return out


def bare(backend, texts: list[str], threads: int) -> int:
    """The engine's own batch encode of all texts, ids only: the floor for any measurement."""
    if backend.kind == "tiktoken":
        ids = backend.encoding.encode_ordinary_batch(texts, num_threads=threads)
    elif backend.kind == "sentencepiece":
        try:  # numpy buffers: faster than lists of ints, so the stricter floor
            ids = backend.sp.encode(texts, num_threads=threads, return_type="numpy")
        except (TypeError, ValueError):
            ids = backend.sp.encode(texts, num_threads=threads)
    else:
        ids = [e.ids for e in backend.tokenizer.encode_batch(texts, add_special_tokens=False)]
    return sum(map(len, ids))


def bare_fast(backend, texts: list[str]) -> int:
    """Hugging Face's encode_batch_fast: no offsets at all (so no word attribution possible)."""
    return sum(len(e.ids) for e in backend.tokenizer.encode_batch_fast(texts, add_special_tokens=False))


def timed(fn) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of the whole process, all threads, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=100.0, help="megabytes of UTF-8 text (default 100)")
    parser.add_argument("--tokenizers", nargs="+", default=["gpt2", "llama-2", "bert-base-uncased"])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side; the fastest counts")
    parser.add_argument("--threads", type=int, default=default_threads())
    args = parser.parse_args()

    texts = corpus(args.mb)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    print(
        f"{nbytes / 1e6:.1f} MB, {len(texts):,} texts, {args.threads} threads, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print("wall: seconds on the clock; cpu: seconds of CPU used by all threads (steadier when")
    print("other processes share the machine). Fastest of the runs; ratio = stats / bare;")
    print("med: the ratio of the medians of the runs (less swayed by one lucky run on a busy box).")
    print(
        f"{'tokenizer':<22}{'tokens':>12}{'bare wall':>10}{'stats wall':>11}{'ratio':>7}"
        f"{'bare cpu':>10}{'stats cpu':>10}{'ratio':>7}{'MB/s':>7}{'wall med':>9}{'cpu med':>8}"
    )

    def row(label, tokens, bare_runs, stats_runs):
        bare_t = [min(r[k] for r in bare_runs) for k in (0, 1)]
        stats_t = [min(r[k] for r in stats_runs) for k in (0, 1)]
        med = [statistics.median(r[k] for r in stats_runs) / statistics.median(r[k] for r in bare_runs) for k in (0, 1)]
        print(
            f"{label:<22}{tokens:>12}{bare_t[0]:>10.2f}{stats_t[0]:>11.2f}{stats_t[0] / bare_t[0]:>7.3f}"
            f"{bare_t[1]:>10.2f}{stats_t[1]:>10.2f}{stats_t[1] / bare_t[1]:>7.3f}"
            f"{nbytes / 1e6 / stats_t[0]:>7.2f}{med[0]:>9.3f}{med[1]:>8.3f}",
            flush=True,
        )

    for name in args.tokenizers:
        backend = tokenlens.load(name)
        backend.token_table()  # built once per tokenizer and cached, as in a session
        runs_bare, runs_stats, runs_fast = [], [], []
        n_bare = n_stats = 0
        is_hf = backend.kind == "hf" and hasattr(backend.tokenizer, "encode_batch_fast")
        for _ in range(args.repeats):
            wall, cpu, n_bare = timed(lambda: bare(backend, texts, args.threads))
            runs_bare.append((wall, cpu))
            wall, cpu, result = timed(lambda: tokenlens.stats(texts, backend, num_threads=args.threads, progress=False))
            runs_stats.append((wall, cpu))
            n_stats = result.n_tokens
            if is_hf:
                wall, cpu, _ = timed(lambda: bare_fast(backend, texts))
                runs_fast.append((wall, cpu))
        assert n_bare == n_stats, (name, n_bare, n_stats)
        row(name, f"{n_stats:,}", runs_bare, runs_stats)
        if is_hf:
            row("  vs encode_batch_fast", "", runs_fast, runs_stats)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
