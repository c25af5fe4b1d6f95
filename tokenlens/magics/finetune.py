"""``%finetune``: argument parsing and display only; the work is done by ``tokenlens.finetune``."""

from __future__ import annotations

import argparse
from dataclasses import MISSING
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments

from tokenlens.errors import TokenlensError
from tokenlens.finetune.spec import options as ft_options
from tokenlens.magics._util import parse_args, wants_help


def _flag(f) -> argument:
    """The ``--flag`` of a ``RunSpec`` option: same name with dashes, same default, same help.

    Unset flags are left out of the parsed arguments, so the defaults stay ``RunSpec``'s own.
    """
    meta, flag = f.metadata, "--" + f.name.replace("_", "-")
    default = [] if f.default is MISSING else f.default
    quiet = isinstance(default, bool) or default in ("", None, [])
    shown = meta["help"] if quiet else f"{meta['help']} (default: {default!r})"
    common = {"dest": f.name, "default": argparse.SUPPRESS, "help": shown}
    if f.type in ("bool", bool):
        if default:  # on unless --no-<flag>
            return argument(flag, action=argparse.BooleanOptionalAction, **common)
        return argument(flag, action="store_true", **common)
    if f.type in ("list[str]", list):
        return argument(flag, type=lambda v: [t for t in v.split(",") if t], metavar="A,B", **common)
    kind = {"int": int, "float": float}.get(f.type if isinstance(f.type, str) else f.type.__name__, str)
    if meta.get("choices"):
        common["choices"] = list(meta["choices"])
    return argument(flag, type=kind, **common)


def spec_arguments(func):
    """The magic's flags for every ``RunSpec`` option, grouped as the help lists them."""
    decorators = []
    group = None
    for f in ft_options():
        if f.metadata["group"] != group:
            group = f.metadata["group"]
            decorators.append(argument_group(f"{group} options"))
        decorators.append(_flag(f))
    for deco in reversed(decorators):  # decorators apply bottom-up
        func = deco(func)
    return func


@magics_class
class FinetuneMagics(Magics):
    """``%finetune``."""

    @magic_arguments()
    @argument(
        "--data",
        action="append",
        metavar="PATH_OR_VAR",
        help=".txt/.jsonl files or globs (repeatable), or the name of a Python variable",
    )
    @argument("--name", help="run name (folder under the runs directory)")
    @argument("--overwrite", action="store_true", help="replace an existing run of this name once the new one starts")
    @argument("--dry-run", action="store_true", help="report tokens, truncated rows and steps; start nothing")
    @argument("--print-command", action="store_true", help="print the launch command for a cluster scheduler")
    @argument("--attach", metavar="NAME", help="show the live view of an existing run")
    @argument("--resume", metavar="NAME", help="resume a stopped or killed run from its newest complete checkpoint")
    @argument("--stop", metavar="NAME", help="ask a run to save and stop")
    @argument("--list", action="store_true", help="list runs with their states")
    @argument("--export-gguf", metavar="RUN", help="export a finished run (or model folder) to GGUF now")
    @argument("--out", help="with --export-gguf: the .gguf path or a folder (default: the run's final/)")
    @spec_arguments
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
                return ft.list_runs()
            if args.export_gguf:
                from tokenlens.gguf.export import export_gguf

                dtype = {"dtype": args.export_dtype} if hasattr(args, "export_dtype") else {}
                return export_gguf(args.export_gguf, out=args.out, **dtype)
            if args.attach:
                return ft.attach(args.attach)
            if args.resume:
                return ft.attach(args.resume).resume()
            if args.stop:
                run = ft.attach(args.stop)
                run.stop()
                return run
            options = {f.name: getattr(args, f.name) for f in ft_options() if hasattr(args, f.name)}
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
