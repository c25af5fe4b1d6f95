"""The speed switches of a run: which are on (``plan``), and the pieces that apply them.

On CUDA every switch is on by default (bf16, SDPA or flash-attention 2, ``torch.compile``, fused
AdamW, packing-aware attention, Liger kernels when installed, the micro-batch probe); on CPU a run
trains uncompiled in fp32 with SDPA, fused AdamW and packing-aware attention. Each one can be turned off from the spec, and the
``start`` event lists the switches as they were applied, with the reason for any that is off.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

#: dense bf16 peak FLOP/s of the GPUs MFU is reported for, by a part of the device name
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 70e12, "L4": 121e12}


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def plan(spec, cuda: bool) -> dict:
    """The switches this run uses: name → True/False or the attention kernel's name, and
    ``off`` (name → why it is off)."""
    off: dict[str, str] = {}
    switches: dict = {}
    if spec.attention == "auto":
        switches["attention"] = "flash_attention_2" if cuda and installed("flash_attn") else "sdpa"
    else:
        switches["attention"] = {"flash": "flash_attention_2"}.get(spec.attention, spec.attention)

    def switch(name: str, wanted: bool, flag: str, needs: str | None = None, cuda_only: bool = True) -> None:
        if not wanted:
            off[name] = f"{flag} given"
        elif cuda_only and not cuda:
            off[name] = "on CUDA only"
        elif needs and not installed(needs):
            off[name] = f"{needs} is not installed"
        switches[name] = name not in off

    switch("compile", spec.compile, "--no-compile")
    # PyTorch has a fused AdamW for the CPU too (and the Trainer's default is that one)
    switch("fused_adamw", spec.fused_adamw, "--no-fused-adamw", cuda_only=False)
    switch("liger", spec.liger, "--no-liger", "liger_kernel")
    switch("batch_probe", spec.batch_probe, "--no-batch-probe")
    switches["packed_attention"] = bool(spec.packing and spec.packed_attention)
    if spec.packing and not spec.packed_attention:
        off["packed_attention"] = "--no-packed-attention given"
    switches["off"] = off
    return switches


NAMES = {"compile": "torch.compile", "fused_adamw": "fused AdamW", "liger": "Liger kernels",
         "batch_probe": "micro-batch probe", "packed_attention": "packed attention"}  # fmt: skip


def describe(switches: dict | None) -> str:
    """The switches in words, for the views: ``sdpa attention · torch.compile · … (off: …)``."""
    if not switches:
        return ""
    on = [f"{switches.get('attention')} attention"] + [w for k, w in NAMES.items() if switches.get(k)]
    off = [f"{NAMES.get(k, k)}: {why}" for k, why in (switches.get("off") or {}).items()]
    return " · ".join(on) + (f" (off: {'; '.join(off)})" if off else "")


def check_attention(attention: str) -> None:
    """flash-attention 2 asked for by name must be there: a run does not quietly fall back."""
    if attention == "flash_attention_2" and not installed("flash_attn"):
        raise SystemExit(
            "--attention flash needs the flash-attn package (pip install flash-attn, CUDA only); use --attention sdpa."
        )


def training_args(switches: dict) -> dict:
    """The TrainingArguments the switches set (compilation is done here, not by the Trainer,
    so that a failure can fall back)."""
    return {
        "optim": "adamw_torch_fused" if switches["fused_adamw"] else "adamw_torch",
        "use_liger_kernel": switches["liger"],
    }


def flops_per_token(model, context: int) -> float:
    """Training FLOPs per token: 6 per parameter plus attention (12·layers·width·context)."""
    cfg = model.config
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", 0)
    width = getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", 0)
    params = sum(p.numel() for p in model.parameters())
    return 6 * params + 12 * layers * width * context


def peak_flops(device_name: str) -> float | None:
    for part, peak in PEAK_BF16.items():
        if part in device_name:
            return peak
    return None


class PackedCollator:
    """Packed blocks with position ids that restart at each document, so no document attends to
    another: the model builds a block-diagonal causal mask (SDPA, eager) or takes the varlen path
    (flash-attention 2) from them. The first token of each document has no label, as it would
    have none trained alone. A short last block is padded with a segment of its own."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids, pos, labels = [], [], []
        for r in rows:
            x, p = list(r["input_ids"]), list(r["position_ids"])
            lab = [-100 if q == 0 else t for t, q in zip(x, p)]
            pad = width - len(x)
            ids.append(x + [self.pad_id] * pad)
            pos.append(p + list(range(pad)))
            labels.append(lab + [-100] * pad)
        return {
            "input_ids": torch.tensor(ids),
            "position_ids": torch.tensor(pos),
            "labels": torch.tensor(labels),
            # a model with a key-value cache ignores the documents in the position ids
            "use_cache": False,
        }


def positions(block: list[int], eos_id: int | None) -> list[int]:
    """Position ids of a packed block: from 0, and from 0 again after each EOS. A document
    carried over from the block before starts at 0 too, as every block does without packing
    (a model's learned positions end at the context length)."""
    out, p = [], 0
    for t in block:
        out.append(p)
        p = 0 if t == eos_id else p + 1
    return out


def compile_model(model, batch: dict, say) -> bool:
    """Compile the model in place and run one step on ``batch`` to see that it works; on any
    failure undo it and say so in one line. Returns whether the model is compiled."""
    try:
        model.compile()
        model(**batch).loss.backward()
        model.zero_grad(set_to_none=True)
        return True
    except Exception as exc:  # compilation fails in many ways (no compiler, unsupported ops)
        model._compiled_call_impl = None  # nn.Module.compile's own slot: back to eager
        model.zero_grad(set_to_none=True)
        say(f"torch.compile failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); training uncompiled.")
        return False


def probe_batch(run_path: Path, total: int, fits) -> int:
    """The largest micro-batch that divides ``total`` sequences per step and for which ``fits(m)``
    holds (one forward and backward without running out of memory), found once per run and kept
    in ``batch_probe.json`` so a resumed run steps the same way."""
    saved = run_path / "batch_probe.json"
    if saved.is_file():
        kept = json.loads(saved.read_text())
        if kept.get("total") == total:
            return int(kept["micro_batch"])
    best = 1
    for m in sorted((d for d in range(1, total + 1) if total % d == 0), reverse=True):
        if fits(m):
            best = m
            break
    saved.write_text(json.dumps({"total": total, "micro_batch": best}))
    return best
