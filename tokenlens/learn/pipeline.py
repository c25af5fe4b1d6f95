"""The tokenization pipeline, stage by stage, in the tokenizers library's words:
normaliser → pre-tokeniser → model → post-processor → ids → decoder, with the round trip
checked. Also word and character n-grams, to set a feature beside a vocabulary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

from tokenlens.core.api import NO_SANDBOX, Sandbox, TokenizerLike, check_text, load
from tokenlens.learn.textdiff import changes, diff_segments, normalizer_segments
from tokenlens.views.display import ShownAsWidget


@dataclass
class Pipeline(ShownAsWidget):
    _widget_class = "tokenlens.views.learning:PipelineWidget"

    text: str
    tokenizer: str
    #: one dict per stage: {"stage", "what", ...stage data}
    stages: list[dict[str, Any]] = field(default_factory=list)
    #: the loaded tokenizer, so the live view can run another text through it
    backend: Any = field(default=None, repr=False, compare=False)

    def stage(self, name: str) -> dict[str, Any]:
        return next(s for s in self.stages if s["stage"] == name)

    @property
    def lossless(self) -> bool:
        return self.stage("decoder")["round_trip"]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "tokenizer": self.tokenizer, "stages": self.stages}

    def __repr__(self) -> str:
        lines = [f"Pipeline of {self.tokenizer!r} on {len(self.text)} characters:"]
        for s in self.stages:
            lines.append(f"  {s['stage']}: {s['what']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from tokenlens.views.html import chip_html

        out = [f'<div class="tokenlens-pipeline"><b>{escape(self.tokenizer)}</b>: text → tokens → ids → text</div><ol>']
        for s in self.stages:
            body = ""
            if s["stage"] == "normalizer":
                body = _diff_html(s["diff"])
            elif s["stage"] == "pre-tokenizer":
                body = " ".join(
                    f'<code style="border:1px solid #999;padding:0 2px">{escape(p)}</code><sub>{a}–{b}</sub>'
                    for p, (a, b) in s["pieces"]
                )
            elif s["stage"] in {"model", "post-processor"}:
                body = f"<small>{len(s['ids'])} tokens</small> " + " ".join(
                    chip_html(i, t) for t, i in zip(s["tokens"], s["ids"])
                )
            elif s["stage"] == "ids":
                # the numbers themselves: without them a saved copy says only how many
                body = f"<code>{', '.join(str(i) for i in s['ids'])}</code>"
            elif s["stage"] == "decoder":
                mark = "✓ the same text" if s["round_trip"] else "✗ not the same text:"
                body = f"<code>{escape(s['output'])}</code> {mark}"
                if not s["round_trip"]:
                    body += " " + _diff_html(s["diff"])
            out.append(f"<li><b>{escape(s['stage'])}</b> — {escape(s['what'])}<div>{body}</div></li>")
        out.append("</ol>")
        return "".join(out)


def _diff_html(segments: list[dict[str, str]]) -> str:
    """The text after a stage with what the stage changed highlighted."""
    parts = []
    for run in segments:
        if "same" in run:
            parts.append(escape(run["same"]))
        else:
            was = escape(run["was"]) or "∅"
            now = escape(run["now"]) or "∅"
            parts.append(f'<mark title="was {was}">{now}</mark>')
    return "<code>" + "".join(parts) + "</code>"


def pipeline(text: str, tokenizer: TokenizerLike = "gpt2", *, sandbox: Sandbox = NO_SANDBOX) -> Pipeline:
    """The text through each stage of ``tokenizer``'s pipeline (loaded by name within ``sandbox``)."""
    from tokenlens.errors import InputError

    text = check_text(text)
    if not text:
        raise InputError("The text is empty: write a few words to follow through the pipeline.")
    backend = load(tokenizer, sandbox=sandbox)
    result = Pipeline(text, backend.name, backend=backend)
    if backend.kind == "hf":
        tok = backend.tokenizer
        normalized = tok.normalizer.normalize_str(text) if tok.normalizer else text
        kind = type(tok.normalizer).__name__ if tok.normalizer else "none"
        diff = normalizer_segments(tok.normalizer, text) if normalized != text else [{"same": text}]
        result.stages.append(
            {
                "stage": "normalizer",
                "what": f"{kind}: "
                + ("changes nothing here" if normalized == text else "rewrites the text before anything else"),
                "output": normalized,
                "changes": changes(diff),
                "diff": diff,
            }
        )
        pieces = (
            tok.pre_tokenizer.pre_tokenize_str(normalized)
            if tok.pre_tokenizer
            else [(normalized, (0, len(normalized)))]
        )
        pre = type(tok.pre_tokenizer).__name__ if tok.pre_tokenizer else "none"
        result.stages.append(
            {
                "stage": "pre-tokenizer",
                "what": f"{pre}: splits into {len(pieces)} pieces; merges never cross them",
                "pieces": [[p, list(o)] for p, o in pieces],
            }
        )
    else:
        result.stages.append(
            {
                "stage": "normalizer",
                "what": _engine_normalizer(backend),
                "output": text,
                "changes": [],
                "diff": [{"same": text}],
            }
        )
        pieces = _engine_pre_tokens(backend, text)
        result.stages.append(
            {
                "stage": "pre-tokenizer",
                "what": f"splits into {len(pieces)} pieces; merges never cross them",
                "pieces": [[p, list(o)] for p, o in pieces],
            }
        )
    bare = backend.encode(text, add_special_tokens=False)
    result.stages.append(
        {
            "stage": "model",
            "what": f"{backend.model or 'model'}: pieces become vocabulary tokens",
            "tokens": bare.tokens,
            "pieces": bare.pieces,
            "ids": bare.ids,
            "spans": bare.span_array.tolist(),
            "special": list(bare.special),
        }
    )
    full = backend.encode(text, add_special_tokens=True)
    added = [t for t, s, (a, b) in zip(full.tokens, full.special, full.spans) if s and a == b]
    result.stages.append(
        {
            "stage": "post-processor",
            "what": ("adds " + ", ".join(added)) if added else "adds no special tokens",
            "tokens": full.tokens,
            "ids": list(full.ids),
            "special": list(full.special),
        }
    )
    result.stages.append({"stage": "ids", "what": f"{len(full.ids)} numbers: all the model ever sees", "ids": full.ids})
    decoded = backend.decode(bare.ids)
    diff = diff_segments(text, decoded)
    result.stages.append(
        {
            "stage": "decoder",
            "what": "ids back to text",
            "output": decoded,
            "round_trip": decoded == text,
            "changes": changes(diff),
            "diff": diff,
        }
    )
    return result


