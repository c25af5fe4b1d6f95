"""The result of tokenizing one text with one tokenizer.

Only data lives here: ids, display strings, spans and flags, plus the small helpers that turn
engine offsets into character spans that never overlap. Rendering is elsewhere.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

Span = tuple[int, int]


_ESCAPED = re.compile("[\udc80-\udcff]+")


def _hex_run(match: re.Match) -> str:
    return "<" + " ".join(f"{ord(c) - 0xDC00:02X}" for c in match.group()) + ">"


def display_bytes(data: bytes) -> str:
    """Text for a token's bytes; bytes that are not whole UTF-8 characters appear as ``<E0 AC>``.

    A token that is only part of a character is shown as its bytes, never as U+FFFD.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    return _ESCAPED.sub(_hex_run, text) if not text.isascii() else text


def char_starts_in_bytes(text: str) -> list[int]:
    """UTF-8 byte offset at which each character of ``text`` starts (plus the total length)."""
    starts = [0] * (len(text) + 1)
    pos = 0
    for i, ch in enumerate(text):
        starts[i] = pos
        o = ord(ch)
        pos += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
    starts[len(text)] = pos
    return starts


def byte_spans_to_char_spans(text: str, byte_spans: Iterable[Span]) -> list[Span]:
    """Map UTF-8 byte spans to character spans.

    A character belongs to the token that holds its first byte, so a token made only of the
    trailing bytes of a character gets an empty span, and spans never overlap.
    """
    starts = char_starts_in_bytes(text)
    n = len(text)
    ascii_only = starts[n] == n

    def char_at(b: int) -> int:
        # number of characters whose first byte lies before byte b
        if ascii_only:
            return min(max(b, 0), n)
        return bisect.bisect_left(starts, b, 0, n)

    return [(char_at(b0), char_at(b1)) for b0, b1 in byte_spans]


def clamp_spans(spans: Iterable[Span]) -> list[Span]:
    """Make engine offsets monotone and disjoint.

    Engines give every piece of a split character the whole character's offsets; keeping the
    character on the first piece and giving later pieces an empty span removes the overlap.
    Tokens that stand for no text (``[CLS]``, ``<s>``, offsets ``(0, 0)``) get an empty span
    where they stand.
    """
    out: list[Span] = []
    prev_end = 0
    for s, e in spans:
        if e <= s:
            out.append((prev_end, prev_end))
            continue
        s = max(s, prev_end)
        e = max(e, s)
        out.append((s, e))
        prev_end = e
    return out


@dataclass
class Tokenized:
    """Ids, display strings and character spans of one text under one tokenizer.

    ``spans[i]`` are character offsets into ``text``. For non-special tokens they are in order
    and never overlap; together with :attr:`gaps` (text the tokenizer drops, such as BERT's
    spaces) they rebuild ``text`` exactly. Special tokens have empty spans where they stand.
    """

    text: str
    tokenizer: str
    ids: list[int]
    tokens: list[str]
    pieces: list[str]
    spans: list[Span]
    special: list[bool]
    kind: str = ""
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_chars(self) -> int:
        return len(self.text)

    @property
    def n_bytes(self) -> int:
        return len(self.text.encode("utf-8", errors="surrogatepass"))

    @property
    def gaps(self) -> list[Span]:
        """Character ranges that no token covers (empty for lossless tokenizers)."""
        gaps: list[Span] = []
        pos = 0
        for s, e in self.spans:
            if s == e:
                continue
            if s > pos:
                gaps.append((pos, s))
            pos = max(pos, e)
        if pos < len(self.text):
            gaps.append((pos, len(self.text)))
        return gaps

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape shared by the REST route and the widget (see DESIGN.md)."""
        return {
            "tokenizer": self.tokenizer,
            "kind": self.kind,
            "model": self.model,
            "text": self.text,
            "ids": list(self.ids),
            "tokens": list(self.tokens),
            "pieces": list(self.pieces),
            "spans": [[s, e] for s, e in self.spans],
            "special": list(self.special),
            "n_tokens": len(self.ids),
            "n_chars": self.n_chars,
            "n_bytes": self.n_bytes,
        }

    def __repr__(self) -> str:
        shown = ", ".join(repr(t) for t in self.tokens[:12])
        more = f", … ({len(self.ids) - 12} more)" if len(self.ids) > 12 else ""
        return f"Tokenized({self.tokenizer!r}, {len(self.ids)} tokens: [{shown}{more}], ids={self.ids[:12]}{'…' if more else ''})"

    def _repr_html_(self) -> str:
        from .html import tokenized_html

        return tokenized_html([self])
