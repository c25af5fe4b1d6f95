"""Fine-tuning throughput: %finetune's trainer process against a plain transformers Trainer
script on the same config, side by side in one run; on a GPU also MFU, loss at equal tokens and
peak memory of each side (issue 19: %finetune's speed switches against the plain Trainer).

    .venv/bin/python benchmarks/bench_finetune.py --configs tiny --steps 60          # CPU
    python3 benchmarks/bench_finetune.py --configs gpt2-124m,llama-1b --steps 60     # GPU
    python3 benchmarks/bench_finetune.py --configs gpt2-124m,llama-1b --steps 60 --no-speed  # switches off
    .venv/bin/python benchmarks/bench_finetune.py --start 6                          # launch latency

Both sides train the same from-scratch model on the same synthetic text (random words of a
word-level vocabulary of the config's size, so one word is one token), with the same batch,
context, precision and logging interval. Throughput is measured between logging events after
warm-up (steps 20 to the end), so model loading and the first slow steps count for neither.
MFU = tokens/s × (6·N + 12·layers·width·context) / peak, with N the parameter count and peak
the H200's dense bf16 figure (989 TFLOP/s; 790 is what a large bf16 matmul reaches there).
Loss at equal tokens: the mean training loss of the last three logging steps of each side (both
see the same tokens per step; %finetune's packed attention leaves out only the first token of
each document from the loss). Peak memory: torch.cuda.max_memory_allocated of each process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = {
    # name: (arch, layers, width, heads, context, vocab, batch)
    "tiny": ("gpt2", 2, 128, 4, 128, 4096, 8),
    "gpt2-124m": ("gpt2", 12, 768, 12, 1024, 50257, 16),
    "llama-1b": ("llama", 16, 2048, 32, 2048, 32000, 8),
}
PEAK_BF16 = 989e12
LOG_EVERY = 10
WARMUP = 20


def make_tokenizer(folder: Path, vocab: int) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = {"<|endoftext|>": 0, "[UNK]": 1} | {f"w{i}": i for i in range(2, vocab)}
    tok = Tokenizer(models.WordLevel(words, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "eos_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>",
                "unk_token": "[UNK]",
            }
        )
    )


def make_text(path: Path, vocab: int, tokens: int) -> None:
    rng = random.Random(0)
    with open(path, "w") as f:
        for _ in range(tokens // 1000 + 1):
            f.write(" ".join(f"w{rng.randrange(2, vocab)}" for _ in range(1000)) + "\n")


BASELINE = r"""
import json, sys, time
from pathlib import Path
import torch
from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, GPT2Config,
                          LlamaConfig, Trainer, TrainerCallback, TrainingArguments, set_seed)
cfg = json.loads(sys.argv[1])
set_seed(42)
tok = AutoTokenizer.from_pretrained(cfg["tokenizer"])
ids = tok(Path(cfg["data"]).read_text().splitlines(), add_special_tokens=False)["input_ids"]
flat = [t for doc in ids for t in doc + [tok.eos_token_id]]
ctx = cfg["context"]
blocks = [flat[i:i + ctx] for i in range(0, len(flat) - ctx, ctx)]
class DS(torch.utils.data.Dataset):
    def __len__(self): return len(blocks)
    def __getitem__(self, i): return {"input_ids": blocks[i]}
