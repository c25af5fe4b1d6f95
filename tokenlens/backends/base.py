"""The one small interface every tokenizer engine is adapted to."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

from ..errors import InputError
from ..tokenized import Tokenized


class Backend(ABC):
    """A loaded tokenizer: encode text to a :class:`Tokenized`, decode ids back to text."""

    #: engine family: "hf", "tiktoken" or "sentencepiece"
    kind: str = ""
    #: tokenization model as the tokenizers library names it: "BPE", "WordPiece", "Unigram"
    model: str = ""

    def __init__(self, name: str, source: Path | str | None = None):
        self.name = name
        self.source = str(source) if source is not None else ""

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def encode(self, text: str, add_special_tokens: bool = True) -> Tokenized: ...

    @abstractmethod
    def _decode(self, ids: list[int]) -> str: ...

    @abstractmethod
    def id_to_piece(self, token_id: int) -> str: ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text for ``ids``; ids outside the vocabulary are refused with the valid range."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise InputError(
                f"Token id(s) {bad[:5]} are outside {self.name}'s vocabulary "
                f"(valid ids: 0 to {self.vocab_size - 1})."
            )
        return self._decode(ids)

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind, "model": self.model,
                "vocab_size": self.vocab_size, "source": self.source}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.model} vocab={self.vocab_size}>"

    # -- many texts at once, for tokenlens.metrics (see backends/batch.py) ---------------------
    # Engines override these with their own multi-threaded batch encoders; these generic
    # versions call ``encode`` once per text, which is correct but slow.

    def encode_batch_ids(self, texts: Sequence[str], num_threads: int | None = None) -> list[list[int]]:
        """Ids of each text, without special tokens, by the engine's batch encoder."""
        return [self.encode(t, add_special_tokens=False).ids for t in texts]

    def encode_batch_spans(self, texts: Sequence[str], num_threads: int | None = None):
        """A :class:`~tokenlens.backends.batch.BatchEncoding` of ``texts`` (no special tokens)."""
        from .batch import generic_batch_spans

        return generic_batch_spans(self, texts)

    def token_table(self):
        """Per-id unknown / byte-fallback / partial-character flags (computed once)."""
        table = self.__dict__.get("_token_table")
        if table is None:
            table = self._make_token_table()
            self.__dict__["_token_table"] = table
        return table

    def _make_token_table(self):
        from .batch import generic_token_table

        return generic_token_table(self)

    def special_tokens_added(self) -> int:
        """How many special tokens (``[CLS]``/``[SEP]``, ``<s>``) encoding adds to a text."""
        return len(self.encode("a", add_special_tokens=True).ids) - len(
            self.encode("a", add_special_tokens=False).ids
        )
