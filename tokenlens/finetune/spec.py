"""What a fine-tuning run is: its settings (``RunSpec``) and its folder on disk (``RunDir``).

A run lives in a folder that both the kernel and the trainer process can read: the spec, the
launch command, ``events.jsonl`` (what the trainer reports), ``log.txt``, the checkpoints and the
final model. Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tokenlens.errors import InputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def runs_dir() -> Path:
    """Where runs are kept: ``TOKENLENS_RUNS``, else a folder beside the tokenizer registry."""
    env = os.environ.get("TOKENLENS_RUNS")
    if env:
        return Path(env).expanduser()
    from tokenlens.core.resolve import registry_dir

    return registry_dir().parent / "runs"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"{name!r} is not a usable run name: use letters, digits, '.', '_' and '-'"
            " (up to 100), starting with a letter or digit."
        )
    return name


def about(help: str, choices: tuple | None = None, group: str = "training") -> dict:
    """What marks a ``RunSpec`` field as an option: its help text, choices and help group."""
    return {"help": help, "choices": choices, "group": group}


def option(default, help: str, choices: tuple | None = None, group: str = "training"):
    """A setting of a run: a ``RunSpec`` field, the Python keyword of that name and the magic's
    ``--flag`` with dashes for underscores, one default and one help text for both."""
    return field(default=default, metadata=about(help, choices, group))


@dataclass
class RunSpec:
    """Everything the trainer process needs; saved as spec.json in the run folder.

    Every field but ``name`` and ``data`` is an option: ``finetune(..., batch_size=4)`` is
    ``%finetune --batch-size 4``.
    """

    name: str
    data: list[str] = field(default_factory=list)
    model: str | None = option(
        None,
        "hub id or local folder of a causal LM (safetensors; no remote code), a .gguf file or"
        " ollama:NAME[:TAG] (weights dequantised)",
        group="model",
    )
    tokenizer: str | None = option(
        None, "any tokenlens tokenizer name (a trained one too); default: the model's own", group="model"
    )
    from_scratch: bool = option(False, "a new model sized to the tokenizer's vocabulary", group="model")
    arch: str = option("gpt2", "architecture of a from-scratch model", ("gpt2", "llama"), group="model")
    layers: int = option(4, "layers of a from-scratch model", group="model")
    width: int = option(256, "hidden size of a from-scratch model", group="model")
    heads: int = option(4, "attention heads of a from-scratch model", group="model")
    context: int = option(256, "context length in tokens (block size)", group="model")
    add_tokens: list[str] = field(
        default_factory=list, metadata=about("new tokens; the embeddings grow and the new rows train", group="model")
    )
    text_field: str = option("text", "JSONL field holding the text", group="data")
    validation: float = option(0.1, "share of the rows held out for validation", group="data")
    packing: bool = option(True, "pack rows into full blocks (--no-packing: one row per sequence)", group="data")
    bad_rows: str = option("skip", "malformed rows: skip them or stop", ("skip", "fatal"), group="data")
    epochs: float = option(1.0, "passes over the training rows")
    max_steps: int = option(-1, "stop after this many steps (overrides epochs; -1: no limit)")
    lr: float = option(5e-5, "learning rate")
    batch_size: int = option(8, "sequences per device per step")
    grad_accum: int = option(1, "gradient accumulation steps")
    warmup: float = option(0.0, "warm-up share of the steps")
    weight_decay: float = option(0.0, "weight decay")
    precision: str = option("auto", "number format of training", ("auto", "bf16", "fp16", "fp32"))
    gradient_checkpointing: bool = option(False, "recompute activations to save memory")
    auto_batch_size: bool = option(False, "halve the batch on out-of-memory")
    seed: int = option(42, "random seed")
    lora_r: int = option(0, "LoRA rank (0 = train all weights)", group="lora")
    lora_alpha: int = option(16, "LoRA alpha", group="lora")
    lora_dropout: float = option(0.05, "LoRA dropout", group="lora")
    lora_targets: list[str] = field(
        default_factory=list, metadata=about("module names for LoRA (default: all linear layers)", group="lora")
    )
    qlora: bool = option(False, "4-bit base weights (CUDA + bitsandbytes)", group="lora")
    logging_steps: int = option(1, "log the loss every N steps", group="progress")
    eval_steps: int = option(50, "evaluate every N steps", group="progress")
    save_steps: int = option(100, "save a checkpoint every N steps", group="progress")
    save_minutes: float = option(30.0, "and at least every N minutes (0: only by steps)", group="progress")
    keep: int = option(2, "complete checkpoints kept (the newest is always kept)", group="progress")
    sample_prompt: str = option("", "prompt for the sample generation at each evaluation", group="progress")
    sample_tokens: int = option(24, "tokens generated for each sample (0: no samples)", group="progress")
    attention: str = option(
        "auto",
        "attention kernel (auto: flash-attention 2 on CUDA when installed, else PyTorch's SDPA)",
        ("auto", "eager", "sdpa", "flash"),
        group="speed",
    )
    compile: bool = option(True, "torch.compile the model on CUDA (falls back with a notice)", group="speed")
    fused_adamw: bool = option(True, "the fused AdamW kernel", group="speed")
    liger: bool = option(True, "Liger kernels on CUDA when liger-kernel is installed", group="speed")
    batch_probe: bool = option(
        True,
        "on CUDA, the largest micro-batch that fits, found once (batch-size x grad-accum sequences per step kept)",
        group="speed",
    )
    packed_attention: bool = option(
        True, "packed documents attend only to themselves (position ids restart per document)", group="speed"
    )
    launcher: str = option("python", "how the trainer starts", ("python", "accelerate", "torchrun"), group="launch")
    num_processes: int = option(1, "processes (GPUs) per machine", group="launch")
    num_machines: int = option(1, "machines", group="launch")
    machine_rank: int = option(0, "this machine's rank", group="launch")
    main_address: str = option("", "host of machine 0 for multi-node runs", group="launch")
    main_port: int = option(29500, "port of machine 0", group="launch")
    device: str = option("auto", "where to train", ("auto", "cpu", "cuda"), group="launch")
    export: str = option(
        "", "at the end, also write final/model-<dtype>.gguf and an Ollama Modelfile", ("", "gguf"), group="export"
    )
    export_dtype: str = option("f16", "GGUF weight type", ("f16", "q8_0", "f32"), group="export")

    def validate(self) -> RunSpec:
        check_name(self.name)
        if not self.data:
            raise InputError("Name the training data: --data file.txt (or .jsonl), a glob, or a Python variable.")
        if not self.from_scratch and not self.model:
            raise InputError("Give --model (a hub id or a local folder) or --from-scratch with a --tokenizer.")
        if self.from_scratch and not (self.tokenizer or self.model):
            raise InputError("--from-scratch needs --tokenizer NAME: the new model's vocabulary is its vocabulary.")
        if self.arch not in {"gpt2", "llama"}:
            raise InputError(f"--arch {self.arch!r}: choose gpt2 or llama.")
        if self.width % max(self.heads, 1):
            raise InputError(f"--width {self.width} must be a multiple of --heads {self.heads}.")
        if self.launcher not in {"python", "accelerate", "torchrun"}:
            raise InputError(f"--launcher {self.launcher!r}: choose python, accelerate or torchrun.")
        if self.launcher == "python" and (self.num_processes > 1 or self.num_machines > 1):
            self.launcher = "accelerate"  # many processes need a real launcher
        if self.precision not in {"auto", "bf16", "fp16", "fp32"}:
            raise InputError(f"--precision {self.precision!r}: choose auto, bf16, fp16 or fp32.")
        if self.attention not in {"auto", "eager", "sdpa", "flash"}:
            raise InputError(f"--attention {self.attention!r}: choose auto, eager, sdpa or flash.")
        if self.bad_rows not in {"skip", "fatal"}:
            raise InputError("--bad-rows must be skip or fatal.")
        if not 0 <= self.validation < 0.9:
            raise InputError("--validation must be a fraction between 0 and 0.9 (e.g. 0.1).")
        if self.context < 8:
            raise InputError("--context must be at least 8 tokens.")
        if self.export not in {"", "gguf"}:
            raise InputError(f"--export {self.export!r}: the only export format is gguf.")
        if self.export_dtype not in {"f16", "q8_0", "f32"}:
            raise InputError(f"--export-dtype {self.export_dtype!r}: choose f16, q8_0 or f32.")
        if self.num_machines > 1 and not self.main_address:
            raise InputError("Several machines need --main-address (the host of machine 0).")
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        raw = json.loads(text)
        # a run saved before the options were renamed keeps its settings
        raw = {RENAMED.get(k, k): v for k, v in raw.items()}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


#: keywords of the previous release, still taken (with a DeprecationWarning) until the next one
RENAMED = {
    "n_layer": "layers",
    "n_embd": "width",
    "n_head": "heads",
    "validation_split": "validation",
    "warmup_ratio": "warmup",
}


def options() -> list:
    """The ``RunSpec`` fields that are options, in the order the help lists them."""
    return [f for f in fields(RunSpec) if "help" in f.metadata]


def spec_options(given: dict) -> dict:
    """Keyword options checked against ``RunSpec``: old names renamed with a warning, unknown
    names refused with the close matches."""
    import difflib
    import warnings

    known = {f.name for f in options()}
    out = {}
    for key, value in given.items():
        if key in RENAMED:
            warnings.warn(
                f"finetune(..., {key}=) is now {RENAMED[key]}= (the --{RENAMED[key].replace('_', '-')} of"
                f" %finetune); {key}= goes in the next release.",
                DeprecationWarning,
                stacklevel=3,
            )
            key = RENAMED[key]
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=3)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise InputError(f"{key!r} is not an option of a run.{hint} The options: {', '.join(sorted(known))}.")
        out[key] = value
    return out


class RunDir:
    """The folder of one run and the files in it."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @classmethod
    def named(cls, name: str, root: Path | None = None) -> RunDir:
        return cls((root or runs_dir()) / check_name(name))

    spec_file = property(lambda self: self.path / "spec.json")
    events_file = property(lambda self: self.path / "events.jsonl")
    log_file = property(lambda self: self.path / "log.txt")
    command_file = property(lambda self: self.path / "command.txt")
    pid_file = property(lambda self: self.path / "pid")
    #: flock-ed by the trainer for its whole life (see lock.py)
    lock_file = property(lambda self: self.path / "lock")
    stop_file = property(lambda self: self.path / "STOP")
    checkpoints = property(lambda self: self.path / "checkpoints")
    final = property(lambda self: self.path / "final")
    data_dir = property(lambda self: self.path / "data")

    def exists(self) -> bool:
        return self.spec_file.is_file()

    def spec(self) -> RunSpec:
        try:
            return RunSpec.from_json(self.spec_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"No run at {self.path} (it has no spec.json).") from None

    def write_spec(self, spec: RunSpec) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.spec_file.with_suffix(".tmp")
        tmp.write_text(spec.to_json(), encoding="utf-8")
        os.replace(tmp, self.spec_file)

    def all_checkpoints(self) -> list[Path]:
        """Every checkpoint folder, complete or not, oldest (lowest step) first."""
        if not self.checkpoints.is_dir():
            return []
        found = [p for p in self.checkpoints.glob("checkpoint-*") if p.name[11:].isdigit() and p.is_dir()]
        return sorted(found, key=lambda p: int(p.name[11:]))

    def complete_checkpoints(self) -> list[Path]:
        """Checkpoints whose COMPLETE marker was written after every file, oldest first."""
        return [p for p in self.all_checkpoints() if (p / "COMPLETE").is_file()]

    def prune_checkpoints(self, keep: int) -> list[Path]:
        """Remove the complete checkpoints older than the newest ``keep`` (the newest one always
        stays) and every incomplete one, a save cut short, which can never be resumed from.

        Only the trainer calls this, holding the run's lock, between saves: no checkpoint is
        being written then."""
        complete = self.complete_checkpoints()
        drop = complete[: -max(keep, 1)] + [p for p in self.all_checkpoints() if p not in complete]
        for p in drop:
            shutil.rmtree(p, ignore_errors=True)
        return drop

    def latest_checkpoint(self) -> Path | None:
        done = self.complete_checkpoints()
        return done[-1] if done else None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
