"""`lookup`: one piece of text across vocabularies: is it one token, which ids, which pieces."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from tokenlens.core.api import TokenizerLike, check_text, load
from tokenlens.errors import InputError

#: vocabulary markers a piece may carry, and what each means (the token card says the same)
MARKERS = {
    "Ġ": "Ġ stands for a space before the word (byte-level BPE: GPT-2, cl100k, o200k).",
    "▁": "▁ stands for a space before the word (SentencePiece: Llama 2, T5).",
    "##": "## marks a piece that continues a word (WordPiece: BERT).",
}


def markers_in(pieces: Sequence[str]) -> list[str]:
    """The markers of :data:`MARKERS` that the pieces carry, in the table's order (the rule of
    ``markersOf`` in src/render/markers.ts: ## only as a prefix, so the token "##" is no marker)."""
    return [m for m in MARKERS if any(_carries(p, m) for p in pieces)]


def _carries(piece: str, marker: str) -> bool:
    return piece.startswith("##") and len(piece) > 2 if marker == "##" else marker in piece


class Lookup:
    """The rows of :func:`lookup`: a list of dicts, a DataFrame (:meth:`to_pandas`) and HTML."""

    def __init__(self, text: str, rows: list[dict[str, Any]]):
        self.text = text
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, tokenizer: str) -> dict[str, Any]:
        for row in self.rows:
            if row["tokenizer"] == tokenizer:
                return row
        raise KeyError(f"{tokenizer!r} is not among {[r['tokenizer'] for r in self.rows]}")

    def to_pandas(self):
        """The table as a pandas DataFrame indexed by tokenizer."""
        import pandas as pd

        return pd.DataFrame(self.rows).set_index("tokenizer")

    def markers(self) -> list[str]:
        """Explanations of the markers (Ġ, ▁, ##) that appear in the pieces."""
        return [MARKERS[m] for m in markers_in([p for r in self.rows for p in r["pieces"]])]

    def __repr__(self) -> str:
        lines = [f"lookup({self.text!r}):"]
        for r in self.rows:
            one = "one token" if r["one_token"] else f"{r['n_tokens']} tokens"
            lines.append(f"  {r['tokenizer']}: {one}, ids={r['ids']}, pieces={r['pieces']}, vocab {r['vocab_size']:,}")
        return "\n".join(lines + [f"  {m}" for m in self.markers()])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("tokenizer", "one token?", "ids", "pieces", "vocabulary size"))
        body = "".join(
            "<tr>"
            f"<td>{html.escape(r['tokenizer'])}</td>"
            f"<td>{'yes' if r['one_token'] else 'no: %d tokens' % r['n_tokens']}</td>"
            f"<td><code>{html.escape(', '.join(map(str, r['ids'])))}</code></td>"
            f"<td><code>{html.escape(' '.join(repr(p) for p in r['pieces']))}</code></td>"
            f"<td>{r['vocab_size']:,}</td>"
            "</tr>"
            for r in self.rows
        )
        notes = "".join(f"<p>{html.escape(m)}</p>" for m in self.markers())
        return (
            f"<div class='tl-lookup'><p>How {html.escape(repr(self.text))} is spelled in each vocabulary:</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</div>"
        )


def lookup(text: str, tokenizers: Sequence[TokenizerLike] | TokenizerLike) -> Lookup:
    """For each tokenizer: is ``text`` one token, its id(s), its piece(s), the vocabulary size.

    No special tokens are added, so "one token" means the vocabulary holds ``text`` as it is
    (mind the space: ``" love"`` and ``"love"`` are different tokens in GPT-2).
    """
    text = check_text(text)
    if not text:
        raise InputError("Give lookup a word or piece of text, e.g. lookup(' love', ['gpt2', 'bert-base-uncased']).")
    names = [tokenizers] if isinstance(tokenizers, str) or not isinstance(tokenizers, Sequence) else list(tokenizers)
    if not names:
        raise InputError("Name at least one tokenizer, e.g. lookup(' love', ['gpt2', 'bert-base-uncased']).")
    # every name is loaded before any text is encoded, so a bad name costs no work
    backends = [load(t) for t in names]
    rows = []
    for backend in backends:
        result = backend.encode(text, add_special_tokens=False)
        rows.append(
            {
                "tokenizer": result.tokenizer,
                "one_token": len(result.ids) == 1,
                "n_tokens": len(result.ids),
                "ids": list(result.ids),
                "pieces": list(result.pieces),
                "vocab_size": result.vocab_size,
            }
        )
    return Lookup(text, rows)
