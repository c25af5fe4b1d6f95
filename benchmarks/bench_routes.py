"""`POST /tokenlens/tokenize` latency while the heavy routes are saturated, against the same
server idle, side by side in one run.

A real Jupyter server (a subprocess, this checkout's code, or another tree's with ``--code``)
answers a panel-sized tokenize request (about 1,500 characters of FLORES-200, gpt2 and llama-2,
a fresh text each time so the answer cache never helps) one request after another. Rounds
alternate: idle, then with client threads keeping the heavy routes busy with 20,000-character
``/pipeline`` requests (bert-base-uncased, about 0.5 s of pure-Python work each) so every heavy
thread and queue place is taken and the extra requests are refused with 503. It prints p50/p95 of
each side and their ratio (busy / idle).

    python benchmarks/bench_routes.py                    # this checkout
    python benchmarks/bench_routes.py --code /tmp/before # another tree's server code, same load
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FLORES, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Jupyter server with the tokenlens extension, on a free port with a token."""

    def __init__(self, code: Path | None, options: list[str]):
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.dir = tempfile.TemporaryDirectory()
        env = dict(os.environ)
        if code is not None:
            env["PYTHONPATH"] = f"{code}{os.pathsep}{env.get('PYTHONPATH', '')}"
        command = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.dir.name}",
            "--ServerApp.jpserver_extensions={'jupyterlab_tokenlens': True}",
            *options,
        ]
        self.log = open(Path(self.dir.name) / "server.log", "w")
        # run from the empty folder, so the working directory's code never shadows ``code``
        self.process = subprocess.Popen(command, env=env, cwd=self.dir.name, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/api/status")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not start; see {self.log.name}")

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def panel_texts(n: int) -> list[str]:
    lines = []
    for lang in ("eng_Latn", "hin_Deva", "ory_Orya", "zho_Hans"):
        lines += (FLORES / f"{lang}.dev").read_text(encoding="utf-8").splitlines()[:40]
    paragraph = " ".join(lines)
    return [f"{i}: {paragraph[(i * 97) % 4000 : (i * 97) % 4000 + 1500]}" for i in range(n)]


def tokenize_latencies(server: Server, texts: list[str]) -> list[float]:
    out = []
    for text in texts:
        start = time.perf_counter()
        status, _ = server.request("POST", "/tokenlens/tokenize", {"text": text, "tokenizers": ["gpt2", "llama-2"]})
        out.append(time.perf_counter() - start)
        assert status == 200, status
    return out


class HeavyLoad:
    """Client threads that keep sending /pipeline requests until stopped; counts the answers."""

    def __init__(self, server: Server, threads: int):
        text = (FLORES / "eng_Latn.dev").read_text(encoding="utf-8")[:20_000]
        self.body = {"text": text, "tokenizer": "bert-base-uncased"}
        self.server, self.stop_event = server, threading.Event()
        self.answers: dict[int, int] = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self) -> None:
        while not self.stop_event.is_set():
            status, _ = self.server.request("POST", "/tokenlens/pipeline", self.body)
            with self.lock:
                self.answers[status] = self.answers.get(status, 0) + 1
            if status == 503:
                time.sleep(0.05)  # as a client honouring "try again shortly" would, a little

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(2.0)  # every heavy thread busy before measuring
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, help="a tree whose server code to run (default: this checkout)")
    parser.add_argument("--requests", type=int, default=60, help="tokenize requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load-threads", type=int, default=6, help="client threads sending /pipeline")
    parser.add_argument(
        "--option", action="append", default=[], help="a server option, e.g. --TokenLens.heavy_workers=2"
    )
    args = parser.parse_args()

    os.chdir(ROOT)
    # stopped (SIGTERM, a timeout), the benchmark still stops its server on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = Server(args.code, args.option)
    try:
        texts = panel_texts(args.requests * args.rounds * 2 + 5)
        tokenize_latencies(server, texts[:5])  # load the tokenizers
        idle, busy, answers = [], [], {}
        for r in range(args.rounds):
            at = 5 + 2 * r * args.requests
            idle += tokenize_latencies(server, texts[at : at + args.requests])
            with HeavyLoad(server, args.load_threads) as load:
                busy += tokenize_latencies(server, texts[at + args.requests : at + 2 * args.requests])
            for status, n in load.answers.items():
                answers[status] = answers.get(status, 0) + n
    finally:
        server.stop()

    print(f"server code: {args.code or ROOT}; {os.cpu_count()} CPUs; options: {' '.join(args.option) or 'defaults'}")
    print(f"{len(idle)} tokenize requests per side, {args.rounds} alternating rounds, {args.load_threads} load threads")
    print(f"/pipeline answers while busy: {dict(sorted(answers.items()))}")
    print(f"{'':10}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for label, values in (("idle", idle), ("busy", busy)):
        p50, p95 = percentile(values, 0.5) * 1e3, percentile(values, 0.95) * 1e3
        print(f"{label:10}{p50:10.1f}{p95:10.1f}{statistics.mean(values) * 1e3:10.1f}")
    print(
        f"{'ratio':10}{percentile(busy, 0.5) / percentile(idle, 0.5):10.2f}"
        f"{percentile(busy, 0.95) / percentile(idle, 0.95):10.2f}{statistics.mean(busy) / statistics.mean(idle):10.2f}"
    )


if __name__ == "__main__":
    main()
