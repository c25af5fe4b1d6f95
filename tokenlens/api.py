"""The public functions: load, tokenize, decode, compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence, Union

from .backends import Backend
from .errors import InputError
from .hub import resolve
from .tokenized import Tokenized

TokenizerLike = Union[str, Backend]

#: the tokenizer used when none is named
DEFAULT_TOKENIZER = "gpt2"


def load(name_or_path: TokenizerLike) -> Backend:
    """Load a tokenizer by name (``TOKENLENS_PATH``, registry, hub id) or by path; cached."""
    if isinstance(name_or_path, Backend):
        return name_or_path
    return resolve(str(name_or_path))


def _check_text(text: Any) -> str:
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


def tokenize(text: str, tokenizer: TokenizerLike = DEFAULT_TOKENIZER, add_special_tokens: bool = True) -> Tokenized:
    """Tokenize ``text``: ids, display tokens and character spans.

    >>> tokenize("I love NLP", "gpt2").ids  # doctest: +SKIP
    [40, 1842, 399, 19930]
    """
    return load(tokenizer).encode(_check_text(text), add_special_tokens=add_special_tokens)


def decode(ids: Sequence[int], tokenizer: TokenizerLike = DEFAULT_TOKENIZER) -> str:
    """Text for ``ids`` under ``tokenizer``; out-of-range ids are refused with the valid range."""
    try:
        ids = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise InputError("Ids must be whole numbers, e.g. [40, 1842, 399, 19930].") from None
    return load(tokenizer).decode(ids)


@dataclass
class Comparison:
    """The same text under several tokenizers; displays as the token widget."""

    text: str
    results: list[Tokenized] = field(default_factory=list)
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

    def __repr__(self) -> str:
        lines = [f"Comparison of {len(self.results)} tokenizer(s) on {len(self.text)} characters:"]
        lines += [f"  {r.tokenizer}: {len(r)} tokens, ids={r.ids[:12]}{'…' if len(r) > 12 else ''}" for r in self.results]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .html import tokenized_html

        return tokenized_html(self.results)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .errors import TokenlensError

        try:
            widget = self.widget
        except TokenlensError as exc:  # no front end installed: the static view still informs
            return {"text/plain": f"{self!r}\n({exc})", "text/html": self._repr_html_()}
        bundle = widget._repr_mimebundle_(include, exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = repr(self)  # what a terminal or a saved notebook's text shows
        return bundle

    @property
    def widget(self):
        """The live token view of this comparison (made once, then reused)."""
        if self._widget is None:
            from .widgets import TokensWidget

            self._widget = TokensWidget.from_results(self.text, self.results)
        return self._widget


def compare(text: str, tokenizers: Sequence[TokenizerLike], add_special_tokens: bool = True) -> Comparison:
    """Tokenize ``text`` with each of ``tokenizers`` (names, paths or loaded tokenizers)."""
    text = _check_text(text)
    if isinstance(tokenizers, (str, Backend)):
        tokenizers = [tokenizers]
    if not tokenizers:
        raise InputError("Name at least one tokenizer to compare, e.g. ['gpt2', 'bert-base-uncased'].")
    return Comparison(text, [tokenize(text, t, add_special_tokens) for t in tokenizers])
