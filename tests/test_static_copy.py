"""The static copy of every view, read where JavaScript does not run (GitHub, nbviewer, a PDF
export): the ``text/html`` a notebook saves in the output's mimebundle, loaded alone as a page in
Debian's Chromium with JavaScript off, shows every token's text and id and the counts.

Tokens are read from the DOM as a chip's text followed by its id in a ``<sub>``; the expected
values come from tokenlens in Python.
"""

from __future__ import annotations

import contextlib

import pytest

import tokenlens

from .conftest import flores
from .test_browser import chromium_page
from .test_learning import lm_roots, lms  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

WS = str.maketrans({" ": "·", "\t": "→", "\n": "↵"})

#: every <sub> holding a whole number, paired with the text before it in the same element
PAIRS_JS = """root => Array.from(root.querySelectorAll('sub'))
  .filter(s => /^\\d+$/.test(s.textContent.trim()))
  .map(s => {
    let text = '';
    for (const node of s.parentElement.childNodes) {
      if (node === s) break;
      text += node.textContent;
    }
    return [text, Number(s.textContent.trim())];
  })"""


def saved_html(obj) -> str:
    """The text/html of obj's output as IPython saves it in the notebook."""
    bundle = obj._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data, "the live view is a widget"
    html = data["text/html"]
    assert "<script" not in html.lower()
    return html


class StaticPage:
    """A saved output opened alone in Chromium with JavaScript disabled."""

    def __init__(self, page, folder):
        self.page = page
        self.folder = folder
        self.n = 0

    async def open(self, html: str) -> StaticPage:
        # a script that must not run proves JavaScript is off
        self.n += 1
        path = self.folder / f"output{self.n}.html"
        path.write_text(
            '<!doctype html><html><head><meta charset="utf-8"></head><body>'
            f"{html}<script>document.body.dataset.js = 'ran'</script></body></html>",
            encoding="utf-8",
        )
        await self.page.goto(path.as_uri())
        assert await self.page.evaluate("document.body.dataset.js") is None, "JavaScript ran"
        return self

    async def text(self, selector: str = "body") -> str:
        return " ".join((await self.page.locator(selector).first.inner_text()).split())

    async def pairs(self, selector: str = "body") -> list[tuple[str, int]]:
        return [tuple(p) for p in await self.page.locator(selector).first.evaluate(PAIRS_JS)]

    async def rows(self, selector: str) -> list[list[str]]:
        return await self.page.locator(selector).evaluate_all(
            "trs => trs.map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))"
        )


@contextlib.asynccontextmanager
async def static_page(folder):
    # pytest-jupyter's plugin runs async tests but not async fixtures
    async with chromium_page(java_script_enabled=False) as page:
        yield StaticPage(page, folder)


def _expected_pairs(result) -> list[tuple[str, int]]:
    return [(tok.translate(WS), tid) for tok, tid in zip(result.tokens, result.ids)]


@pytest.mark.parametrize(
    "tokenizers", [["gpt2"], ["gpt2", "cl100k_base", "bert-base-uncased", "llama-2"]], ids=["one", "several"]
)
async def test_token_view(tmp_path, tokenizers):
    async with static_page(tmp_path) as static:
        text = "Hello world,\tଓଡ଼ିଆ ଭାଷା!\n  12345 tokens"
        comparison = tokenlens.compare(text, tokenizers)
        view = await static.open(saved_html(comparison))
        assert await view.pairs() == [p for r in comparison.results for p in _expected_pairs(r)]
        shown = await view.text()
        for r in comparison.results:
            # each tokenizer's vocabulary size, as the live compare view's "vocab" column gives it
            assert f"{r.tokenizer} · {len(r)} tokens · {r.n_chars} characters · vocabulary {r.vocab_size:,}" in shown


@pytest.mark.parametrize(
    ("text", "tokenizers", "markers"),
    [
        ("I love tokenization", ["gpt2", "bert-base-uncased", "llama-2"], ["Ġ", "▁", "##"]),
        ("I love tokenization", ["bert-base-uncased"], ["##"]),
        ("Hello", ["gpt2", "bert-base-uncased"], []),
    ],
    ids=["all", "wordpiece", "none"],
)
async def test_token_view_explains_the_markers_it_shows(tmp_path, text, tokenizers, markers):
    """Where Ġ, ▁ or ## appear in the pieces shown, the saved copy says what they mean, with the
    live legend's sentences; where none appear, it says nothing about them."""
    from tokenlens.core.lookup import MARKERS

    async with static_page(tmp_path) as static:
        comparison = tokenlens.compare(text, tokenizers)
        await static.open(saved_html(comparison))
        lines = await static.page.locator(".tokenlens-marker").all_inner_texts()
        assert lines == [MARKERS[m] for m in markers]
        # each chip's title spells the vocabulary's own piece where it differs from the text
        titles = await static.page.locator("span[title]").evaluate_all("els => els.map(e => e.title)")
        pieces = [p for r in comparison.results for p in r.pieces]
        assert [t.partition(" · piece ")[2] or None for t in titles] == [
            p if p != tok else None for r in comparison.results for p, tok in zip(r.pieces, r.tokens)
        ]
        assert len(titles) == len(pieces)


