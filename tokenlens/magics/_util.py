"""Shared helpers of the magics: ``--help`` handling and argument errors as UsageError."""

from __future__ import annotations

import shlex

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring


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
