"""Many texts at once: token ids and spans as flat arrays, and per-id facts as lookup tables.

``tokenlens.measure.stats`` measures megabytes of text, so it never builds a :class:`Tokenized` per
text. Each backend hands it a :class:`BatchEncoding` made by the engine's own batch encoder
(multi-threaded) and a :class:`TokenTable` that says, for every id, whether it is the unknown
token, a byte-fallback piece, or only part of a character. The helpers here are shared by the
backends; the generic versions (one ``encode`` call per text) serve any other engine.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.backends.base import Backend


def default_threads() -> int:
    """Cores this process may use (the engines' batch encoders get one thread each)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class BatchEncoding:
    """The tokens of many texts, flattened, without special tokens.

    ``ids[k]`` is the k-th token of all texts one after another; ``counts[i]`` tokens belong to
    text i. ``starts``/``ends`` are the token's span from the start of its own text, in UTF-8
    bytes (``unit == "byte"``) or in characters (``unit == "char"``). Spans are in order; a
    SentencePiece dummy-prefix ``▁`` that stands for no character of the text starts at -1.
    """

    ids: np.ndarray
    counts: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    unit: str
    #: length of each text in ``unit``s, where the backend had to compute it anyway
    sizes: np.ndarray | None = None
    #: spans count from the start of the batch's texts joined as ``" " + " ".join(texts) + " "``
    #: (text i begins after i + 1 separators) instead of from the start of each text; then
    #: ``sizes`` is set. Backends that build spans from token lengths get them this way almost
    #: for free, and tokenlens.measure.stats measures in that layout.
    joined: bool = False
    #: each text's UTF-8, where the backend made it anyway (measuring then joins these bytes
    #: instead of encoding the texts again)
    raw: list[bytes] | None = None

    def __len__(self) -> int:
        return len(self.counts)


@dataclass
class TokenTable:
    """Facts about every id of a vocabulary, as boolean arrays indexed by id."""

    #: the id is the unknown token ([UNK], <unk>)
    unknown: np.ndarray
    #: the id is a byte-fallback piece (<0xE0>) of SentencePiece or a Hugging Face BPE
    byte_fallback: np.ndarray
    #: the id's bytes are not whole UTF-8 characters (a piece of a character)
    partial: np.ndarray
    #: the unknown token's string, or None when the tokenizer has none
    unknown_token: str | None = None


def flatten(lists: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(all ids as one int64 array, number of ids per list)."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    total = int(counts.sum())
    ids = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=total)
    return ids, counts


def spans_from_lengths(lengths: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-text spans of tokens laid end to end, from each token's length; and the sum of
    the lengths of each text's tokens."""
    ends = np.cumsum(lengths)
    starts = ends - lengths
    # where each text begins in the running sum (an empty text begins where the next does)
    first = np.cumsum(counts) - counts
    text_base = np.where(first > 0, ends[np.maximum(first - 1, 0)] if len(ends) else 0, 0)
    totals = np.diff(np.append(text_base, ends[-1] if len(ends) else 0))
    if len(counts) > 1:
        base = np.repeat(text_base, counts)
        starts -= base
        ends -= base
    return starts, ends, totals


def joined_spans(
    lengths: np.ndarray, counts: np.ndarray, sizes: np.ndarray | None = None, lead: np.ndarray | int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spans of tokens laid end to end, from each token's length, in the joined layout of
    :class:`BatchEncoding` (``joined=True``); and the sum of the lengths of each text's tokens.

    ``sizes``: each text's length (default: the sum of its tokens' lengths). ``lead``: units
    the engine puts before each text that are not in it (SentencePiece's dummy-prefix ``▁``);
    they sit on the separator before the text. A text whose tokens do not add up to its size
    leaves the texts after it in place.
    """
    ends = np.cumsum(lengths, dtype=lengths.dtype)  # int32 lengths give int32 spans
    starts = ends - lengths
    last = np.cumsum(counts)
    through = ends[np.maximum(last - 1, 0)] if len(ends) else np.zeros(len(counts), dtype=np.int64)
    through = np.where(last > 0, through, 0)  # units of all tokens up to the end of text i
    got = np.diff(through, prepend=0)
    if sizes is None:
        sizes = got
    text_start = np.cumsum(sizes + 1) - sizes
    correction = text_start - lead - (through - got)
    if len(correction) and correction.any():
        shift = np.repeat(correction, counts)
        starts += shift
        ends += shift
    return starts, ends, got


def utf8_valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def generic_batch_spans(backend: Backend, texts: Sequence[str]) -> BatchEncoding:
    """One ``encode`` per text: correct for any backend, slow for big inputs."""
    ids: list[int] = []
    counts: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for text in texts:
        result = backend.encode(text, add_special_tokens=False)
        counts.append(len(result.ids))
        ids.extend(result.ids)
        for s, e in result.spans:
            # A trailing piece of a split character has an empty span after that character;
            # it belongs to that character, so it gets the character back.
            if s == e and s > 0:
                s -= 1
            starts.append(s)
            ends.append(e)
    return BatchEncoding(
        ids=np.asarray(ids, dtype=np.int64),
        counts=np.asarray(counts, dtype=np.int64),
        starts=np.asarray(starts, dtype=np.int64),
        ends=np.asarray(ends, dtype=np.int64),
        unit="char",
    )


def generic_token_table(backend: Backend) -> TokenTable:
    """A table from the vocabulary strings alone: ``<0xXX>`` pieces, ``[UNK]``/``<unk>``."""
    import re

    n = backend.vocab_size
    byte_piece = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
    unknown = np.zeros(n, dtype=bool)
    fallback = np.zeros(n, dtype=bool)
    partial = np.zeros(n, dtype=bool)
    unk_token = None
    for i in range(n):
        piece = backend.id_to_piece(i)
        m = byte_piece.match(piece)
        if m:
            fallback[i] = True
            partial[i] = int(m.group(1), 16) >= 0x80
        elif piece in ("[UNK]", "<unk>"):
            unknown[i] = True
            unk_token = piece
    return TokenTable(unknown, fallback, partial, unk_token)


__all__ = [
    "BatchEncoding",
    "TokenTable",
    "default_threads",
    "flatten",
    "generic_batch_spans",
    "generic_token_table",
    "joined_spans",
    "spans_from_lengths",
    "utf8_valid",
]
