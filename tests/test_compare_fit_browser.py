"""The compare view at the side panel's default width, in Chromium: a short text shows every
token's id in its bar, nothing is clipped (the counts table, the tokenizers' names), each
tokenizer's vocabulary size is shown, and the markers Ġ ▁ ## are explained in the legend and
in the token card."""

from __future__ import annotations

import pytest

import tokenlens

from ._harness import SKIP_REASON, harness_page, have_chromium

pytestmark = pytest.mark.browser

if not have_chromium():  # pragma: no cover
    pytest.skip(SKIP_REASON, allow_module_level=True)

NAMES = ["gpt2", "bert-base-uncased", "llama-2", "cl100k_base"]
#: the Tokens panel's default width, less its padding
PANEL_WIDTH = 240

CLIPPED = """() => {
  const out = [];
  const check = (el, what) => {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') return;  // not drawn, so not cut
    if (el.scrollWidth > el.clientWidth + 0.5) out.push([what, el.textContent, el.scrollWidth, el.clientWidth]);
    const r = el.getBoundingClientRect();
    const box = document.getElementById('live').getBoundingClientRect();
    if (r.right > box.right + 0.5 || r.left < box.left - 0.5) out.push([what + ' outside', el.textContent]);
  };
  document.querySelectorAll('#live .tl-counts-wrap').forEach(el => check(el, 'counts'));
  document.querySelectorAll('#live .tl-counts td').forEach(el => check(el, 'cell'));
  document.querySelectorAll('#live .tl-lane-label').forEach(el => check(el, 'lane label'));
  document.querySelectorAll('#live .tl-bar-id').forEach(el => check(el, 'id'));
  return out;
}"""

SHOWN_IDS = """() => [...document.querySelectorAll('#live .tl-lane[data-lane]')].map(lane => ({
  lane: Number(lane.dataset.lane),
  ids: [...lane.querySelectorAll('.tl-bar:not(.tl-cont)')].map(bar => {
    const label = bar.querySelector('.tl-bar-id');
    const cs = label && getComputedStyle(label);
    const shown = label && cs.display !== 'none' && cs.visibility !== 'hidden' && label.getBoundingClientRect().width > 0;
    return shown ? Number(label.textContent) : null;
  })
}))"""


def payload(text: str, names: list[str]) -> dict:
    return {"results": [tokenlens.tokenize(text, n).to_dict() for n in names]}


def draw(page, text: str, names: list[str], width: int, options: dict | None = None) -> None:
    page.evaluate("w => { document.body.style.width = `${w}px`; }", width)
    page.evaluate("([p, o]) => step(p, o)", [payload(text, names), options or {}])


def test_a_short_text_shows_every_id_and_nothing_is_clipped_at_panel_width():
    text = "I love NLP"
    results = {n: tokenlens.tokenize(text, n) for n in NAMES}
    with harness_page("inplace.html", width=900, height=900, state="attached") as page:
        for width in (PANEL_WIDTH, 760):
            draw(page, text, NAMES, width)
            assert page.evaluate("() => document.getElementById('live').dataset.layout") == "aligned"
            assert page.evaluate(CLIPPED) == [], width
            # every tokenizer's full name, in the counts and on its lane
            names = page.locator("#live .tl-counts .tl-n-name").all_inner_texts()
            assert names == NAMES
            labels = page.locator("#live .tl-col-label").first.locator(".tl-lane-label").all_inner_texts()
            assert labels == NAMES
            # the vocabulary's size beside the counts
            for name in NAMES:
                vocab = page.locator(f"#live .tl-counts tr[data-tokenizer='{name}'] .tl-n-vocab").inner_text()
                assert vocab.replace(",", "") == str(results[name].vocab_size)
            # each token's bar shows its id, in reading order
            lanes = page.evaluate(SHOWN_IDS)
            by_lane: dict[int, list] = {}
            for lane in lanes:
                by_lane.setdefault(lane["lane"], []).extend(lane["ids"])
            for k, name in enumerate(NAMES):
                assert by_lane[k] == results[name].ids, (width, name)
        page.screenshot(path="tests/artifacts/compare-short-ids.png")

        # the ids toggle hides them (and the lanes shrink back)
        draw(page, text, NAMES, PANEL_WIDTH, {"showIds": False})
        assert all(i is None for lane in page.evaluate(SHOWN_IDS) for i in lane["ids"])


def test_odia_bytes_share_their_letter_and_show_ids_only_where_they_fit():
    text = "ଓଡ଼ିଆ ଭାଷା ସୁନ୍ଦର"
    with harness_page("inplace.html", width=900, height=900, state="attached") as page:
        draw(page, text, NAMES, PANEL_WIDTH)
        assert page.evaluate(CLIPPED) == []
        lanes = page.evaluate(SHOWN_IDS)
        shown = {k: [i for lane in lanes if lane["lane"] == k for i in lane["ids"] if i is not None] for k in range(4)}
        # Llama 2's whole-letter tokens and BERT's [UNK] show their ids; every id shown is the token's
        assert 29871 in shown[2] and 100 in shown[1]
        for k, name in enumerate(NAMES):
            assert set(shown[k]) <= set(tokenlens.tokenize(text, name).ids)
        # GPT-2's bytes of one letter share the letter's width rather than widening it
        assert page.locator("#live .tl-lane[data-lane='0'] .tl-bar-part").count() > 20
        widest = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('#live .tl-col:not(.tl-col-label)')]"
            ".map(c => c.getBoundingClientRect().width))"
        )
        assert widest < PANEL_WIDTH / 2
        page.screenshot(path="tests/artifacts/compare-odia-panel-width.png")


def test_markers_are_explained_in_the_legend_and_the_card():
    with harness_page("inplace.html", width=900, height=900, state="attached") as page:
        draw(page, "I love tokenization", NAMES, PANEL_WIDTH)
        legend = page.locator("#live .tl-aligned-legend .tl-marker")
        assert legend.evaluate_all("els => els.map(e => e.dataset.marker)") == ["Ġ", "▁", "##"]
        assert "continues a word" in legend.nth(2).inner_text()
        # GPT-2's " love" is the piece "Ġlove": its card says what Ġ means
        gpt2 = NAMES.index("gpt2")
        page.locator(f"#live .tl-lane[data-lane='{gpt2}'] .tl-bar[data-id='1842']").first.click()
        card = page.locator(".tl-card:not([hidden])")
        card.wait_for()
        assert card.locator(".tl-card-piece").inner_text() == "Ġlove"
        assert "space before the word" in card.locator(".tl-card-marker").inner_text()
        # BERT's "##ization" continues a word
        bert = NAMES.index("bert-base-uncased")
        page.keyboard.press("Escape")
        page.locator(f"#live .tl-lane[data-lane='{bert}'] .tl-bar[data-id='3989']").first.click()
        card.wait_for()
        assert card.locator(".tl-card-piece").inner_text() == "##ization"
        assert "continues a word" in card.locator(".tl-card-marker").inner_text()
        # one under the other, the same sentences stand under the counts
        draw(page, "I love tokenization", NAMES, PANEL_WIDTH, {"layout": "stacked"})
        assert page.locator("#live .tl-compare > .tl-markers .tl-marker").count() == 3
        assert page.evaluate(CLIPPED) == []


def test_a_long_text_keeps_its_bars_bare():
    text = " ".join(["I love NLP."] * 80)
    with harness_page("inplace.html", width=900, height=900, state="attached") as page:
        draw(page, text, NAMES[:2], 760)
        assert page.locator("#live .tl-aligned:not(.tl-ids-fit)").count() == 1
        assert page.locator("#live .tl-bar-id").count() == 0
