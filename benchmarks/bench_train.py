"""%train_tokenizer against the bare `tokenizers` trainer and SentencePiece, on the same corpus.

The corpus is every FLORES-200 file in ../shared/data/flores200 (8 languages, dev + devtest,
about 4 MB) repeated to --mb megabytes, written to a temporary folder (never into the repo).
Each contender runs in a fresh Python process, so its peak memory (ru_maxrss) is its own:

- magic: `%train_tokenizer FILE --name … --vocab-size N` in an IPython shell, i.e. the magic's
  whole code path (file check, streaming, training, merge-frequency counting, report data,
  atomic save);
- bare: `Tokenizer.train([FILE], BpeTrainer(...))` with the same byte-level BPE pipeline, then
  `tokenizer.save`;
- sentencepiece: `SentencePieceTrainer.train(model_type="bpe", vocab_size=N)` on the same file.

Run from the repo root:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_train.py [--mb 80] [--vocab-size 8000] [--repeat 1]

It prints one table; BENCHMARKS.md keeps the results and what they mean.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLORES = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "flores200"


def make_corpus(folder: Path, megabytes: float) -> Path:
    """All FLORES files, concatenated and repeated until the corpus reaches ``megabytes``."""
    files = sorted(FLORES.glob("*.dev*"))
    if not files:
        sys.exit(f"No FLORES files in {FLORES}.")
    one = b"".join(f.read_bytes() for f in files)
    target = int(megabytes * 1e6)
    path = folder / "corpus.txt"
    with open(path, "wb") as out:
        written = 0
        while written < target:
            out.write(one)
            written += len(one)
    return path


# -- the contenders, each run in its own process ------------------------------------------------
MAGIC = r"""
import json, resource, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell("%load_ext tokenlens")
t, cpu0 = time.perf_counter(), sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
result = shell.run_cell(f"%train_tokenizer {sys.argv[1]} --name bench --vocab-size {sys.argv[2]} --no-progress --overwrite")
seconds = time.perf_counter() - t
if not result.success:
    sys.exit(str(result.error_in_exec))
r = result.result
print(json.dumps({"seconds": seconds, "phases": r.seconds, "vocab": r.vocab_size, "merges": len(r.merges),
                  "rss_start": r.memory["rss_start"],
                  "tokenizer_json": str(r.path / "tokenizer.json"),
                  "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0,
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

BARE = r"""
import json, resource, sys, time, os
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
t, cpu0 = time.perf_counter(), sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.post_processor = processors.ByteLevel(trim_offsets=False)
trainer = trainers.BpeTrainer(vocab_size=int(sys.argv[2]), show_progress=False, special_tokens=["<|endoftext|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train([sys.argv[1]], trainer)
out = os.path.join(sys.argv[3], "bare-tokenizer.json")
tok.save(out)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "vocab": tok.get_vocab_size(), "tokenizer_json": out,
                  "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0,
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

SENTENCEPIECE = r"""
import json, resource, sys, time, os
import sentencepiece as spm
t, cpu0 = time.perf_counter(), sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
spm.SentencePieceTrainer.train(input=sys.argv[1], model_prefix=os.path.join(sys.argv[3], "sp"), model_type="bpe",
                               vocab_size=int(sys.argv[2]), character_coverage=1.0, byte_fallback=True,
                               num_threads=os.cpu_count() or 1, minloglevel=2)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "vocab": int(sys.argv[2]),
                  "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0,
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def run(code: str, corpus: Path, vocab: int, work: Path, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, str(corpus), str(vocab), str(work)],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(f"a contender failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=80.0, help="corpus size in MB (default 80)")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of the magic and the bare trainer (the best is kept)"
    )
    parser.add_argument("--no-sentencepiece", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tokenlens-bench-") as tmp:
        work = Path(tmp)
        corpus = make_corpus(work, args.mb)
        size = corpus.stat().st_size
        env = {
            **os.environ,
            "TOKENLENS_REGISTRY": str(work / "registry"),
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
        }
        lines = corpus.read_bytes().count(b"\n")
        print(
            f"corpus: {size / 1e6:.1f} MB ({lines:,} lines) of FLORES-200, "
            f"8 languages repeated; vocab {args.vocab_size}; {os.cpu_count()} CPUs"
        )
        results: dict[str, list[dict]] = {"bare": [], "magic": []}
        for _ in range(args.repeat):  # alternate, so a busy moment does not hit only one
            results["bare"].append(run(BARE, corpus, args.vocab_size, work, env))
            results["magic"].append(run(MAGIC, corpus, args.vocab_size, work, env))
        if not args.no_sentencepiece:
            results["sentencepiece"] = [run(SENTENCEPIECE, corpus, args.vocab_size, work, env)]
        # CPU time (all threads, timed part only) is steadier than wall time on a shared machine.
        best = {k: min(v, key=lambda r: r["seconds"]) for k, v in results.items()}

        same = json.loads(Path(best["bare"]["tokenizer_json"]).read_text()) == json.loads(
            Path(best["magic"]["tokenizer_json"]).read_text()
        )
        bare, magic = best["bare"], best["magic"]
        phases = magic["phases"]
        count = phases.get("count", 0.0)
        print(f"same tokenizer.json from the magic and the bare trainer: {same}")
        print(f"{'contender':<14}{'wall s':>8}{'vs bare':>9}{'CPU s':>8}{'vs bare':>9}{'peak MB':>9}{'vs bare':>9}")
        for name, r in best.items():
            print(
                f"{name:<14}{r['seconds']:>8.1f}{r['seconds'] / bare['seconds']:>9.2f}"
                f"{r['cpu']:>8.1f}{r['cpu'] / bare['cpu']:>9.2f}"
                f"{r['maxrss'] / 2**20:>9.0f}{r['maxrss'] / bare['maxrss']:>9.2f}"
            )
        print(
            f"the magic's process held {magic['rss_start'] / 2**20:.0f} MB before training (IPython, tokenlens);"
            f" training added {(magic['maxrss'] - magic['rss_start']) / 2**20:.0f} MB"
            f" (bare: {bare['maxrss'] / 2**20:.0f} MB in all)"
        )
        print(
            "magic phases (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
            + f"; merges counted: {magic['merges']:,}"
        )
        overhead = magic["seconds"] / bare["seconds"] - 1
        without = (magic["seconds"] - count) / bare["seconds"] - 1
        print(
            f"overhead of the magic over the bare trainer: {overhead:+.1%} wall, "
            f"{magic['cpu'] / bare['cpu'] - 1:+.1%} CPU "
            f"({without:+.1%} wall without counting merge frequencies, which took {count:.1f} s)"
        )
        if len(results["bare"]) > 1:
            print(
                "all runs (s): "
                + "; ".join(f"{k}: " + ", ".join(f"{r['seconds']:.1f}" for r in v) for k, v in results.items())
            )


if __name__ == "__main__":
    main()
