"""The result of tokenizing one text with one tokenizer.

Only data lives here: ids, display strings, spans, flags and grapheme-aligned segments, plus
the helpers that turn engine offsets into character spans that never overlap. Rendering is
elsewhere. Per-token work is done with numpy or per-id tables, so a 10 MB text costs little
more than the engine's own encode; display strings, pieces and segments are computed on first
use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.backends.base import Backend

Span = tuple[int, int]

_ESCAPED = re.compile("[\udc80-\udcff]+")


def _hex_run(match: re.Match) -> str:
    return "<" + " ".join(f"{ord(c) - 0xDC00:02X}" for c in match.group()) + ">"


def display_bytes(data: bytes) -> str:
    """Text for a token's bytes; bytes that are not whole UTF-8 characters appear as ``<E0 AC>``.

    A token that is only part of a character is shown as its bytes, never as U+FFFD.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    return text if text.isascii() else _ESCAPED.sub(_hex_run, text)


def utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def byte_spans_to_char_spans(
    text: str, byte_starts: np.ndarray, byte_ends: np.ndarray, clip: bool = True
) -> np.ndarray:
    """Map UTF-8 byte spans to character spans, as an (n, 2) array.

    A character belongs to the token that holds its first byte, so a token made only of the
    trailing bytes of a character gets an empty span, and spans never overlap.
    """
    data = np.frombuffer(utf8(text), dtype=np.uint8)
    n_bytes = len(data)
    if clip:
        byte_starts = np.clip(byte_starts, 0, n_bytes)
        byte_ends = np.clip(byte_ends, 0, n_bytes)
    out = np.empty((len(byte_starts), 2), dtype=np.int64)
    if n_bytes == len(text):  # ASCII: bytes are characters
        out[:, 0], out[:, 1] = byte_starts, byte_ends
        return out
    # chars_before[b] = number of characters whose first byte lies before byte b
    chars_before = np.zeros(n_bytes + 1, dtype=np.int32)
    np.cumsum((data & 0xC0) != 0x80, out=chars_before[1:])
    out[:, 0] = chars_before[byte_starts]
    out[:, 1] = chars_before[byte_ends]
    return out


def byte_lengths_to_char_spans(text: str, lengths: np.ndarray, shift: int = 0) -> np.ndarray:
    """Spans of tokens whose bytes, concatenated, are the text's bytes (after ``shift`` extra)."""
    ends = np.cumsum(lengths)
    if shift:
        ends -= shift
    starts = ends - lengths
    return byte_spans_to_char_spans(text, starts, ends, clip=bool(shift))


def clamp_spans(spans: Iterable[Span] | np.ndarray) -> np.ndarray:
    """Make engine offsets monotone and disjoint, as an (n, 2) array.

    Engines give every piece of a split character the whole character's offsets; keeping the
    character on the first piece and giving later pieces an empty span removes the overlap.
    Tokens that stand for no text (``[CLS]``, ``<s>``, offsets ``(0, 0)``) get an empty span
    where they stand.
    """
    arr = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    if len(arr) == 0:
        return arr
    s, e = arr[:, 0], arr[:, 1]
    empty = e <= s
    ends = np.where(empty, 0, e)
    prev_end = np.zeros(len(arr), dtype=np.int64)
    np.maximum.accumulate(ends[:-1], out=prev_end[1:])
    new_s = np.where(empty, prev_end, np.maximum(s, prev_end))
    new_e = np.where(empty, prev_end, np.maximum(e, new_s))
    return np.stack([new_s, new_e], axis=1)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_CLUSTER = None  # regex's \X, compiled on first use


def grapheme_breaks(text: str) -> np.ndarray:
    """``out[i]`` is True where a grapheme cluster may end at character offset ``i``.

    Linear time: only runs of non-ASCII text (and CR LF) need the Unicode rules, which the
    ``regex`` module's ``\\X`` implements (combining marks, Indic conjuncts, emoji sequences).
    """
    n = len(text)
    out = np.ones(n + 1, dtype=bool)
    for m in re.finditer("\r\n", text):
        out[m.start() + 1] = False
    if text.isascii():
        return out
    global _CLUSTER
    if _CLUSTER is None:
        import regex

        _CLUSTER = regex.compile(r"\X")
    # Per run of non-ASCII text (widened by one character each side: an ASCII letter can take
    # a combining mark): no break inside it except at the ends of its clusters. findall and
    # accumulate keep the per-cluster work in C.
    edges = np.zeros(n + 2, dtype=np.int32)
    ends: list[int] = []
    for run in _NON_ASCII.finditer(text):
        start, end = max(run.start() - 1, 0), min(run.end() + 1, n)
        edges[start + 1] += 1
        edges[end] -= 1
        cuts = list(accumulate(map(len, _CLUSTER.findall(text, start, end)), initial=start))
        ends.extend(cuts[1:-1])  # the window's own edges are not inside it
    inside = np.cumsum(edges[: n + 1]) > 0
    out[inside] = False
    out[ends] = True
    return out


