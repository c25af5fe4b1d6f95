"""``%finetune``: argument parsing and display only; the work is done by ``tokenlens.finetune``."""

from __future__ import annotations

from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from tokenlens.errors import TokenlensError
from tokenlens.magics._util import parse_args, wants_help

# flag → RunSpec field, for the options passed straight through
_SPEC_FIELDS = {
    "model": "model",
    "tokenizer": "tokenizer",
    "from_scratch": "from_scratch",
    "arch": "arch",
    "layers": "n_layer",
    "width": "n_embd",
    "heads": "n_head",
    "context": "context",
    "field": "text_field",
    "validation": "validation_split",
    "bad_rows": "bad_rows",
    "epochs": "epochs",
    "max_steps": "max_steps",
    "lr": "lr",
    "batch_size": "batch_size",
    "grad_accum": "grad_accum",
    "warmup": "warmup_ratio",
    "weight_decay": "weight_decay",
    "precision": "precision",
    "gradient_checkpointing": "gradient_checkpointing",
    "auto_batch_size": "auto_batch_size",
    "lora_r": "lora_r",
    "lora_alpha": "lora_alpha",
    "qlora": "qlora",
    "seed": "seed",
    "logging_steps": "logging_steps",
    "eval_steps": "eval_steps",
    "save_steps": "save_steps",
    "save_minutes": "save_minutes",
    "keep": "keep",
    "sample_prompt": "sample_prompt",
    "sample_tokens": "sample_tokens",
    "launcher": "launcher",
    "num_processes": "num_processes",
    "num_machines": "num_machines",
    "machine_rank": "machine_rank",
    "main_address": "main_address",
    "main_port": "main_port",
    "device": "device",
    "export": "export",
    "export_dtype": "export_dtype",
}


