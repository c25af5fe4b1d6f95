"""The one small interface every tokenizer engine is adapted to."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tokenlens.core.tokenized import Tokenized, display_bytes
from tokenlens.errors import InputError


class Backend(ABC):
    """A loaded tokenizer: encode text to a :class:`Tokenized`, decode ids back to text."""

    #: engine family: "hf", "tiktoken" or "sentencepiece"
    kind: str = ""
    #: tokenization model as the tokenizers library names it: "BPE", "WordPiece", "Unigram"
    model: str = ""
    #: memory a loaded token costs in this engine, for the cache's budget (bytes; measured as the
    #: process's growth on load over the vocabulary size, per-id tables filled in use included)
    bytes_per_token: int = 600

    def __init__(self, name: str, source: Path | str | None = None):
        self.name = name
        self.source = str(source) if source is not None else ""
        self._tables: dict[str, list] = {}
        self._table_lock = threading.Lock()

    # -- what each engine provides ----------------------------------------------------------
    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def encode(self, text: str, add_special_tokens: bool = True) -> Tokenized: ...

    @abstractmethod
    def _decode(self, ids: list[int]) -> str: ...

    @abstractmethod
    def id_to_piece(self, token_id: int) -> str:
        """The vocabulary's own string for an id (``Ġlove``, ``##p``, ``▁love``)."""

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes | None:
        """The bytes of text a token stands for, or None where that is not defined."""

    @abstractmethod
    def is_special(self, token_id: int) -> bool: ...

    @property
    def unk_id(self) -> int | None:
        """The id of the unknown token, or None when the tokenizer cannot produce one."""
        return None

    def display(self, token_id: int) -> str:
        """What a person should read for a token: its text, partial characters as hex."""
        if self.is_special(token_id):
            return self.id_to_piece(token_id)
        data = self.token_bytes(token_id)
        return display_bytes(data) if data is not None else self.id_to_piece(token_id)

    # -- per-id tables, filled on first use so long texts cost a lookup per token -----------
    def _lookup(self, table: str, ids: Sequence[int], make: Callable[[int], Any]) -> list:
        values = self._tables.get(table)
        if values is None:
            with self._table_lock:
                values = self._tables.setdefault(table, [None] * self.vocab_size)
        try:
            out = [values[i] for i in ids]
        except IndexError:
            raise InputError(
                f"Token id(s) {[i for i in ids if not 0 <= i < self.vocab_size][:5]} are outside"
                f" {self.name}'s vocabulary (valid ids: 0 to {self.vocab_size - 1})."
            ) from None
        if None in out:
            for i in set(ids):
                if values[i] is None:
                    values[i] = make(i)
            out = [values[i] for i in ids]
        return out

    def displays(self, ids: Sequence[int]) -> list[str]:
        return self._lookup("display", ids, self.display)

    def pieces(self, ids: Sequence[int]) -> list[str]:
        return self._lookup("piece", ids, self.id_to_piece)

    def special_flags(self, ids: Sequence[int]) -> list[bool]:
        return self._lookup("special", ids, self.is_special)

    # -- shared behaviour -------------------------------------------------------------------
    def check_ids(self, ids: Sequence[int]) -> list[int]:
        try:
            ids = [int(i) for i in ids]
        except (TypeError, ValueError):
            raise InputError("Ids must be whole numbers, e.g. [40, 1842, 399, 19930].") from None
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise InputError(
                f"Token id(s) {bad[:5]} are outside {self.name}'s vocabulary (valid ids: 0 to {self.vocab_size - 1})."
            )
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """Text for ``ids``; ids outside the vocabulary are refused with the valid range."""
        return self._decode(self.check_ids(ids))

    def from_ids(self, ids: Sequence[int]) -> Tokenized:
        """The tokens of ``ids`` laid over their decoded text (``%%tokenize --decode``)."""
        ids = self.check_ids(ids)
        text = self._decode(ids)
        # Lay each token's display text over the decoded text, in order; what cannot be found
        # (a piece of a character, a token the decoder drops) gets an empty span in place.
        spans, pos = [], 0
        for _token_id, shown in zip(ids, self.displays(ids)):
            found = text.find(shown, pos) if shown else -1
            if found == pos or (found > pos and not text[pos:found].strip()):
                spans.append((found, found + len(shown)))
                pos = found + len(shown)
            else:
                spans.append((pos, pos))
        return Tokenized(text, self.name, ids, spans, backend=self, decoded=True)

    def explain(self, token: int | str) -> dict[str, Any]:
        """Why a token has its id: piece, bytes, and what the model knows about it."""
        token_id = self._token_id(token)
        data = self.token_bytes(token_id)
        return {
            "id": token_id,
            "piece": self.id_to_piece(token_id),
            "display": self.display(token_id),
            "bytes": " ".join(f"{b:02X}" for b in data) if data is not None else "",
            "kind": self.kind,
            "model": self.model,
            "special": self.is_special(token_id),
            "unknown": token_id == self.unk_id,
            "rank": None,
            "parents": [],
            "score": None,
            "continuation": None,
            **self._explain_model(token_id),
            **self._explain_training(token_id),
        }

    def _explain_training(self, token_id: int) -> dict[str, Any]:
        """For a tokenizer trained with tokenlens: how often its pair occurred when merged, and
        how often the token is used. The id follows merge order, not this frequency."""
        if not hasattr(self, "_training"):
            self._training = None
            folder = Path(self.source).parent if self.source else None
            if folder is not None and (folder / "tokenlens_training.json").is_file():
                from tokenlens.vocab.result import load_training

                try:
                    self._training = load_training(folder)
                except Exception:
                    self._training = None
        if self._training is None:
            return {}
        info = self._training.token_info(token_id)
        return {"frequency": info.get("frequency"), "uses": info.get("uses")}

    def _explain_model(self, token_id: int) -> dict[str, Any]:
        """Model-specific facts (merge rank and parents, Unigram score, ``##``)."""
        return {}

    def token_to_id(self, token: str) -> int | None:
        """The id of a vocabulary string (``Ġlove``) or of a token's text (`` love``)."""
        return None

    def _token_id(self, token: int | str) -> int:
        if isinstance(token, str):
            found = self.token_to_id(token)
            if found is None:
                raise InputError(
                    f"{token!r} is not a token of {self.name}; give an id or a vocabulary string"
                    " such as the `pieces` of a tokenize() result."
                )
            return found
        return self.check_ids([token])[0]

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text for chat ``messages``, from the tokenizer's own chat template."""
        from tokenlens.core.chat_template import locate_chat_template, render_chat

        template, config, origin = locate_chat_template(self.source)
        if template is None:
            raise InputError(
                f"{self.name} has no chat template (none in tokenizer_config.json or"
                " chat_template.jinja beside it). Use a chat model's tokenizer folder, e.g. one"
                " saved with transformers' save_pretrained()."
            )
        return render_chat(template, config, messages, add_generation_prompt, origin=origin)

    def memory_estimate(self) -> int:
        """Bytes this tokenizer is estimated to hold while loaded, from its vocabulary size."""
        return self.bytes_per_token * self.vocab_size

    def describe(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "vocab_size": self.vocab_size,
            "source": self.source,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.model} vocab={self.vocab_size}>"

    # -- many texts at once, for tokenlens.measure.stats (see backends/batch.py) ---------------------
    # Engines override these with their own multi-threaded batch encoders; these generic
    # versions call ``encode`` once per text, which is correct but slow.

    def encode_batch_ids(self, texts: Sequence[str], num_threads: int | None = None) -> list[list[int]]:
        """Ids of each text, without special tokens, by the engine's batch encoder."""
        return [self.encode(t, add_special_tokens=False).ids for t in texts]

    def encode_batch_spans(self, texts: Sequence[str], num_threads: int | None = None):
        """A :class:`~tokenlens.backends.batch.BatchEncoding` of ``texts`` (no special tokens)."""
        from tokenlens.backends.batch import generic_batch_spans

        return generic_batch_spans(self, texts)

    def token_table(self):
        """Per-id unknown / byte-fallback / partial-character flags (computed once)."""
        table = self.__dict__.get("_token_table")
        if table is None:
            table = self._make_token_table()
            self.__dict__["_token_table"] = table
        return table

    def _make_token_table(self):
        from tokenlens.backends.batch import generic_token_table

        return generic_token_table(self)

    def rank_table(self) -> dict | None:
        """What a browser needs to count this tokenizer's tokens itself, or None: only tiktoken
        encodings have one (see ``TiktokenBackend.rank_table``); the rest count on the server."""
        return None

    def count(self, text: str, add_special_tokens: bool = True) -> int:
        """How many tokens ``encode`` gives, without building spans or display strings."""
        return len(self.encode(text, add_special_tokens=add_special_tokens).ids)

    def special_tokens_added(self) -> int:
        """How many special tokens (``[CLS]``/``[SEP]``, ``<s>``) encoding adds to a text."""
        return len(self.encode("a", add_special_tokens=True).ids) - len(self.encode("a", add_special_tokens=False).ids)