def grapheme_segments(spans: np.ndarray, special: Sequence[bool], text: str) -> np.ndarray:
    """Group tokens so that every group covers whole grapheme clusters.

    Returns ``[start, end, lo, hi]`` rows: tokens ``lo..hi-1`` together cover characters
    ``start..end-1``. A row with one token is a plain token; a row with several is a character
    (or a few) that several tokens build, such as Odia ``ଓ`` from GPT-2's three byte tokens.
    Special tokens that stand for no text get a row of their own.
    """
    n = len(spans)
    if n == 0:
        return np.zeros((0, 4), dtype=np.int64)
    s, e = spans[:, 0], spans[:, 1]
    nonempty = e > s
    lone = ~nonempty & np.asarray(special, dtype=bool)  # [CLS], <s>: a row of their own
    idx = np.arange(n)
    # end of the last text-bearing token before j, and how many such tokens lie between the
    # last lone special token and j
    prev_end = np.zeros(n, dtype=np.int64)
    np.maximum.accumulate(np.where(nonempty, e, 0)[:-1], out=prev_end[1:])
    text_count = np.concatenate([[0], np.cumsum(nonempty)])
    last_lone = np.full(n, -1, dtype=np.int64)
    np.maximum.accumulate(np.where(lone, idx, -1)[:-1], out=last_lone[1:])
    text_since_lone = text_count[idx] - text_count[last_lone + 1]
    breaks = grapheme_breaks(text)
    cut = nonempty & (text_since_lone > 0) & breaks[prev_end]
    cut |= lone
    cut[1:] |= lone[:-1]
    cut[0] = True
    lo = np.flatnonzero(cut)
    hi = np.append(lo[1:], n)
    # a row's characters: from its first text-bearing token to the end of its last one
    first_text = np.where(nonempty, idx, n)
    first_in_row = np.minimum.reduceat(first_text, lo)
    ends_in_row = np.maximum.reduceat(np.where(nonempty, e, -1), lo)
    row_prev_end = prev_end[lo]
    start = np.where(first_in_row < hi, s[np.minimum(first_in_row, n - 1)], row_prev_end)
    end = np.where(ends_in_row >= 0, ends_in_row, row_prev_end)
    return np.stack([start, end, lo, hi], axis=1)


