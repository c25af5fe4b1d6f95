"""``tokenlens.stats`` on Parquet corpora of 1× and 4× the size: peak memory must not grow.

The corpora are every FLORES-200 file of ../shared/data/flores200, its lines shuffled (seeded) and
repeated to ``--mb`` megabytes of UTF-8 text (1×) and 4 × ``--mb`` (4×), written once to a
folder under /tmp (``--folder``; never the repository) as uncompressed Parquet without dictionary
encoding, so a file on disk is as large as its text, in row groups of 65,536 rows. Each
measurement runs in a fresh Python process that reports its own peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and its wall time:

- ``stream``: ``stats(Path(FILE), tokenizer)``, read a record batch at a time;
- ``list``: the same texts read into a Python list first (``pq.read_table(...).to_pylist()``),
  then ``stats(list, tokenizer)``: what holding a corpus in memory costs, for comparison (1× only).

A thread samples the resident memory every second; the peak of each quarter of the run shows
whether memory levels off (streaming) or climbs with the texts read.

Run from the repo root (the default takes some minutes on 2 cores):

    .venv/bin/python benchmarks/bench_streaming.py --mb 256 --tokenizer gpt2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLORES = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "flores200"
ROW_GROUP = 65_536


def make_parquet(path: Path, megabytes: float, seed: int = 0) -> dict:
    """Write FLORES lines, shuffled and repeated, to ``megabytes`` MB of text in one Parquet
    file (column ``text``); returns its rows and text bytes. Written once, reused after."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return json.loads(meta.read_text())
    lines = [t for f in sorted(FLORES.glob("*.dev*")) for t in f.read_text(encoding="utf-8").splitlines() if t]
    sizes = np.array([len(t.encode("utf-8")) for t in lines])
    rng = np.random.default_rng(seed)
    target, written, rows = int(megabytes * 1e6), 0, 0
    tmp = path.with_suffix(".partial")
    schema = pa.schema([("text", pa.string())])
    with pq.ParquetWriter(tmp, schema, compression="none", use_dictionary=False) as writer:
        while written < target:
            order = rng.permutation(len(lines))
            keep = order[: int(np.searchsorted(np.cumsum(sizes[order]), target - written, side="right")) + 1]
            for start in range(0, len(keep), ROW_GROUP):
                part = keep[start : start + ROW_GROUP]
                writer.write_table(pa.table({"text": [lines[i] for i in part]}, schema=schema))
            written += int(sizes[keep].sum())
            rows += len(keep)
    tmp.rename(path)
    info = {"rows": rows, "text_bytes": written, "file_bytes": path.stat().st_size}
    meta.write_text(json.dumps(info))
    return info


CHILD = r"""
import json, resource, sys, threading, time
from pathlib import Path
import tokenlens
mode, path, tokenizer = sys.argv[1:4]
tokenlens.load(tokenizer)
samples = []  # (seconds, resident MiB) every second: whether memory levels off or keeps growing
def sample():
    while True:
        with open("/proc/self/statm") as f:
            samples.append((time.perf_counter() - start, int(f.read().split()[1]) * 4096 / 2**20))
        time.sleep(1)
start = time.perf_counter()
threading.Thread(target=sample, daemon=True).start()
if mode == "list":
    import pyarrow.parquet as pq
    texts = pq.read_table(path, columns=["text"]).column("text").to_pylist()
else:
    texts = Path(path)
s = tokenlens.stats(texts, tokenizer, progress=False)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
quarters = [max((m for t, m in samples if q * seconds / 4 <= t < (q + 1) * seconds / 4), default=0) for q in range(4)]
print(json.dumps({"texts": s.n_texts, "tokens": s.n_tokens, "seconds": seconds, "peak_rss": rss,
                  "kept_counts": s.token_counts is not None, "rss_by_quarter_mib": quarters}))
"""


def run(mode: str, path: Path, tokenizer: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), tokenizer], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=256, help="megabytes of text at 1× (4× is four times that)")
    parser.add_argument("--tokenizer", default="gpt2")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/tokenlens-bench-streaming"))
    parser.add_argument("--runs", default="stream1,stream4,list1", help="which runs, e.g. stream4 (list: 1× only)")
    args = parser.parse_args()
    if ROOT in args.folder.resolve().parents:
        parser.error("write the corpora outside the repository (e.g. /tmp)")
    args.folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for scale in (1, 4):
        t = time.perf_counter()
        path = args.folder / f"flores-{args.mb:g}mb-x{scale}.parquet"
        made[scale] = (path, make_parquet(path, args.mb * scale, seed=scale))
        print(f"{path}: {made[scale][1]} ({time.perf_counter() - t:.0f} s)", flush=True)
    results = []
    runs = [(r[:-1], int(r[-1])) for r in args.runs.split(",")]
    for mode, scale in runs:
        path, info = made[scale]
        r = run(mode, path, args.tokenizer) | {"mode": mode, "scale": scale} | info
        results.append(r)
        print(
            f"{mode:6} {scale}×  {info['text_bytes'] / 1e6:8.0f} MB text  {r['texts']:>11,} texts"
            f"  {r['tokens']:>13,} tokens  {r['seconds']:7.1f} s  {r['text_bytes'] / 1e6 / r['seconds']:5.1f} MB/s"
            f"  peak RSS {r['peak_rss'] / 2**20:7.0f} MiB  by quarter of the run:"
            f" {' '.join(f'{m:.0f}' for m in r['rss_by_quarter_mib'])} MiB  per-text counts kept: {r['kept_counts']}",
            flush=True,
        )
    peak = {(r["mode"], r["scale"]): r["peak_rss"] for r in results}
    if ("stream", 1) in peak and ("stream", 4) in peak:
        print(f"peak RSS 4× / 1× (stream): {peak['stream', 4] / peak['stream', 1]:.3f}")
    if ("stream", 1) in peak and ("list", 1) in peak:
        print(f"peak RSS list / stream at 1×: {peak['list', 1] / peak['stream', 1]:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
