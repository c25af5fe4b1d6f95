"""The public functions: load, tokenize, decode, compare."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenlens.backends import Backend
from tokenlens.core.resolve import resolve
from tokenlens.core.tokenized import Tokenized
from tokenlens.errors import InputError
from tokenlens.views.display import ShownAsWidget

TokenizerLike = str | Backend

#: the tokenizer used when none is named
DEFAULT_TOKENIZER = "gpt2"


@dataclass(frozen=True)
class Sandbox:
    """Where a tokenizer name may be looked up; every call that loads by name takes one.

    Names of folders on ``TOKENLENS_PATH``, in the registry and in the Ollama store, and hub ids
    already in the local Hugging Face cache, always resolve. ``allow_paths``: a file or folder
    path may be named. ``allow_downloads``: a name found nowhere on this machine may be fetched
    (a Hugging Face hub id, each file at most ``tokenlens.core.limits.LIMITS.hub_download_bytes``;
    a tiktoken encoding's rank file from OpenAI's fixed address). The Jupyter server's routes use
    :data:`SERVER_SANDBOX` (downloads only where its ``TokenLens.allow_hub_downloads`` allows).
    """

    allow_paths: bool = True
    allow_downloads: bool = True


#: what a person's own calls in a kernel may name: anything
NO_SANDBOX = Sandbox()
#: what a request from a browser may name: what is already on this machine, never a path
SERVER_SANDBOX = Sandbox(allow_paths=False, allow_downloads=False)


def load(name_or_path: TokenizerLike, *, sandbox: Sandbox = NO_SANDBOX) -> Backend:
    """Load a tokenizer by name (``TOKENLENS_PATH``, registry, hub id) or by path; cached."""
    if isinstance(name_or_path, Backend):
        return name_or_path
    return resolve(str(name_or_path), allow_paths=sandbox.allow_paths, allow_download=sandbox.allow_downloads)


def check_text(text: Any) -> str:
    """``text`` itself when it is a string of valid Unicode; else an InputError saying what to do."""
    if not isinstance(text, str):
        raise InputError(f"Text must be a string, not {type(text).__name__}.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"The text holds an unpaired surrogate at character {exc.start}, which is not valid"
            " Unicode; remove it or decode the source with errors='replace'."
        ) from None
    return text


def tokenize(
    text: str,
    tokenizer: TokenizerLike = DEFAULT_TOKENIZER,
    add_special_tokens: bool = True,
    *,
    sandbox: Sandbox = NO_SANDBOX,
) -> Tokenized:
    """Tokenize ``text``: ids, display tokens and character spans.

    >>> tokenize("I love NLP", "gpt2").ids  # doctest: +SKIP
    [40, 1842, 399, 19930]
    """
    return load(tokenizer, sandbox=sandbox).encode(check_text(text), add_special_tokens=add_special_tokens)


def decode(
    ids: Sequence[int] | str, tokenizer: TokenizerLike = DEFAULT_TOKENIZER, *, sandbox: Sandbox = NO_SANDBOX
) -> str:
    """Text for ``ids`` under ``tokenizer``; out-of-range ids are refused with the valid range."""
    return load(tokenizer, sandbox=sandbox).decode(parse_ids(ids, allow_empty=True))


@dataclass
class Comparison(ShownAsWidget):
    """The same text under several tokenizers; displays as the token widget."""

    _widget_class = "tokenlens.views.tokens:TokensWidget"

    text: str
    results: list[Tokenized] = field(default_factory=list)
    #: how the widget draws it: color_by ("id" | "position"), show_ids, show_whitespace
    options: dict[str, Any] = field(default_factory=dict)
    _widget: Any = field(default=None, init=False, repr=False, compare=False)

    def __getitem__(self, key: int | str) -> Tokenized:
        if isinstance(key, str):
            for r in self.results:
                if r.tokenizer == key:
                    return r
            raise KeyError(f"{key!r} is not among {[r.tokenizer for r in self.results]}")
        return self.results[key]

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "results": [r.to_dict() for r in self.results]}

    def counts(self) -> dict[str, int]:
        return {r.tokenizer: len(r) for r in self.results}

    def table(self) -> list[dict[str, Any]]:
        """Per-tokenizer counts: tokens, characters, bytes, characters per token."""
        return [
            {
                "tokenizer": r.tokenizer,
                "model": r.model,
                "tokens": len(r),
                "characters": r.n_chars,
                "bytes": r.n_bytes,
                "chars_per_token": round(r.n_chars / len(r), 3) if len(r) else None,
                "vocab_size": r.vocab_size,
            }
            for r in self.results
        ]

    def to_pandas(self):
        """:meth:`table` as a pandas DataFrame indexed by tokenizer."""
        try:
            import pandas as pd
        except ImportError:
            raise InputError("to_pandas() needs pandas: pip install pandas.") from None
        return pd.DataFrame(self.table()).set_index("tokenizer")

    def __repr__(self) -> str:
        lines = [f"Comparison of {len(self.results)} tokenizer(s) on {len(self.text)} characters:"]
        lines += [
            f"  {r.tokenizer}: {len(r)} tokens, ids={r.ids[:12]}{'…' if len(r) > 12 else ''}" for r in self.results
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from tokenlens.views.html import tokenized_html

        return tokenized_html(self.results)


def _names(tokenizers) -> list:
    if isinstance(tokenizers, (str, Backend)):
        tokenizers = [tokenizers]
    if not tokenizers:
        raise InputError("Name at least one tokenizer, e.g. ['gpt2', 'bert-base-uncased'].")
    return list(tokenizers)


def compare(
    text: str,
    tokenizers: Sequence[TokenizerLike],
    add_special_tokens: bool = True,
    *,
    sandbox: Sandbox = NO_SANDBOX,
    **options: Any,
) -> Comparison:
    """Tokenize ``text`` with each of ``tokenizers`` (names, paths or loaded tokenizers).

    ``options`` set how the widget draws it: ``color_by="position"``, ``show_ids=False``,
    ``show_whitespace=False``.
    """
    text = check_text(text)
    # every name is loaded before any text is encoded, so a bad name costs no work
    backends = [load(t, sandbox=sandbox) for t in _names(tokenizers)]
    results = [b.encode(text, add_special_tokens=add_special_tokens) for b in backends]
    return Comparison(text, results, {**options, "add_special_tokens": add_special_tokens})


def decode_view(
    ids: Sequence[int], tokenizers: Sequence[TokenizerLike], *, sandbox: Sandbox = NO_SANDBOX, **options: Any
) -> Comparison:
    """Ids back to text under each tokenizer, with the tokens laid over the decoded text."""
    ids = parse_ids(ids)
    results = [load(t, sandbox=sandbox).from_ids(ids) for t in _names(tokenizers)]
    return Comparison(" ".join(map(str, ids)), results, options)


def parse_ids(ids: Sequence[int] | str, allow_empty: bool = False) -> list[int]:
    """Ids from a list or from text such as ``40 1842 399`` or ``[40, 1842, 399]``."""
    if isinstance(ids, str):
        words = [w for w in re.split(r"[\s,\[\]()]+", ids) if w]
        bad = [w for w in words if not re.fullmatch(r"-?\d+", w)]
        if bad:
            raise InputError(f"{bad[0]!r} is not a token id; write ids as whole numbers, e.g. 40 1842 399 19930.")
        ids = [int(w) for w in words]
    try:
        ids = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise InputError("Ids must be whole numbers, e.g. [40, 1842, 399, 19930].") from None
    if not ids and not allow_empty:
        raise InputError("No ids to decode; write them like 40 1842 399 19930.")
    return ids


def chat(
    messages: list[dict] | str,
    tokenizer: TokenizerLike,
    add_generation_prompt: bool = True,
    *,
    sandbox: Sandbox = NO_SANDBOX,
    **options: Any,
) -> Comparison:
    """The tokens of chat ``messages`` rendered with the tokenizer's own chat template."""
    from tokenlens.core.chat_template import parse_messages

    backend = load(tokenizer, sandbox=sandbox)
    if isinstance(messages, str):
        messages = parse_messages(messages)
    text = backend.apply_chat_template(messages, add_generation_prompt)
    # the template writes the special tokens itself (as transformers does)
    return Comparison(text, [backend.encode(text, add_special_tokens=False)], {**options, "add_special_tokens": False})