class Tokenized:
    """Ids, display strings and character spans of one text under one tokenizer.

    ``spans[i]`` are character offsets into ``text``. For tokens that cover text they are in
    order and never overlap; together with :attr:`gaps` (text the tokenizer drops, such as
    BERT's spaces) they rebuild ``text`` exactly. Special tokens have empty spans where they
    stand, and so do tokens that only continue a character begun by the token before.
    """

    def __init__(
        self,
        text: str,
        tokenizer: str,
        ids: Sequence[int],
        spans: Iterable[Span] | np.ndarray,
        *,
        backend: Backend | None = None,
        tokens: list[str] | None = None,
        pieces: list[str] | None = None,
        special: list[bool] | None = None,
        kind: str = "",
        model: str = "",
        decoded: bool = False,
    ):
        self.text = text
        self.tokenizer = tokenizer
        # engines that hand back a numpy array keep it; the list is made on first use
        self._ids: list[int] | None = ids if isinstance(ids, list) else None
        self.id_array: np.ndarray | None = ids if isinstance(ids, np.ndarray) else None
        if self._ids is None and self.id_array is None:
            self._ids = list(ids)
        spans = np.asarray(spans)
        if spans.dtype not in (np.int32, np.int64):  # engines may hand int32 spans: kept as they are
            spans = spans.astype(np.int64)
        self.span_array = spans.reshape(-1, 2)
        self.backend = backend
        self._tokens, self._pieces, self._special = tokens, pieces, special
        self._spans: list[Span] | None = None
        self._segments: np.ndarray | None = None
        self.kind = kind or (backend.kind if backend else "")
        self.model = model or (backend.model if backend else "")
        #: True when the text was decoded from ids (``%%tokenize --decode``)
        self.decoded = decoded

    # -- per-token views, computed on first use ----------------------------------------------
    @property
    def ids(self) -> list[int]:
        if self._ids is None:
            self._ids = self.id_array.tolist()
        return self._ids

    @property
    def tokens(self) -> list[str]:
        """Display strings: the text a token stands for; partial characters as ``<E0 AC>``."""
        if self._tokens is None:
            self._tokens = self.backend.displays(self.ids) if self.backend else []
        return self._tokens

    @property
    def pieces(self) -> list[str]:
        """The vocabulary's own strings (``Ġlove``, ``##p``, ``▁love``, ``<0xE0>``)."""
        if self._pieces is None:
            self._pieces = self.backend.pieces(self.ids) if self.backend else []
        return self._pieces

    @property
    def special(self) -> list[bool]:
        if self._special is None:
            self._special = self.backend.special_flags(self.ids) if self.backend else []
        return self._special

    @property
    def spans(self) -> list[Span]:
        if self._spans is None:
            self._spans = [tuple(p) for p in self.span_array.tolist()]
        return self._spans

    @property
    def segments(self) -> list[list[int]]:
        """Grapheme-aligned groups ``[start, end, lo, hi]`` (see :func:`grapheme_segments`)."""
        return self.segment_array.tolist()

    @property
    def segment_array(self) -> np.ndarray:
        if self._segments is None:
            self._segments = grapheme_segments(self.span_array, self.special, self.text)
        return self._segments

    @property
    def unk_id(self) -> int | None:
        return self.backend.unk_id if self.backend else None

    @property
    def vocab_size(self) -> int:
        return self.backend.vocab_size if self.backend else 0

    def __len__(self) -> int:
        return len(self._ids) if self._ids is not None else len(self.id_array)

    @property
    def n_chars(self) -> int:
        return len(self.text)

    @property
    def n_bytes(self) -> int:
        return len(utf8(self.text))

    @property
    def gaps(self) -> list[Span]:
        """Character ranges that no token covers (empty for lossless tokenizers)."""
        gaps: list[Span] = []
        pos = 0
        for s, e in self.span_array.tolist():
            if s == e:
                continue
            if s > pos:
                gaps.append((pos, s))
            pos = max(pos, e)
        if pos < len(self.text):
            gaps.append((pos, len(self.text)))
        return gaps

    def explain(self, index: int) -> dict[str, Any]:
        """Why token ``index`` is what it is (see ``Backend.explain``), with its span."""
        info = self.backend.explain(self.ids[index])
        s, e = self.spans[index]
        return {**info, "span": [s, e], "chars": self.text[s:e]}

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        """The JSON shape shared by the REST route and the widget (see DESIGN.md).

        ``arrays=True`` leaves ids, spans and segments as numpy arrays, for a serializer that
        writes them directly (the route's orjson) instead of making Python lists first.
        """
        ids = np.ascontiguousarray(self.id_array) if arrays and self.id_array is not None else list(self.ids)
        return {
            "tokenizer": self.tokenizer,
            "kind": self.kind,
            "model": self.model,
            "text": self.text,
            "ids": ids,
            "tokens": self.tokens,
            "pieces": self.pieces,
            "spans": np.ascontiguousarray(self.span_array) if arrays else self.span_array.tolist(),
            "special": self.special,
            "segments": np.ascontiguousarray(self.segment_array) if arrays else self.segments,
            "unk_id": self.unk_id,
            "vocab_size": self.vocab_size,
            "decoded": self.decoded,
            "n_tokens": len(self.ids),
            "n_chars": self.n_chars,
            "n_bytes": self.n_bytes,
        }

    def __repr__(self) -> str:
        shown = ", ".join(repr(t) for t in self.tokens[:12])
        more = f", … ({len(self.ids) - 12} more)" if len(self.ids) > 12 else ""
        return (
            f"Tokenized({self.tokenizer!r}, {len(self.ids)} tokens: [{shown}{more}],"
            f" ids={self.ids[:12]}{'…' if more else ''})"
        )

    def _repr_html_(self) -> str:
        from tokenlens.views.html import tokenized_html

        return tokenized_html([self])