def test_marker_sentences_are_the_live_views():
    """The sentences live in Python once (core/lookup.py) and in the TypeScript renderer once
    (src/render/markers.ts): both must say the same."""
    import re

    from tokenlens.core.lookup import MARKERS, markers_in

    from .conftest import ROOT

    ts = (ROOT / "src" / "render" / "markers.ts").read_text(encoding="utf-8")
    block = ts[ts.index("export const MARKERS") :]
    block = block[: block.index("];") + 2]
    spelled = re.findall(r"\[\s*'([^']+)',\s*'((?:[^'\\]|\\.)*)'\s*\]", block)
    assert spelled and dict(spelled) == MARKERS and [m for m, _ in spelled] == list(MARKERS)
    # and the same rule for which pieces carry them: ## only as a word's continuation
    assert markers_in(["##", "#", "a##b"]) == [] and markers_in(["##ing", "Ġa", "▁b"]) == ["Ġ", "▁", "##"]


async def test_pipeline(tmp_path):
    async with static_page(tmp_path) as static:
        pipe = tokenlens.pipeline("Héllo  wörld, tokens!", "bert-base-uncased")
        view = await static.open(saved_html(pipe))
        assert await static.page.locator("li").count() == len(pipe.stages)
        for i, stage in enumerate(pipe.stages):
            item = f"li:nth-of-type({i + 1})"
            shown = await view.text(item)
            assert shown.startswith(f"{stage['stage']} — {stage['what']}")
            if stage["stage"] in {"model", "post-processor"}:
                assert await view.pairs(item) == list(zip(stage["tokens"], stage["ids"]))
                assert f"{len(stage['ids'])} tokens" in shown
            if stage["stage"] == "ids":
                assert ", ".join(str(i) for i in stage["ids"]) in shown
        assert list(pipe.stage("ids")["ids"]) == list(tokenlens.tokenize(pipe.text, "bert-base-uncased").ids)


@pytest.mark.usefixtures("lms")
async def test_predictions_and_generation(tmp_path):
    async with static_page(tmp_path) as static:
        preds = tokenlens.next_tokens("The cat sat on the mat.", "bigram", top_k=3)
        view = await static.open(saved_html(preds))
        expected = []
        for p in preds.positions:
            expected += [(p.token, p.id), *[(t, i) for i, t, _ in p.top]]
        assert await view.pairs() == expected
        assert [p.id for p in preds.positions] == list(tokenlens.tokenize(preds.text, "gpt2").ids)
        assert f"after each token ({len(preds.positions)} tokens)" in await view.text()

        gen = tokenlens.generate("The cat", "bigram", max_new_tokens=5)
        view = await static.open(saved_html(gen))
        assert await view.pairs() == [(s["token"], s["id"]) for s in gen.steps]
        assert f"{len(gen.steps)} tokens" in await view.text()


async def test_dataset_view(tmp_path):
    async with static_page(tmp_path) as static:
        rows = [*flores("eng_Latn")[:40], "", "x"]
        dataset = tokenlens.dataset_view(rows, "gpt2", context_length=40, longest=5)
        counts = [len(tokenlens.tokenize(r, "gpt2")) for r in rows]
        view = await static.open(saved_html(dataset))
        summary = {r[0]: r[1] for r in await view.rows(".tokenlens-dataset > table:first-of-type tr")}
        assert summary["rows"] == f"{len(rows):,}"
        assert summary["total tokens"] == f"{sum(counts):,}"
        over = [n for n in counts if n > 40]
        assert summary["over 40 tokens"].startswith(f"{len(over):,} rows")
        assert summary["over 40 tokens"].endswith(f"losing {sum(n - 40 for n in over):,} tokens")
        longest = await view.rows(".tokenlens-dataset thead ~ tbody tr")
        assert [int(r[1].replace(",", "")) for r in longest] == sorted(counts, reverse=True)[:5]
        for row, tokens, _preview in longest:
            assert counts[int(row)] == int(tokens.replace(",", ""))


async def test_training_report(tmp_path):
    async with static_page(tmp_path) as static:
        heldout = " ".join(flores("eng_Latn", "devtest")[:20])
        result = tokenlens.train_tokenizer(
            flores("eng_Latn")[:150],
            name="static-report",
            vocab_size=400,
            heldout=heldout,
            compare=["gpt2"],
            progress=None,
        )
        view = await static.open(saved_html(result))
        assert f"{result.vocab_size:,} tokens" in await view.text()
        fit = {r[0]: r[1] for r in await view.rows(".tokenlens-fit tr") if r[0] != "tokenizer"}
        assert fit == {name: f"{len(tokenlens.tokenize(heldout, name)):,}" for name in ("static-report", "gpt2")}
        # the word's build ends with the trained tokenizer's own tokens and ids
        word = tokenlens.tokenize(result.word, "static-report")
        built = await view.pairs(".tokenlens-static .tokenlens-static")
        assert built[-len(word) :] == _expected_pairs(word)
        merges = await view.rows("h5:has-text('Merges in order') ~ table tr")
        assert len(merges) - 1 == min(100, len(result.merges))
        trained = tokenlens.load("static-report")
        for _rank, _pair, token, token_id, *_ in merges[1:]:
            assert token == trained.display(int(token_id)).strip()
