"""Where `%train_tokenizer`'s time goes on a large corpus: reading, counting words, learning merges.

Two corpora of --mb megabytes are written to a temporary folder (never into the repo), both made
from every FLORES-200 file in ../shared/data/flores200:

- repeated: the files concatenated and repeated (about 50k distinct words whatever the size);
- varied: the same copies, but in each copy after the first a seeded 15% of the words get the
  tail of another FLORES word glued on, so the number of distinct words grows with the corpus as
  it does in real text (about 2M at 100 MB).

For each corpus and vocabulary size, `tokenlens.train_tokenizer(files=..., save=False)` runs in a
fresh process (its peak memory is its own), and the progress callback's phase changes split the
time into reading + counting words (the trainer pre-tokenizes and counts while tokenlens
streams the lines to it) and learning the merges (after the last line). A plain read of the
same files through tokenlens (no trainer) gives the share that is Python reading. The last rows
train on a --sample and on --max-lines of the varied corpus.

Run from the repo root:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_train_scale.py [--mb 100] [--vocab 8000,32000]

It prints one table; BENCHMARKS.md keeps the results and what they mean.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLORES = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "flores200"
WORD = re.compile(r"\S+")


def make_corpora(folder: Path, megabytes: float) -> tuple[Path, Path]:
    files = sorted(FLORES.glob("*.dev*"))
    if not files:
        sys.exit(f"No FLORES files in {FLORES}.")
    one = "".join(f.read_text(encoding="utf-8") for f in files)
    words = WORD.findall(one)
    target = int(megabytes * 1e6)
    repeated, varied = folder / "repeated.txt", folder / "varied.txt"
    rng = random.Random(0)
    with open(repeated, "w", encoding="utf-8") as rep, open(varied, "w", encoding="utf-8") as var:
        written, copy = 0, 0
        while written < target:
            rep.write(one)
            if copy == 0:
                var.write(one)
            else:

                def glue(m: re.Match) -> str:
                    if rng.random() >= 0.15:
                        return m.group(0)
                    other = words[rng.randrange(len(words))]
                    return m.group(0) + other[len(other) // 2 :]

                var.write(WORD.sub(glue, one))
            written += len(one.encode("utf-8"))
            copy += 1
    return repeated, varied


TRAIN = r"""
import json, resource, sys, time
from tokenlens.vocab.train import train_tokenizer
path, vocab, extra = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
changes = []
def progress(p):
    if not changes or changes[-1][0] != p.phase:
        changes.append((p.phase, p.elapsed))
t = time.perf_counter()
r = train_tokenizer(files=path, name="bench", vocab_size=vocab, save=False, progress=progress, **extra)
total = time.perf_counter() - t
at = dict(changes)
read_start = at.get("reading the corpus and counting words", 0.0)
learn_start = at.get("learning the vocabulary", read_start)
count_start = at.get("counting merge frequencies", learn_start)
print(json.dumps({"count": learn_start - read_start, "merges": count_start - learn_start,
                  "after": total - count_start, "total": total, "words": r.corpus["distinct_words"],
                  "lines": r.corpus["lines"], "vocab": r.vocab_size, "seen": r.corpus["seen"],
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

READ = r"""
import json, sys, time
from tokenlens.vocab.corpus import Corpus
c = Corpus(files=sys.argv[1])
c.check_files()  # timed apart in training too
t = time.perf_counter()
n = sum(len(b) for b in c.batches())
print(json.dumps({"read": time.perf_counter() - t, "lines": n}))
"""


def run(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENLENS_REGISTRY": tempfile.mkdtemp()}
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"a run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of each corpus in MB (default 100)")
    parser.add_argument("--vocab", default="8000,32000", help="vocabulary sizes (default 8000,32000)")
    parser.add_argument("--sample", type=int, default=100_000, help="lines of the --sample row (default 100000)")
    args = parser.parse_args()
    sizes = [int(v) for v in args.vocab.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        corpora = make_corpora(Path(tmp), args.mb)
        print(f"corpora of {args.mb:g} MB each in {tmp}", flush=True)
        print(
            "| corpus | vocab | lines trained | distinct words | read only s | read + count s | merges s |"
            " report s | total s | peak MB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for corpus in corpora:
            read = run(READ, str(corpus))["read"]
            rows = [(size, {}) for size in sizes]
            if corpus.name == "varied.txt":
                rows += [(sizes[-1], {"sample": args.sample}), (sizes[-1], {"max_lines": args.sample})]
            for size, extra in rows:
                r = run(TRAIN, str(corpus), str(size), json.dumps(extra))
                label = corpus.stem + "".join(f", {k.replace('_', '-')} {v:,}" for k, v in extra.items())
                print(
                    f"| {label} | {size:,} | {r['lines']:,} | {r['words']:,} | {read if not extra else float('nan'):.1f} |"
                    f" {r['count']:.1f} | {r['merges']:.1f} | {r['after']:.1f} | {r['total']:.1f} |"
                    f" {r['maxrss'] / 2**20:,.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
