"""The renderer shows new results in place (the panel while someone types), in Chromium.

Each step draws a payload into the same element, keeping the blocks before the first change,
and draws the same payload afresh beside it: the two must be the same DOM, for real tokenizer
output on English, Odia and emoji text, edits at the end, in the middle and at the start.
"""

from __future__ import annotations

import pytest

import tokenlens

from ._harness import SKIP_REASON, harness_page, have_chromium
from .conftest import flores

pytestmark = pytest.mark.browser

if not have_chromium():  # pragma: no cover
    pytest.skip(SKIP_REASON, allow_module_level=True)


def harness(page: str = "inplace.html"):
    return harness_page(page, width=800, height=900, state="attached")


def payload(text: str, names: list[str]) -> dict:
    return {"results": [tokenlens.tokenize(text, n).to_dict() for n in names]}


def edits(base: str) -> list[str]:
    """What a person does to a cell: type at the end, a new line, an edit in the middle, at
    the start, Odia and emoji, a special token's text, deleting back."""
    steps = [base]
    for ch in "I love NLP":
        steps.append(steps[-1] + ch)
    steps.append(steps[-1] + "\n")
    steps.append(steps[-1] + "ଓଡ଼ିଆ ଭାଷା 👩‍👩‍👧")
    steps.append(steps[-1] + " <|endoftext|> [SEP]")
    mid = len(base) // 2
    steps.append(steps[-1][:mid] + "XYZ" + steps[-1][mid:])
    steps.append("Hello " + steps[-1])
    steps.append(steps[-1][:-5])
    steps.append(steps[-1][: len(steps[-1]) // 3])
    steps.append("")
    steps.append("again")
    return steps


def test_in_place_matches_a_fresh_drawing():
    base = "\n".join(flores("eng_Latn")[:6] + flores("ory_Orya")[:2] + flores("eng_Latn")[6:10])
    options = {"virtualize": False, "layout": "stacked"}
    runs = {}
    with harness() as page:
        for names in (["gpt2"], ["bert-base-uncased"], ["llama-2"], ["gpt2", "llama-2"]):
            page.evaluate("() => { document.getElementById('live').replaceChildren(); }")
            runs[tuple(names)] = [
                page.evaluate("([p, o]) => step(p, o)", [payload(text, names), options]) for text in edits(base)
            ]
    for names, outs in runs.items():
        check_run(list(names), outs)


def check_run(names: list[str], outs: list[dict]) -> None:
    in_place = kept_some = 0
    for k, out in enumerate(outs):
        assert out["same"], f"step {k} ({names}): the in-place drawing differs from a fresh one"
        in_place += out["inPlace"]
        if k > 0 and k <= 10:  # typing at the end keeps every block but the last ones
            assert out["inPlace"] and out["kept"] >= out["blocks"] - 2, (k, out["kept"], out["blocks"])
            kept_some += 1
    assert in_place == len(outs) - 1  # only the first drawing is fresh
    assert kept_some == 10


def test_a_long_virtual_result_keeps_its_blocks():
    text = "\n".join((flores("eng_Latn") * 3)[:600])
    with harness() as page:
        first = page.evaluate("([p, o]) => step(p, o)", [payload(text, ["gpt2"]), {}])
        # scroll to the end and let the blocks there be drawn
        # (heights are learnt while scrolling: keep going to the end until it is drawn)
        page.wait_for_function(
            "() => { const s = document.querySelector('#live .tl-scroll');"
            " s.scrollTop = s.scrollHeight;"
            " return !s.lastElementChild.classList.contains('tl-placeholder'); }",
            polling=100,
        )
        out = page.evaluate("([p, o]) => step(p, o)", [payload(text + " and more", ["gpt2"]), {}])
        # the end of the text, where the edit was, is drawn at once (no placeholder)
        last = page.evaluate(
            "() => { const b = [...document.querySelectorAll('#live .tl-tokens > .tl-block')].pop();"
            " return [b.classList.contains('tl-placeholder'), b.textContent]; }"
        )
    assert not first["inPlace"] and first["blocks"] > 20
    assert out["inPlace"]
    # every block but the changed last ones is the same element as before
    assert out["kept"] >= out["blocks"] - 2, (out["kept"], out["blocks"])
    assert last[0] is False and "more" in last[1]


def test_the_special_token_toggle_shows_only_where_it_works():
    """The notebook widget's toolbar: the toggle appears when the kernel can tokenize again."""
    with harness("index.html?only=odia") as page:
        toggle = page.locator("#sample-odia .tl-opt-special")
        assert toggle.is_hidden()  # a model without can_toggle_special (e.g. decoded ids)
        page.evaluate("() => window.models.odia.set('can_toggle_special', true)")
        assert toggle.is_visible() and toggle.locator("input").is_checked()
        toggle.locator("input").click()
        assert page.evaluate("() => window.models.odia.get('add_special_tokens')") is False


# In-page: whether the block at the middle of the live result's visible part is drawn (not a
# placeholder).
MIDDLE_DRAWN = """() => {
  const s = document.querySelector('#live .tl-scroll');
  const box = s.getBoundingClientRect();
  const mid = document.elementFromPoint(box.left + 40, box.top + box.height / 2)?.closest('.tl-block');
  return !!mid && !mid.classList.contains('tl-placeholder') && mid.querySelector('.tl-token') !== null;
}"""

# In-page: scroll that scroller `frames` times by `step` px (or by its height when step is 0),
# one scroll per animation frame, and say after each frame whether MIDDLE_DRAWN.
SCROLL = (
    """async ([frames, step]) => {
  const middleDrawn = """
    + MIDDLE_DRAWN
    + """;
  const s = document.querySelector('#live .tl-scroll');
  const drawn = [];
  for (let f = 0; f < frames; f++) {
    s.scrollTop += step || s.clientHeight;
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
    drawn.push(middleDrawn());
  }
  return drawn;
}"""
)


def test_a_scrollbar_drag_draws_once_it_slows():
    """Dragging the scrollbar moves a screenful or more per frame: drawing each screenful would
    cost more than a frame and be gone at the next, so the blocks flying by stay placeholders
    and the view is drawn once the scroll slows. A wheel scroll is drawn as it goes."""
    text = "\n".join((flores("eng_Latn") * 4)[:900])
    with harness() as page:
        page.evaluate("([p, o]) => step(p, o)", [payload(text, ["gpt2"]), {}])
        page.wait_for_function("() => document.querySelector('#live .tl-scroll')?.scrollHeight > 20000")
        flying = page.evaluate(SCROLL, [14, 0])
        # the first scroll of a drag is not yet flying; after it, nothing is drawn in passing
        assert sum(flying[2:]) <= 1, flying
        # once it stops, what is in view is drawn within a few frames
        page.wait_for_function(MIDDLE_DRAWN, timeout=5_000)
        wheel = page.evaluate(SCROLL, [30, 100])
        assert sum(wheel) >= 27, wheel  # a wheel scroll keeps the view drawn as it moves