def _engine_normalizer(backend) -> str:
    if backend.kind == "sentencepiece":
        name = "identity" if getattr(backend, "_bytes_are_text", False) else "SentencePiece's own"
        return f"{name}; spaces become ▁" + (
            " and one ▁ is put before the text" if getattr(backend, "_dummy_prefix", False) else ""
        )
    return "none (tiktoken reads the text as it is)"


def _engine_pre_tokens(backend, text: str) -> list[tuple[str, tuple[int, int]]]:
    if backend.kind == "tiktoken":
        import regex

        return [(m.group(), m.span()) for m in regex.finditer(backend.encoding._pat_str, text)]
    # SentencePiece has no separate pre-tokenizer: whitespace-delimited pieces with their ▁
    import re

    return [
        (
            ("▁" if i or getattr(backend, "_dummy_prefix", False) else "") + m.group().lstrip(" ").replace(" ", "▁"),
            m.span(),
        )
        for i, m in enumerate(re.finditer(r" ?[^ ]+| +", text))
    ]


@dataclass
class NGrams:
    """Word and character n-grams of a text (features: counts, no ids), and beside them the
    same text as one tokenizer's subword tokens (a vocabulary: every token has an id)."""

    text: str
    n: int
    words: list[tuple[str, int]]
    chars: list[tuple[str, int]]
    #: the tokenizer's tokens of the same text: (display string, id, count), most frequent first
    tokens: list[tuple[str, int, int]] = field(default_factory=list)
    tokenizer: str = ""

    #: rows shown per table in the HTML view
    rows = 30

    def _repr_html_(self) -> str:
        from tokenlens.views.html import chip_html

        def table(title: str, note: str, head: list[str], rows: list[tuple]) -> str:
            cells = "".join(f"<th style='text-align:left;padding:0 .8em 0 0'>{h}</th>" for h in head)
            body = "".join(
                "<tr>" + "".join(f"<td style='padding:0 .8em 0 0'>{c}</td>" for c in row) + "</tr>"
                for row in rows[: self.rows]
            )
            more = len(rows) - self.rows
            tail = f"<div style='opacity:.7'>… {more:,} more</div>" if more > 0 else ""
            return (
                "<div style='display:inline-block;vertical-align:top;margin:0 2.5em .8em 0'>"
                f"<b>{title}</b><div style='opacity:.75;font-size:.9em;max-width:22em'>{note}</div>"
                f"<table style='border-collapse:collapse'><tr>{cells}</tr>{body}</table>{tail}</div>"
            )

        def visible(g: str) -> str:
            return escape(g.replace(" ", "·").replace("\n", "↵").replace("\t", "→"))

        def code(g: str) -> str:
            return f"<code style='white-space:pre'>{visible(g)}</code>"

        parts = [
            f"<div style='margin-bottom:.5em'><b>{self.n}-grams</b> are counted features: no vocabulary,"
            " no ids, nothing merged. A tokenizer's tokens come from a fixed vocabulary: each has an id,"
            " and the same text always gives the same ids.</div>",
            table(
                f"word {self.n}-grams",
                f"{len(self.words):,} distinct; whitespace-separated words",
                ["n-gram", "count"],
                [(code(g), c) for g, c in self.words],
            ),
            table(
                f"character {self.n}-grams",
                f"{len(self.chars):,} distinct; every {self.n} characters in a row",
                ["n-gram", "count"],
                [(code(g), c) for g, c in self.chars],
            ),
        ]
        if self.tokens:
            parts.append(
                table(
                    f"{escape(self.tokenizer)} tokens",
                    f"{len(self.tokens):,} distinct of {sum(c for _, _, c in self.tokens):,}; ids from its vocabulary",
                    ["token", "id", "count"],
                    [(chip_html(i, t, visible_whitespace=True, show_id=False), i, c) for t, i, c in self.tokens],
                )
            )
        return "<div class='tokenlens-ngrams'>" + "".join(parts) + "</div>"


def ngrams(text: str, n: int = 2, tokenizer: TokenizerLike | None = None) -> NGrams:
    """Word and character n-grams of ``text`` with their counts; with ``tokenizer``, its
    subword tokens of the same text (display string, id, count) beside them."""
    from tokenlens.errors import InputError

    if n < 1 or n > 10:
        raise InputError("n must be between 1 and 10.")
    words = text.split()
    word_grams = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    char_grams = Counter(text[i : i + n] for i in range(len(text) - n + 1))
    tokens: list[tuple[str, int, int]] = []
    name = ""
    if tokenizer is not None:
        backend = load(tokenizer)
        name = backend.name
        encoded = backend.encode(check_text(text), add_special_tokens=False)
        counts = Counter(encoded.ids)
        shown = dict(zip(encoded.ids, encoded.tokens))
        tokens = [(shown[i], i, c) for i, c in counts.most_common()]
    return NGrams(text, n, word_grams.most_common(), char_grams.most_common(), tokens, name)
