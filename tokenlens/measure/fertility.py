"""Fertility, defined once: what a word is and which tokens each word is charged.

``tokenlens.stats``, the dataset view and the training report's fit all count with this module:

- a word is a run of non-whitespace, as ``str.split`` sees it (every Unicode space separates);
- whole texts are tokenized, as a model sees them, and a word is charged every token that
  overlaps it or the one space just before it (where GPT-2 and Llama 2 put a word's space:
  ``" love"``, ``"▁love"``). A token of spaces alone is charged to no word; a token that runs
  over two words is charged to both; the later bytes of a character split into byte tokens
  belong to that character;
- fertility is the tokens charged to words divided by the words, and a word charged two or
  more tokens is a split word.

The counting is array arithmetic on a batch of texts joined by spaces (``" " + " ".join(texts)
+ " "``), in the unit the engine gives spans in (UTF-8 bytes or characters).
"""

from __future__ import annotations

import numpy as np

from tokenlens.errors import InputError

# Whitespace exactly as str.isspace / str.split see it.
_ASCII_WS = np.zeros(256, dtype=bool)
_ASCII_WS[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
#: whitespace outside ASCII, in UTF-8: lead byte, then the continuation bytes that make a space
_MULTIBYTE_WS = (
    (0xC2, ((0x85,), (0xA0,))),  # U+0085, U+00A0
    (0xE1, ((0x9A, 0x80),)),  # U+1680
    (0xE2, tuple((0x80, b) for b in (*range(0x80, 0x8B), 0xA8, 0xA9, 0xAF)) + ((0x81, 0x9F),)),  # U+2000…
    (0xE3, ((0x80, 0x80),)),  # U+3000
)
_UNI_WS_MAX = 0x3001
_UNI_WS = np.array([chr(c).isspace() for c in range(_UNI_WS_MAX + 1)], dtype=bool)


def joined_units(
    batch: list[str],
    unit: str,
    first_row: int,
    sizes: np.ndarray | None = None,
    raw: list[bytes] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(units of all texts, each after one space and with one at the end; whitespace mask;
    per-text sizes in units). ``raw``: the texts' UTF-8, where the backend has it."""
    try:
        if unit == "byte":
            if raw is None and sizes is None:
                raw = [t.encode("utf-8") for t in batch]
            if raw is not None:  # each text's bytes (the backend's, or made here): joined
                buf = b" " + b" ".join(raw) + b" "
            else:  # the backend measured every text already: one encode of the whole batch
                buf = (" " + " ".join(batch) + " ").encode("utf-8")
            if sizes is None:
                sizes = np.fromiter(map(len, raw), dtype=np.int64, count=len(raw))
            u = np.frombuffer(buf, dtype=np.uint8)
            ws = _byte_whitespace(u)
        else:
            u = np.frombuffer((" " + " ".join(batch) + " ").encode("utf-32-le"), dtype=np.uint32)
            ws = _UNI_WS[np.minimum(u, _UNI_WS_MAX)]
            sizes = np.fromiter(map(len, batch), dtype=np.int64, count=len(batch))
    except UnicodeEncodeError:
        raise (not_unicode(batch, first_row) or InputError("The texts are not valid Unicode.")) from None
    return u, ws, sizes


def not_unicode(batch: list[str], first_row: int) -> InputError | None:
    """The error for a batch that cannot be encoded as UTF-8, naming the text and character."""
    for i, t in enumerate(batch):
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as exc:
            return InputError(
                f"Text {first_row + i} holds an unpaired surrogate at character {exc.start},"
                " which is not valid Unicode; decode its source with errors='replace'."
            )
    return None


def _byte_whitespace(u: np.ndarray) -> np.ndarray:
    """Which bytes of UTF-8 text ``u`` belong to a whitespace character (as str.isspace says)."""
    ws = u <= 0x20
    low = np.flatnonzero(u < 0x20)  # control characters: only some are whitespace
    ws[low] = _ASCII_WS[u[low]]
    n = len(u)
    for lead, tails in _MULTIBYTE_WS:
        width = 1 + len(tails[0])
        at = np.flatnonzero(u[: n - width + 1] == lead)
        if not len(at):
            continue
        hit = np.zeros(len(at), dtype=bool)
        for tail in tails:
            match = np.ones(len(at), dtype=bool)
            for k, byte in enumerate(tail, 1):
                match &= u[at + k] == byte
            hit |= match
        at = at[hit]
        for k in range(width):
            ws[at + k] = True
    return ws


def _tiled(starts: np.ndarray, ends: np.ndarray, first: int, last: int) -> bool:
    """Whether the tokens lie end to end (each ends where the next starts) over ``first..last``."""
    return len(starts) > 0 and starts[0] <= first and last < ends[-1] and bool(np.array_equal(ends[:-1], starts[1:]))


def token_spans(enc, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tokens' spans in the joined buffer of :func:`joined_units`."""
    if enc.joined:  # the backend laid the spans out in this buffer already
        starts, ends = enc.starts, enc.ends
    else:  # text i starts after its separating space; token spans move there
        text_start = np.cumsum(sizes + 1) - sizes
        offset = np.repeat(text_start, enc.counts)
        starts = enc.starts + offset
        ends = enc.ends + offset
    if enc.unit == "char" and len(starts):
        # Engine offsets: the running maximum makes any out-of-order offset harmless.
        starts = np.maximum.accumulate(starts)
        ends = np.maximum.accumulate(ends)
    return starts, ends


def charge_words(u: np.ndarray, ws: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The tokens charged to each word of the joined buffer ``u`` (whitespace mask ``ws``), by
    the rule above; its length is the number of words."""
    # The buffer starts and ends with whitespace, so its changes alternate: word start, word end.
    change = np.flatnonzero(ws[:-1] != ws[1:]) + 1
    word_start, word_end = change[0::2], change[1::2]
    # A word is charged the tokens that overlap it or the one space before it: those that
    # start before its end, less those that end before it (or its space) begins.
    charge_from = word_start - (u[word_start - 1] == 0x20)
    if starts.dtype != word_end.dtype:  # search with the spans' own type (int32 spans stay unconverted)
        word_end, charge_from = word_end.astype(starts.dtype), charge_from.astype(starts.dtype)
    if len(word_end) and _tiled(starts, ends, charge_from[0], charge_from[-1]):
        # Tokens end to end (SentencePiece): the tokens ending at or before a point are those
        # starting at or before it, less one, so one search of the interleaved word edges does.
        edges = np.empty(2 * len(word_end), dtype=starts.dtype)
        edges[0::2] = charge_from + 1
        edges[1::2] = word_end
        at = np.searchsorted(starts, edges, "left")
        return at[1::2] - at[0::2] + 1
    return np.searchsorted(starts, word_end, "left") - np.searchsorted(ends, charge_from, "right")


__all__ = ["charge_words", "joined_units", "not_unicode", "token_spans"]
