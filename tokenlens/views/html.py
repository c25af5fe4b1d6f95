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


def tokenized_html(results: Sequence[Tokenized], limit: int = 5000) -> str:
    parts = ['<div class="tokenlens-static" style="font-family:monospace;line-height:2.1">']
    for r in results:
        parts.append(f"<div><b>{escape(r.tokenizer)}</b> · {len(r)} tokens · {r.n_chars} characters</div>")
        parts.append("<div>")
        for i, (tid, tok, sp) in enumerate(zip(r.ids, r.tokens, r.special)):
            if i >= limit:
                parts.append(f"<span> … {len(r) - limit} more tokens</span>")
                break
            style = (
                f"background:hsla({token_hue(tid)},70%,60%,0.35);border-radius:3px;"
                "padding:0 2px;margin:0 1px;display:inline-block"
            )
            if sp:
                style += ";outline:1px dashed currentColor;font-style:italic"
            parts.append(
                f'<span style="{style}" title="id {tid}">{escape(tok.translate(_WS))}'
                f'<sub style="opacity:.7">{tid}</sub></span>'
            )
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)