@magics_class
class FinetuneMagics(Magics):
    """``%finetune``."""

    @magic_arguments()
    @argument(
        "--model",
        help="hub id or local folder of a causal LM (safetensors; no remote code), a .gguf"
        " file or ollama:NAME[:TAG] (weights dequantised)",
    )
    @argument("--from-scratch", action="store_true", help="a new model sized to the tokenizer's vocabulary")
    @argument("--arch", default="gpt2", choices=["gpt2", "llama"], help="architecture with --from-scratch")
    @argument("--layers", type=int, default=4, help="layers of a from-scratch model")
    @argument("--width", type=int, default=256, help="hidden size of a from-scratch model")
    @argument("--heads", type=int, default=4, help="attention heads of a from-scratch model")
    @argument("--context", type=int, default=256, help="context length in tokens (block size)")
    @argument("--tokenizer", help="any tokenlens tokenizer name (a trained one too); default: the model's own")
    @argument("--add-tokens", help="comma-separated new tokens; the embeddings grow and the new rows train")
    @argument(
        "--data",
        action="append",
        metavar="PATH_OR_VAR",
        help=".txt/.jsonl files or globs (repeatable), or the name of a Python variable",
    )
    @argument("--field", default="text", help="JSONL field holding the text (default: text)")
    @argument("--validation", type=float, default=0.1, help="share held out for validation (default 0.1)")
    @argument("--no-packing", action="store_true", help="one row per sequence instead of packed blocks")
    @argument("--bad-rows", default="skip", choices=["skip", "fatal"], help="malformed rows: skip them or stop")
    @argument("--epochs", type=float, default=1.0)
    @argument("--max-steps", type=int, default=-1, help="stop after this many steps (overrides --epochs)")
    @argument("--lr", type=float, default=5e-5, help="learning rate")
    @argument("--batch-size", type=int, default=8, help="sequences per device per step")
    @argument("--grad-accum", type=int, default=1, help="gradient accumulation steps")
    @argument("--warmup", type=float, default=0.0, help="warm-up share of the steps")
    @argument("--weight-decay", type=float, default=0.0)
    @argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    @argument("--gradient-checkpointing", action="store_true")
    @argument("--auto-batch-size", action="store_true", help="halve the batch on out-of-memory")
    @argument("--lora-r", type=int, default=0, help="LoRA rank (0 = train all weights)")
    @argument("--lora-alpha", type=int, default=16)
    @argument("--lora-targets", help="comma-separated module names for LoRA (default: all linear layers)")
    @argument("--qlora", action="store_true", help="4-bit base weights (CUDA + bitsandbytes)")
    @argument("--seed", type=int, default=42)
    @argument("--logging-steps", type=int, default=1)
    @argument("--eval-steps", type=int, default=50)
    @argument("--save-steps", type=int, default=100, help="save a checkpoint every N steps")
    @argument("--save-minutes", type=float, default=30.0, help="and at least every N minutes")
    @argument("--keep", type=int, default=2, help="complete checkpoints kept")
    @argument("--sample-prompt", default="", help="prompt for the sample generation at each evaluation")
    @argument("--sample-tokens", type=int, default=24)
    @argument("--launcher", default="python", choices=["python", "accelerate", "torchrun"])
    @argument("--num-processes", type=int, default=1, help="processes (GPUs) per machine")
    @argument("--num-machines", type=int, default=1)
    @argument("--machine-rank", type=int, default=0)
    @argument("--main-address", default="", help="host of machine 0 for multi-node runs")
    @argument("--main-port", type=int, default=29500)
    @argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    @argument(
        "--export",
        default="",
        choices=["", "gguf"],
        help="at the end, also write final/model-<dtype>.gguf and an Ollama Modelfile",
    )
    @argument("--export-dtype", default="f16", choices=["f16", "q8_0", "f32"], help="GGUF weight type")
    @argument("--export-gguf", metavar="RUN", help="export a finished run (or model folder) to GGUF now")
    @argument("--out", help="with --export-gguf: the .gguf path or a folder (default: the run's final/)")
    @argument("--name", help="run name (folder under the runs directory)")
    @argument("--overwrite", action="store_true", help="replace an existing run of this name")
    @argument("--dry-run", action="store_true", help="report tokens, truncated rows and steps; start nothing")
    @argument("--print-command", action="store_true", help="print the launch command for a cluster scheduler")
    @argument("--attach", metavar="NAME", help="show the live view of an existing run")
    @argument("--resume", metavar="NAME", help="resume a stopped run from its newest complete checkpoint")
    @argument("--stop", metavar="NAME", help="ask a run to save and stop")
    @argument("--list", action="store_true", help="list runs")
    @line_magic
    def finetune(self, line: str):
        """Fine-tune (or pretrain from scratch) a small causal LM in a process of its own.

        Returns a ``tokenlens.finetune.Run`` that displays as a live view (Stop / Resume),
        or a ``DryRun`` report with ``--dry-run``.

        Examples::

            %finetune --model distilgpt2 --data data/train.jsonl --epochs 1 --lr 5e-5 --name my-run
            %finetune --from-scratch --tokenizer odia-bpe --data odia.txt --layers 2 --width 128 --name odia-tiny
            %finetune --attach my-run
            %finetune --model ollama:smollm2:135m --data chat.jsonl --max-steps 50 --export gguf --name tuned
            %finetune --export-gguf my-run --export-dtype q8_0
        """
        if wants_help(line):
            print(self.finetune.parser.format_help())
            return None
        args = parse_args(self.finetune, line)
        from tokenlens import finetune as ft

        try:
            if args.list:
                return [r.path.name for r in ft.list_runs()]
            if args.export_gguf:
                from tokenlens.gguf.export import export_gguf

                return export_gguf(args.export_gguf, out=args.out, dtype=args.export_dtype)
            if args.attach:
                return ft.attach(args.attach)
            if args.resume:
                return ft.attach(args.resume).resume()
            if args.stop:
                run = ft.attach(args.stop)
                run.stop()
                return run
            options = self._spec_options(args)
            data = self._data(args)
            if args.dry_run:
                return ft.dry_run(data, **options)
            if not args.name:
                raise UsageError("Name the run: --name my-run (its folder, and how --attach finds it again).")
            if args.print_command:
                print(ft.print_command(data, args.name, **options))
                return None
            return ft.finetune(data, args.name, overwrite=args.overwrite, **options)
        except TokenlensError as exc:
            raise UsageError(str(exc)) from None

    def _spec_options(self, args) -> dict:
        options = {field: getattr(args, flag) for flag, field in _SPEC_FIELDS.items()}
        options["packing"] = not args.no_packing
        options["add_tokens"] = [t for t in (args.add_tokens or "").split(",") if t]
        options["lora_targets"] = [t for t in (args.lora_targets or "").split(",") if t]
        return options

    def _data(self, args):
        if not args.data:
            raise UsageError("Name the training data: --data train.jsonl (files, globs) or --data my_variable.")
        ns = self.shell.user_ns
        if (
            len(args.data) == 1
            and args.data[0].isidentifier()
            and args.data[0] in ns
            and not Path(args.data[0]).exists()
        ):
            return ns[args.data[0]]
        return list(args.data)
