"""The pipeline and prediction views' front ends in Debian's Chromium, fed from real tokenizers
and a tiny causal LM made here (tests/_tiny_lm.py).

Screenshots land in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import json

import pytest

import tokenlens

from ._harness import ARTIFACTS, SKIP_REASON, harness_page, have_chromium

pytestmark = pytest.mark.browser

if not have_chromium():  # pragma: no cover
    pytest.skip(SKIP_REASON, allow_module_level=True)

ENGLISH = "Héllo NLP, tokenizers!"
ODIA = "ଓଡ଼ିଆ ଭାଷା ସୁନ୍ଦର ।"


@pytest.fixture
def payload(tmp_path, monkeypatch):
    import os

    from ._tiny_lm import build_bigram_lm
    from .conftest import TOKENIZERS

    models = tmp_path / "models"
    build_bigram_lm(
        models / "bigram", ["The cat sat on the mat. The dog sat on the mat. The cat sat on the rug.", ODIA]
    )
    monkeypatch.setenv("TOKENLENS_PATH", f"{TOKENIZERS}{os.pathsep}{models}")
    english = tokenlens.next_tokens("The cat sat on the", "bigram", top_k=5)
    english.generation = tokenlens.generate("The cat sat on the", "bigram", max_new_tokens=6)
    odia = tokenlens.next_tokens(ODIA, "bigram", top_k=3)
    odia.generation = tokenlens.generate("ଓଡ଼ିଆ", "bigram", max_new_tokens=4)
    data = {
        "pipelines": [
            tokenlens.pipeline(ENGLISH, "bert-base-uncased").to_dict(),
            tokenlens.pipeline(ODIA, "gpt2").to_dict(),
        ],
        "predictions": [english.to_dict(), odia.to_dict()],
    }
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "learning_sample.json"
    path.write_text(json.dumps(data))
    return data, path


def test_learning_views_in_chromium(payload):
    data, path = payload
    with harness_page(f"learning.html?data=/tests/artifacts/{path.name}", width=900, height=1200) as page:
        url = page.url

        # BERT: every stage, the lowercasing marked, and the lossy round trip spelled out
        bert = page.locator("#pipeline-0")
        stages = bert.locator(".tl-stage").evaluate_all("els => els.map(e => e.dataset.stage)")
        assert stages == ["normalizer", "pre-tokenizer", "model", "post-processor", "ids", "decoder"]
        assert bert.locator(".tl-stage[data-stage='normalizer'] mark.tl-change").count() >= 2
        assert "lossy" in bert.locator(".tl-badge").inner_text()
        lost = bert.locator(".tl-lost").inner_text()
        assert "NLP" in lost and "nlp" in lost
        assert bert.locator(".tl-stage[data-stage='post-processor'] .tl-token.tl-special").count() == 2
        ids = data["pipelines"][0]["stages"][4]["ids"]
        assert bert.locator(".tl-id").all_inner_texts() == [str(i) for i in ids]
        # pointing at a pre-tokenizer piece lights its characters in the normalised text
        bert.locator(".tl-piece").nth(1).hover()
        lit = bert.locator(".tl-stage[data-stage='normalizer'] .tl-ch.tl-lit").all_inner_texts()
        assert "".join(lit) == data["pipelines"][0]["stages"][1]["pieces"][1][0]
        # pointing at a model token lights the characters of the input it came from
        bert.locator(".tl-stage[data-stage='model'] .tl-token").nth(0).hover()
        assert "".join(bert.locator(".tl-stage-text .tl-ch.tl-lit").all_inner_texts()) == "Héllo"
        # a typed text goes to the kernel
        bert.locator("textarea").fill("Another text")
        bert.locator("button[type='submit']").click()
        assert page.evaluate("window.models['pipeline-0'].state.text") == "Another text"
        assert page.evaluate("window.models['pipeline-0'].saved") == 1
        # GPT-2 on Odia: lossless, the bytes of split characters shown as bytes
        odia = page.locator("#pipeline-1")
        assert "lossless" in odia.locator(".tl-badge").inner_text()
        assert odia.locator(".tl-stage[data-stage='model'] .tl-token.tl-bytes").count() > 0
        assert odia.locator(".tl-lost").count() == 0

        # predictions: top-k chips per position, probabilities that sum to at most 1
        pred = page.locator("#predict-0")
        chips = pred.locator(".tl-pred-tokens .tl-token")
        assert chips.count() == len(data["predictions"][0]["positions"]) == 5
        for k in range(chips.count()):
            chips.nth(k).hover()
            rows = pred.locator(".tl-topk .tl-cand")
            assert rows.count() == 5
            probs = [float(x) for x in rows.evaluate_all("els => els.map(e => e.dataset.prob)")]
            assert sum(probs) <= 1 + 1e-6 and probs == sorted(probs, reverse=True)
        chips.nth(4).hover()  # after " the": mat twice as likely as rug
        assert pred.locator(".tl-topk .tl-cand .tl-token-text").all_inner_texts()[:2] == ["·mat", "·rug"]
        chips.nth(1).click()
        assert page.evaluate("window.models['predict-0'].state.selected") == 1
        page.mouse.move(0, 0)
        assert pred.locator(".tl-pred-tokens .tl-token.tl-picked").get_attribute("data-index") == "1"
        assert pred.locator(".tl-cand.tl-actual").count() == 1  # " sat" came next and was expected
        steps = data["predictions"][0]["generation"]["steps"]
        assert pred.locator(".tl-steps tbody tr").count() == len(steps)
        assert pred.locator(".tl-so-far").last.inner_text().replace("·", " ") == steps[-1]["text"]
        # the controls say how the continuation shown was made
        assert pred.locator(".tl-gen-controls input[type='number']").input_value() == str(len(steps))
        pred.locator(".tl-gen-controls input[type='number']").fill("3")
        pred.locator(".tl-gen-controls button").click()
        assert page.evaluate("window.models['predict-0'].sent") == [
            {"type": "generate", "max_new_tokens": 3, "greedy": True}
        ]
        assert page.locator("#predict-1 .tl-pred-tokens .tl-token").count() == len(data["predictions"][1]["positions"])
        # GPT-2's byte tokens of an Odia character sit together under that character
        first = page.locator("#predict-1 .tl-pred-tokens .tl-group").first
        assert first.locator(".tl-group-text").inner_text() == ODIA[0]
        assert first.locator(".tl-token").count() == 3  # ଓ is three bytes, three tokens

        page.mouse.move(0, 0)
        for theme in ("light", "dark"):
            page.goto(url + f"&theme={theme}")
            page.wait_for_selector("body[data-ready='true']")
            page.locator("#pipeline-0 .tl-piece").nth(1).hover()
            page.locator("#pipeline-0").screenshot(path=str(ARTIFACTS / f"pipeline-bert-{theme}.png"))
            page.mouse.move(0, 0)
            page.locator("#pipeline-1").screenshot(path=str(ARTIFACTS / f"pipeline-odia-{theme}.png"))
            # a click keeps the position (a hover would end when the screenshot scrolls)
            page.locator("#predict-0 .tl-pred-tokens .tl-token").nth(4).click()
            page.mouse.move(0, 0)
            page.locator("#predict-0").screenshot(path=str(ARTIFACTS / f"predict-english-{theme}.png"))
            page.locator("#predict-1 .tl-pred-tokens .tl-token").nth(2).click()
            page.mouse.move(0, 0)
            page.locator("#predict-1").screenshot(path=str(ARTIFACTS / f"predict-odia-{theme}.png"))
