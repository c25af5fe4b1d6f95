"""Static HTML for token views: no scripts, no network, readable in light and dark pages.

The live views are drawn by the TypeScript renderer; this copy is what a saved notebook shows
where that renderer cannot run. Colours follow the same rule (hue from the token id).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from tokenlens.core.tokenized import Tokenized

_GOLDEN = 0.618033988749895
_WS = str.maketrans({" ": "·", "\t": "→", "\n": "↵"})


def token_hue(token_id: int) -> int:
    """The hue (0-360) of a token id, the same as ``hueForId`` in ``src/render/colors.ts``.

    The bits are mixed first so that neighbouring ids do not get neighbouring hues.
    """
    mask = 0xFFFFFFFF

    def imul(a: int, b: int) -> int:
        return (a * b) & mask

    h = token_id & mask
    h = imul(h ^ (h >> 16), 0x45D9F3B)
    h = imul(h ^ (h >> 16), 0x45D9F3B)
    h = (h ^ (h >> 16)) & mask
    return math.floor(((h * _GOLDEN) % 1) * 360 + 0.5)


def chip_html(
    token_id: int,
    text: str,
    *,
    title: str = "",
    extra: str = "",
    special: bool = False,
    visible_whitespace: bool = False,
    show_id: bool = True,
) -> str:
    """One token as a static chip: its text on the hue of its id, the id in a ``<sub>`` after the
    text (what the static-copy tests read), ``extra`` HTML after that (a probability, say).

    ``visible_whitespace`` draws spaces, tabs and newlines as · → ↵, where a run of tokens would
    otherwise hide them; a special token ([CLS], <s>) is outlined and in italics.
    """
    style = (
        f"background:hsla({token_hue(token_id)},70%,60%,.35);border-radius:3px;padding:0 2px;margin:0 1px;"
        "display:inline-block;font-family:monospace;white-space:pre"
    )
    if special:
        style += ";outline:1px dashed currentColor;font-style:italic"
    shown = escape(text.translate(_WS) if visible_whitespace else text)
    sub = f'<sub style="opacity:.7">{token_id}</sub>' if show_id else ""
    return f'<span style="{style}" title="{escape(title or f"id {token_id}")}">{shown}{sub}{extra}</span>'


def marker_lines(pieces: Sequence[str]) -> list[str]:
    """The sentences explaining the markers (Ġ, ▁, ##) these vocabulary pieces carry, as the live
    view's legend gives them (the sentences live once, in ``tokenlens.core.lookup.MARKERS``)."""
    from tokenlens.core.lookup import MARKERS, markers_in

    return [MARKERS[m] for m in markers_in(pieces)]


def tokenized_html(results: Sequence[Tokenized], limit: int = 5000) -> str:
    parts = ['<div class="tokenlens-static" style="font-family:monospace;line-height:2.1">']
    shown_pieces: list[str] = []
    for r in results:
        vocab = f" · vocabulary {r.vocab_size:,}" if r.vocab_size else ""
        parts.append(f"<div><b>{escape(r.tokenizer)}</b> · {len(r)} tokens · {r.n_chars} characters{vocab}</div>")
        parts.append("<div>")
        pieces = r.pieces
        for i, (tid, tok, sp) in enumerate(zip(r.ids, r.tokens, r.special)):
            if i >= limit:
                parts.append(f"<span> … {len(r) - limit} more tokens</span>")
                break
            piece = pieces[i] if i < len(pieces) else tok
            # the vocabulary's own spelling (Ġlove, ▁love, ##ing) where it differs from the text
            title = f"id {tid} · piece {piece}" if piece != tok else f"id {tid}"
            if not sp:
                shown_pieces.append(piece)
            parts.append(chip_html(tid, tok, title=title, special=sp, visible_whitespace=True))
        parts.append("</div>")
    notes = marker_lines(shown_pieces)
    if notes:
        parts.append('<div class="tokenlens-markers" style="font-family:sans-serif;line-height:1.5">')
        parts.extend(f'<div class="tokenlens-marker">{escape(line)}</div>' for line in notes)
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)