common = dict(vocab_size=len(tok), bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
if cfg["arch"] == "gpt2":
    config = GPT2Config(n_positions=ctx, n_embd=cfg["width"], n_layer=cfg["layers"], n_head=cfg["heads"], **common)
else:
    config = LlamaConfig(hidden_size=cfg["width"], intermediate_size=int(cfg["width"] * 8 / 3 // 64 * 64),
                         num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"], num_key_value_heads=cfg["heads"],
                         max_position_embeddings=ctx, tie_word_embeddings=True, **common)
model = AutoModelForCausalLM.from_config(config)
times = []
losses = []
class Clock(TrainerCallback):
    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs: times.append((state.global_step, time.time())); losses.append(logs["loss"])
cuda = torch.cuda.is_available()
args = TrainingArguments(output_dir=cfg["out"], per_device_train_batch_size=cfg["batch"], max_steps=cfg["steps"],
                         learning_rate=3e-4, logging_steps=cfg["log_every"], save_strategy="no", report_to=[],
                         disable_tqdm=True, use_cpu=not cuda, bf16=cuda, dataloader_num_workers=0, seed=42)
Trainer(model=model, args=args, train_dataset=DS(), data_collator=DataCollatorForLanguageModeling(tok, mlm=False),
        callbacks=[Clock()]).train()
print("TIMES " + json.dumps(times))
print("LOSSES " + json.dumps(losses))
print("PEAK " + json.dumps(torch.cuda.max_memory_allocated() / 2**30 if cuda else None))
"""


def rate(times: list[tuple[int, float]], tokens_per_step: int) -> float:
    kept = [(s, t) for s, t in times if s >= WARMUP]
    (s0, t0), (s1, t1) = kept[0], kept[-1]
    return (s1 - s0) * tokens_per_step / (t1 - t0)


def bench(name: str, steps: int, work: Path, fast: bool = True) -> dict:
    import torch

    import tokenlens.finetune as ft
    from tokenlens.finetune.events import read_events

    arch, layers, width, heads, context, vocab, batch = CONFIGS[name]
    folder = work / name
    make_tokenizer(folder / "tok", vocab)
    make_text(folder / "train.txt", vocab, tokens=int(context * batch * (steps + 5) * 1.15))
    tokens_per_step = context * batch
    cfg = dict(
        tokenizer=str(folder / "tok"),
        data=str(folder / "train.txt"),
        context=context,
        batch=batch,
        steps=steps,
        arch=arch,
        layers=layers,
        width=width,
        heads=heads,
        out=str(folder / "plain"),
        log_every=LOG_EVERY,
    )
    out = subprocess.run([sys.executable, "-c", BASELINE, json.dumps(cfg)], capture_output=True, text=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("TIMES ")]
    if not line:
        raise SystemExit(f"baseline failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    plain = rate(json.loads(line[0][6:]), tokens_per_step)
    found = {
        x.split(" ", 1)[0]: json.loads(x.split(" ", 1)[1])
        for x in out.stdout.splitlines()
        if x.startswith(("LOSSES ", "PEAK "))
    }
    plain_loss = sum(found["LOSSES"][-3:]) / len(found["LOSSES"][-3:])
    switches = {} if fast else dict(compile=False, liger=False, batch_probe=False, packed_attention=False)

    run = ft.finetune(
        cfg["data"],
        f"bench-{name}",
        root=folder / "runs",
        tokenizer=cfg["tokenizer"],
        from_scratch=True,
        arch=arch,
        layers=layers,
        width=width,
        heads=heads,
        context=context,
        batch_size=batch,
        max_steps=steps,
        lr=3e-4,
        logging_steps=LOG_EVERY,
        validation=0,
        save_steps=10**9,
        save_minutes=0,
        sample_tokens=0,
        precision="bf16" if torch.cuda.is_available() else "fp32",
        **switches,
    )
    state = run.wait(timeout=3000)
    if state.status != "completed":
        raise SystemExit(f"%finetune run failed: {state.error}\n{run.log_tail(40)}")
    events = read_events(run.dir.events_file)[0]
    ours = rate([(e["step"], e["time"]) for e in events if e["event"] == "log"], tokens_per_step)
    start = next(e for e in events if e["event"] == "start")
    params = start["params"]
    logs = [e for e in events if e["event"] == "log" and e.get("loss") is not None]
    ours_loss = sum(e["loss"] for e in logs[-3:]) / len(logs[-3:])
    flops_per_token = 6 * params + 12 * layers * width * context
    result = {
        "config": name,
        "params": params,
        "context": context,
        "batch": batch,
        "steps": steps,
        "device": next(e for e in events if e["event"] == "start")["device"],
        "plain_tokens_per_s": round(plain),
        "finetune_tokens_per_s": round(ours),
        "overhead": round(plain / ours - 1, 4),
        "speedup": round(ours / plain, 3),
        "loss_plain": round(plain_loss, 4),
        "loss_finetune": round(ours_loss, 4),
        "loss_diff": round(ours_loss / plain_loss - 1, 4),
        "switches": start.get("speed"),
        "micro_batch": start.get("micro_batch"),
        "peak_gb_plain": found.get("PEAK"),
        "peak_gb_finetune": max((e["gpu_mem_gb"] for e in logs if e.get("gpu_mem_gb") is not None), default=None),
    }
    if torch.cuda.is_available():
        result["mfu_plain"] = round(plain * flops_per_token / PEAK_BF16, 4)
        result["mfu_finetune"] = round(ours * flops_per_token / PEAK_BF16, 4)
    return result


def start_latency(runs: int, folder: Path) -> dict:
    """Seconds from ``finetune()`` to its return (it waits for the trainer to hold its run's
    lock) and to the first logged step, for a 1-layer model; medians of ``runs`` launches after
    one warm-up launch (imports)."""
    import statistics

    import tokenlens.finetune as ft
    from tokenlens.finetune.events import read_events

    make_tokenizer(folder / "tok", 512)
    make_text(folder / "train.txt", 512, tokens=20_000)
    # a commit before the options were renamed (run with PYTHONPATH=/tmp/old) takes the old keywords
    renamed = hasattr(ft, "RunList")
    size = dict(layers=1, width=32, heads=2) if renamed else dict(n_layer=1, n_embd=32, n_head=2)
    returned, first_step = [], []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        run = ft.finetune(
            str(folder / "train.txt"), f"start-{i}", root=folder / "runs", tokenizer=str(folder / "tok"),
            from_scratch=True, context=32, batch_size=4, max_steps=3, eval_steps=1000, save_steps=1000,
            sample_tokens=0, device="cpu", **size,
        )  # fmt: skip
        t1 = time.perf_counter()
        while not any(e["event"] == "log" for e in read_events(run.dir.events_file)[0]):
            time.sleep(0.01)
        t2 = time.perf_counter()
        run.wait(timeout=600)
        if i:
            returned.append(t1 - t0)
            first_step.append(t2 - t0)
    r, f = statistics.median(returned), statistics.median(first_step)
    return {"runs": runs, "return_s": round(r, 3), "first_step_s": round(f, 3), "return_share": round(r / f, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="tiny")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--start", type=int, default=0, help="measure launch latency over N launches instead")
    parser.add_argument("--out")
    parser.add_argument("--no-speed", action="store_true", help="%%finetune with its speed switches off")
    args = parser.parse_args()
    if args.start:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(start_latency(args.start, Path(tmp))))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("TOKENLENS_RUNS", str(Path(tmp) / "runs"))
        for name in args.configs.split(","):
            t = time.time()
            res = bench(name, args.steps, Path(tmp), fast=not args.no_speed)
            res["wall_s"] = round(time.time() - t, 1)
            print(json.dumps(res), flush=True)
            results.append(res)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    print(
        "\n| config | params | device | plain Trainer tok/s | %finetune tok/s | ratio | MFU plain | MFU %finetune"
        " | loss plain | loss %finetune | peak GiB plain | peak GiB %finetune |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['config']} | {r['params'] / 1e6:.0f}M | {r['device']} | {r['plain_tokens_per_s']:,} | "
            f"{r['finetune_tokens_per_s']:,} | {r['speedup']:.2f}× | {r.get('mfu_plain', '—')} | {r.get('mfu_finetune', '—')}"
            f" | {r['loss_plain']} | {r['loss_finetune']} ({r['loss_diff'] * 100:+.1f}%) | {r['peak_gb_plain'] or '—'}"
            f" | {r['peak_gb_finetune'] or '—'} |"
        )


if __name__ == "__main__":
    main()
