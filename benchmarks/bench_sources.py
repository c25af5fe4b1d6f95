"""Reading a corpus file through tokenlens.sources against bare Python reading it, side by side.

What tokenlens adds to reading a file is the check before any work (one pass: binary, UTF-8,
lines) and the callers' bookkeeping (byte progress and stop for training, line-end stripping for
measuring). This measures that cost on its own, without any tokenizer:

- training: ``Corpus(files=FILE).batches()`` (check, then lines with their ends in batches of 64)
  against ``open(FILE, newline="\\n")`` iterated in batches of 64;
- measuring: ``as_texts(Path(FILE))`` then every text (check, count, then lines without their
  ends) against ``open(FILE).read().splitlines()``.

The corpus is every FLORES-200 file of ../shared/data/flores200 repeated to --mb megabytes, in a
temporary folder. Runs alternate (bare, ours, bare, ours, …) and the fastest of each is kept;
times are CPU seconds of this process (the reading is single-threaded), which a machine loaded by
other work disturbs far less than wall time.
Run from the repo root (PYTHONPATH=<an older tree> measures that tree's reading instead):

    .venv/bin/python benchmarks/bench_sources.py --mb 40 --repeats 3
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLORES = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "flores200"
sys.path.insert(0, os.environ.get("PYTHONPATH") or str(ROOT))

from tokenlens.vocab.corpus import Corpus  # noqa: E402

try:
    from tokenlens.sources.texts import as_texts
except ImportError:  # a tree from before tokenlens.sources
    from tokenlens.core.texts import as_texts


def make_corpus(folder: Path, megabytes: float) -> Path:
    one = b"".join(f.read_bytes() for f in sorted(FLORES.glob("*.dev*")))
    path = folder / "corpus.txt"
    with open(path, "wb") as out:
        for _ in range(max(1, int(megabytes * 1e6 / len(one)))):
            out.write(one)
    return path


def bare_training(path: Path) -> int:
    with open(path, encoding="utf-8", newline="\n") as f:
        return sum(len(b) for b in iter(lambda: list(itertools.islice(f, 64)), []))


def ours_training(path: Path) -> int:
    return sum(len(b) for b in Corpus(files=path).batches())


def bare_measuring(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def ours_measuring(path: Path) -> int:
    texts = as_texts(path)
    return sum(1 for _ in texts) if texts.n else 0


def best(fn, path: Path, runs: list[float]) -> int:
    start = time.process_time()
    n = fn(path)
    runs.append(time.process_time() - start)
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = make_corpus(Path(tmp), args.mb)
        size = path.stat().st_size / 1e6
        print(f"corpus: {size:.1f} MB, {as_texts(path).n:,} lines; tree: {Corpus.__module__} from {sys.path[0]}")
        print("| reading | bare CPU s | tokenlens CPU s | ratio |\n|---|---|---|---|")
        for name, bare, ours in (
            ("training (Corpus.batches)", bare_training, ours_training),
            ("measuring (as_texts)", bare_measuring, ours_measuring),
        ):
            times: dict[str, list[float]] = {"bare": [], "ours": []}
            for _ in range(args.repeats):
                n_bare = best(bare, path, times["bare"])
                n_ours = best(ours, path, times["ours"])
                assert n_bare == n_ours, (name, n_bare, n_ours)
            b, o = min(times["bare"]), min(times["ours"])
            print(f"| {name} | {b:.3f} | {o:.3f} | {o / b:.2f} |")


if __name__ == "__main__":
    main()
