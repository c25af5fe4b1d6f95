"""Errors a person can act on: each says what went wrong and what to do next."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TokenlensError(Exception):
    """Base class: the message is meant to be shown to a person as it is."""


class _NameNotFound(TokenlensError, LookupError):
    """Nothing answers to a name: the message says so, offers close matches, lists what is
    available (the first 20, or ``none_available``) and ends with what to do (``hint``)."""

    kind = ""
    none_available = ""
    hint = ""

    def __init__(self, name: str, available: Iterable[str] = (), detail: str = ""):
        self.name = name
        self.available = sorted(set(available))
        self.suggestions = difflib.get_close_matches(name, self.available, n=3, cutoff=0.5)
        msg = f"No {self.kind} named {name!r}"
        if self.suggestions:
            msg += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        else:
            msg += "."
        if detail:
            msg += f" {detail}"
        if self.available:
            shown = ", ".join(self.available[:20]) + (" …" if len(self.available) > 20 else "")
            msg += f" Available: {shown}."
        elif self.none_available:
            msg += f" {self.none_available}"
        super().__init__(f"{msg} {self.hint}")


class TokenizerNotFound(_NameNotFound):
    """No tokenizer answers to a name; carries close matches."""

    kind = "tokenizer"
    hint = "Give a folder or file path, a Hugging Face hub id, or add a folder holding it to TOKENLENS_PATH."


class TokenizerFileError(TokenlensError, ValueError):
    """A tokenizer file or folder exists but cannot be read as a tokenizer."""


class InputError(TokenlensError, ValueError):
    """Input the user gave (text, ids, options) that cannot be used as it is."""


class SourceError(InputError):
    """Texts cannot be read from where they were asked for: no such file, a pattern that matches
    nothing, a binary or non-UTF-8 file, a value that is not text (``tokenlens.sources``)."""


class ModelNotFound(_NameNotFound):
    """No causal LM answers to a name; carries the names that would."""

    kind = "model"
    none_available = "No model is available yet."
    hint = (
        "Name a completed %finetune run, or a folder saved with save_pretrained() (safetensors)"
        " inside a TOKENLENS_PATH folder or the registry."
    )


class ModelFileError(TokenlensError, ValueError):
    """A model folder exists but is not a causal LM with safetensors weights."""


class MissingExtra(TokenlensError, ImportError):
    """An optional dependency group is not installed; the message names the pip command."""
