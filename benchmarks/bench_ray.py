"""tokenlens.stats on Parquet in-process against the same call through a local Ray, side by side.

The corpus is FLORES-200 (dev + devtest, every language in ../shared/data/flores200) repeated to
the size asked (UTF-8 bytes of text), one sentence per row of a ``text`` column, written to
``--files`` Parquet files in ``--dir`` (under /tmp, never in the repository; kept and reused
while its size and file count match). Each side runs in a fresh process:

- in-process: ``stats(Path(dir / "*.parquet"), tokenizer)`` (the engine's own threads);
- Ray: the same call with ``engine="ray"`` on a local Ray of ``--workers`` CPUs started by the
  script, whose workers read the files and measure blocks; the driver merges the tallies.

Both results must be equal field by field (the script fails otherwise). For memory, a thread
samples every second the proportional set size (PSS: shared pages, such as Ray's object store,
counted once) of the side's process and every process under it, which for the Ray side is Ray
itself (GCS, raylet) and its worker processes; the peak of that sum is reported, and the
driver's own peak RSS beside it. Ray's start and a first tiny call (worker processes importing
tokenlens) are timed apart ("start s"), not in the Ray side's wall time. Last, the Ray side's per-core rate gives what one more
machine would add on paper.

    python benchmarks/bench_ray.py                     # 1 GB, GPT-2, 2 workers
    python benchmarks/bench_ray.py --gb 0.05 --files 2 # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("TOKENLENS_PATH", str(SHARED / "tokenizers"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(ROOT))

ROWS_PER_GROUP = 65_536


def generate(folder: Path, gigabytes: float, files: int) -> dict:
    """FLORES lines repeated to ``gigabytes`` of text in ``files`` Parquet files (reused when there)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    marker = folder / "corpus.json"
    want = {"bytes": int(gigabytes * 1e9), "files": files}
    if marker.exists() and {k: v for k, v in json.loads(marker.read_text()).items() if k in want} == want:
        return json.loads(marker.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    lines = []
    for path in sorted((SHARED / "flores200").glob("*.dev*")):
        lines += path.read_text(encoding="utf-8").splitlines()
    sizes = [len(t.encode("utf-8")) for t in lines]
    per_file = want["bytes"] // files
    rows = 0
    i = 0
    for f in range(files):
        writer = pq.ParquetWriter(folder / f"part-{f:03d}.parquet", pa.schema([("text", pa.string())]))
        size, group = 0, []
        while size < per_file:
            group.append(lines[i % len(lines)])
            size += sizes[i % len(lines)]
            i += 1
            if len(group) == ROWS_PER_GROUP or size >= per_file:
                writer.write_table(pa.table({"text": group}))
                rows += len(group)
                group = []
        writer.close()
    info = {**want, "rows": rows, "disk_bytes": sum(p.stat().st_size for p in folder.glob("*.parquet"))}
    marker.write_text(json.dumps(info))
    return info


class PeakMemory:
    """The peak, over samples every ``every`` seconds, of the PSS summed over this process and
    its descendants, and of this process's own RSS."""

    def __init__(self, every: float = 1.0):
        import psutil

        self.me = psutil.Process()
        self.every = every
        self.peak_tree = 0
        self.peak_self = 0
        self.processes = 1
        #: CPU seconds the sampling itself took (not the side's work)
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            tree = [self.me, *self.me.children(recursive=True)]
            total = 0
            for p in tree:
                try:
                    total += p.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self.peak_tree = max(self.peak_tree, total)
            self.peak_self = max(self.peak_self, self.me.memory_info().rss)
            self.processes = max(self.processes, len(tree))
            self.cpu = time.thread_time()
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def side(args) -> None:
    """One side, in this (fresh) process; prints one JSON line."""
    import resource

    import tokenlens

    corpus = Path(args.dir) / "*.parquet"
    startup = 0.0
    with PeakMemory() as memory:
        if args.side == "ray":
            import ray

            start = time.perf_counter()
            store = {"object_store_memory": args.object_store_mb * 1024 * 1024} if args.object_store_mb else {}
            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, **store)
            ray.data.DataContext.get_current().enable_progress_bars = False
            # Ray's start and first call (worker processes importing tokenlens), timed apart
            tokenlens.stats(["a first call starts the workers"] * 64, args.tokenizer, engine="ray")
            startup = time.perf_counter() - start
        cpu0 = time.process_time()
        start = time.perf_counter()
        result = tokenlens.stats(corpus, args.tokenizer, engine=args.side, progress=False)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0 - memory.cpu
        if args.side == "ray":
            ray.shutdown()
    out = result.to_dict()
    print(
        json.dumps(
            {
                "side": args.side,
                "wall": wall,
                "startup": startup,
                "driver_cpu": cpu,
                "peak_tree": memory.peak_tree,
                "peak_driver": max(memory.peak_self, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
                "processes": memory.processes,
                "stats": out,
            }
        )
    )


def run_side(name: str, args) -> dict:
    cmd = [sys.executable, __file__, "--side", name, "--dir", args.dir, "--tokenizer", args.tokenizer]
    cmd += ["--workers", str(args.workers), "--object-store-mb", str(args.object_store_mb)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the {name} side failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=1.0, help="gigabytes of text (UTF-8)")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--dir", default="/tmp/tokenlens-bench-ray")
    parser.add_argument("--tokenizer", default="gpt2")
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument(
        "--object-store-mb", type=int, default=0, help="the local Ray's object store (0: Ray's default, 30%% of RAM)"
    )
    parser.add_argument("--side", choices=["local", "ray"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side(args)
        return

    info = generate(Path(args.dir), args.gb, args.files)
    mb = info["bytes"] / 1e6
    print(
        f"{mb:,.0f} MB of text, {info['rows']:,} rows in {info['files']} Parquet files"
        f" ({info['disk_bytes'] / 1e6:,.0f} MB on disk, {args.dir}); {args.tokenizer};"
        f" {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
    )
    local = run_side("local", args)
    ray_side = run_side("ray", args)
    same = local["stats"] == ray_side["stats"]
    print(
        f"{'side':<28} {'wall s':>8} {'MB/s':>7} {'driver cpu s':>13} {'peak MB (all)':>14} {'driver MB':>10} {'start s':>8}"
    )
    store = f", store {args.object_store_mb} MB" if args.object_store_mb else ""
    for r, name in ((local, "in-process"), (ray_side, f"Ray, {args.workers} workers{store}")):
        print(
            f"{name:<28} {r['wall']:>8.1f} {mb / r['wall']:>7.2f} {r['driver_cpu']:>13.1f}"
            f" {r['peak_tree'] / 1e6:>14,.0f} {r['peak_driver'] / 1e6:>10,.0f} {r['startup']:>8.1f}"
        )
    print(
        f"ratio Ray / in-process: wall {ray_side['wall'] / local['wall']:.2f}×,"
        f" peak memory {ray_side['peak_tree'] / local['peak_tree']:.2f}×"
        f" ({ray_side['processes']} processes on the Ray side)"
    )
    print(f"results equal field by field: {same} ({local['stats']['n_tokens']:,} tokens)")
    per_core = mb / ray_side["wall"] / args.workers
    merge = ray_side["driver_cpu"] / mb  # the driver's CPU seconds per MB: what does not spread
    print(
        f"on paper: {per_core:.2f} MB/s per worker core; one more {args.workers}-core machine adds"
        f" {per_core * args.workers:.2f} MB/s ({mb / (per_core * args.workers * 2):,.0f} s for this corpus"
        f" on two such machines), until the driver's share, {merge * 1000:.1f} ms of CPU per MB"
        f" ({1 / merge if merge else float('inf'):,.0f} MB/s on one core), is the limit"
    )
    if not same:
        for key, value in local["stats"].items():
            if ray_side["stats"].get(key) != value:
                print(f"  differs: {key}: in-process {value!r}, Ray {ray_side['stats'].get(key)!r}")
        sys.exit(1)


if __name__ == "__main__":
    main()
