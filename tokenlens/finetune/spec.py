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


@dataclass
class RunSpec:
    """Everything the trainer process needs; saved as spec.json in the run folder."""

    name: str
    data: list[str] = field(default_factory=list)
    model: str | None = None
    tokenizer: str | None = None
    from_scratch: bool = False
    arch: str = "gpt2"  # with from_scratch: "gpt2" or "llama"
    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 4
    context: int = 256
    add_tokens: list[str] = field(default_factory=list)
    text_field: str = "text"
    validation_split: float = 0.1
    packing: bool = True
    bad_rows: str = "skip"  # or "fatal"
    epochs: float = 1.0
    max_steps: int = -1
    lr: float = 5e-5
    batch_size: int = 8
    grad_accum: int = 1
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    precision: str = "auto"  # auto | bf16 | fp16 | fp32
    gradient_checkpointing: bool = False
    auto_batch_size: bool = False
    lora_r: int = 0
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=list)
    qlora: bool = False
    seed: int = 42
    logging_steps: int = 1
    eval_steps: int = 50
    save_steps: int = 100
    save_minutes: float = 30.0
    keep: int = 2
    sample_prompt: str = ""
    sample_tokens: int = 24
    launcher: str = "python"  # python | accelerate | torchrun
    num_processes: int = 1
    num_machines: int = 1
    machine_rank: int = 0
    main_address: str = ""
    main_port: int = 29500
    device: str = "auto"  # auto | cpu | cuda
    export: str = ""  # "gguf": write final/model-<dtype>.gguf and an Ollama Modelfile at the end
    export_dtype: str = "f16"  # f16 | q8_0 | f32

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
        if self.n_embd % max(self.n_head, 1):
            raise InputError(f"--width {self.n_embd} must be a multiple of --heads {self.n_head}.")
        if self.launcher not in {"python", "accelerate", "torchrun"}:
            raise InputError(f"--launcher {self.launcher!r}: choose python, accelerate or torchrun.")
        if self.launcher == "python" and (self.num_processes > 1 or self.num_machines > 1):
            self.launcher = "accelerate"  # many processes need a real launcher
        if self.precision not in {"auto", "bf16", "fp16", "fp32"}:
            raise InputError(f"--precision {self.precision!r}: choose auto, bf16, fp16 or fp32.")
        if self.bad_rows not in {"skip", "fatal"}:
            raise InputError("--bad-rows must be skip or fatal.")
        if not 0 <= self.validation_split < 0.9:
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
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


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

    def complete_checkpoints(self) -> list[Path]:
        """Checkpoints whose COMPLETE marker was written after every file, oldest first."""
        if not self.checkpoints.is_dir():
            return []
        found = [p for p in self.checkpoints.glob("checkpoint-*") if (p / "COMPLETE").is_file()]
        return sorted(found, key=lambda p: int(p.name.rsplit("-", 1)[-1]))

    def latest_checkpoint(self) -> Path | None:
        done = self.complete_checkpoints()
        return done[-1] if done else None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
