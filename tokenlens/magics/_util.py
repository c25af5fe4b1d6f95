"""Shared helpers of the magics: ``--help`` handling, argument errors as UsageError, and the
arguments several magics take (``-t/--tokenizer``, ``-o/--out``)."""

from __future__ import annotations

import shlex

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, parse_argstring


def wants_help(line: str) -> bool:
    try:
        words = shlex.split(line)
    except ValueError:
        return False
    return "-h" in words or "--help" in words


def parse_args(func, line: str):
    try:
        return parse_argstring(func, line)
    except UsageError:
        raise
    except SystemExit:  # argparse's way of saying "bad arguments"
        raise UsageError(f"Could not read the arguments {line!r}; see `{func.__name__} --help`.") from None


def tokenizer_argument():
    """``-t/--tokenizer NAME``, repeatable, for the magics that tokenize with one or more tokenizers."""
    return argument(
        "-t",
        "--tokenizer",
        action="append",
        metavar="NAME",
        help="tokenizer name, folder, file or hub id; repeat to compare (default: gpt2)",
    )


def out_argument():
    """``-o/--out VAR``: the magic also stores its result in a variable."""
    return argument("-o", "--out", metavar="VAR", help="also store the result in this variable")


def store_out(shell, name: str | None, result) -> None:
    """``-o/--out VAR``: put the result in the user's namespace under a valid variable name."""
    if name:
        if not name.isidentifier():
            raise UsageError(f"--out needs a Python variable name, not {name!r}.")
        shell.user_ns[name] = result
