"""An n-gram model's predictions beside a transformer's: the same text, the same ids, one column each.
The transformer is tests/_tiny_lm.py's hand-set GPT-2, a bigram model of the same sentences."""

from __future__ import annotations

import math
import os

import pytest

import tokenlens
from tokenlens.errors import InputError
from tokenlens.views.side_by_side import predictions_perplexity, side_by_side

from .conftest import TOKENIZERS

TRAIN = ["The cat sat on the mat. The dog sat on the mat. The cat sat on the rug."]


@pytest.fixture(scope="module")
def bigram_root(tmp_path_factory):
    from ._tiny_lm import build_bigram_lm

    root = tmp_path_factory.mktemp("lm")
    build_bigram_lm(root / "bigram-lm", TRAIN)
    return root


@pytest.fixture
def lm(bigram_root, monkeypatch):
    monkeypatch.setenv("TOKENLENS_PATH", f"{TOKENIZERS}{os.pathsep}{bigram_root}")
    return "bigram-lm"


def test_an_ngram_model_and_a_transformer_side_by_side(lm):
    text = "The cat sat on the"
    ngram = tokenlens.ngram_lm(TRAIN, "gpt2", n=2).next_tokens(text, 2)
    transformer = tokenlens.next_tokens(text, lm, top_k=2)
    shown = side_by_side(ngram, transformer)
    # both are bigram models of the same sentences: the same most likely next token everywhere
    assert [p.top[0][0] for p in ngram.positions] == [p.top[0][0] for p in transformer.positions]
    html = shown._repr_html_()
    assert "bigram over gpt2" in html and "bigram-lm" in html and html.count("<tr>") == 1 + len(ngram.positions)
    assert " mat" in repr(shown) and "bigram over gpt2: ' mat'" in repr(shown)


def test_perplexity_from_predictions_is_one_measure_for_every_model(lm):
    texts = ["The dog sat on the rug.", "The cat sat on the mat."]
    model = tokenlens.ngram_lm(TRAIN, "gpt2", n=2)
    preds = [model.next_tokens(t) for t in texts]
    expected = []
    for t in texts:
        ids = tokenlens.tokenize(t, "gpt2", add_special_tokens=False).ids
        expected += [math.log(model.prob(b, [a])) for a, b in zip(ids, ids[1:])]
    assert predictions_perplexity(preds) == pytest.approx(math.exp(-sum(expected) / len(expected)))
    transformer = predictions_perplexity([tokenlens.next_tokens(t, lm) for t in texts])
    assert (
        1 < transformer < predictions_perplexity([tokenlens.ngram_lm(TRAIN, "gpt2", n=1).next_tokens(t) for t in texts])
    )


def test_side_by_side_refuses_other_texts_or_ids(lm):
    a = tokenlens.ngram_lm(TRAIN, "gpt2", n=2).next_tokens("The cat")
    with pytest.raises(InputError, match="same text through the same tokenizer"):
        side_by_side(a, tokenlens.ngram_lm(TRAIN, "bert-base-uncased", n=2).next_tokens("The cat"))
    with pytest.raises(InputError, match="same text"):
        side_by_side(a, tokenlens.next_tokens("The dog", lm))
    with pytest.raises(InputError, match="Give the predictions"):
        side_by_side()
    with pytest.raises(InputError, match="two tokens or more"):
        predictions_perplexity([tokenlens.ngram_lm(TRAIN, "gpt2", n=2).next_tokens("The")])


def test_side_by_side_is_a_live_view_of_every_model(lm):
    """Live, side by side is the predictions view: the first model's traits, the others' in
    ``others``; Continue continues every model through what made it; the saved copy stays the
    table of every position at once."""
    from tokenlens.views.learning import PredictWidget

    text = "The cat sat on the"
    bigram = tokenlens.ngram_lm(TRAIN, "gpt2", n=2)
    trigram = tokenlens.ngram_lm(TRAIN, "gpt2", n=3)
    shown = side_by_side(bigram.next_tokens(text, 2), trigram.next_tokens(text, 3), tokenlens.next_tokens(text, lm))
    w = shown.widget
    assert isinstance(w, PredictWidget) and w.model_name == "bigram over gpt2" and w.top_k == 2
    assert [o["model_name"] for o in w.others] == ["trigram over gpt2", lm]
    assert w.others[0]["positions"] == [p.to_dict() for p in shown.predictions[1].positions]
    assert w.others[0]["top_k"] == 3 and w.others[1]["generation"] is None
    data = shown._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"] == shown._repr_html_() and "model by model" in data["text/html"]

    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 3}, [])
    w.wait()
    assert w.error == ""
    assert w.generation["text"] == bigram.generate(text, 3).text == " mat. The"
    assert w.others[0]["generation"]["text"] == trigram.generate(text, 3).text
    assert w.others[1]["generation"]["text"] == tokenlens.generate(text, lm, max_new_tokens=3).text
    assert [p.generation.model for p in shown.predictions] == ["bigram over gpt2", "trigram over gpt2", lm]
    # a model that cannot continue is named, and nothing shown is replaced
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 10_000}, [])
    w.wait()
    assert w.error.startswith("bigram over gpt2: ") and len(w.generation["steps"]) == 3


@pytest.mark.browser
def test_side_by_side_view_in_chromium(lm):
    """The predictions bundle in Chromium (ui-tests/harness/learning.html), fed the widget's own
    traits: the picked position lists every model's candidates under its name, and each model's
    continuation is drawn."""
    import json

    from tokenlens.views.learning import PredictWidget

    from ._harness import ARTIFACTS, SKIP_REASON, harness_page, have_chromium

    if not have_chromium():  # pragma: no cover
        pytest.skip(SKIP_REASON)
    text = "The cat sat on the"
    bigram = tokenlens.ngram_lm(TRAIN, "gpt2", n=2)
    shown = side_by_side(bigram.next_tokens(text, 2), tokenlens.next_tokens(text, lm, top_k=3))
    w = PredictWidget.of(shown)
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 4}, [])
    w.wait()
    state = {"model": w.model_name, "text": w.text, "top_k": w.top_k, "positions": w.positions}
    state |= {"generation": w.generation, "others": w.others}
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "side_by_side_sample.json"
    path.write_text(json.dumps({"pipelines": [], "predictions": [state]}))
    with harness_page(f"learning.html?data=/tests/artifacts/{path.name}", width=900, height=1200) as page:
        view = page.locator("#predict-0")
        assert view.locator(".tl-learn-header .tl-name").all_inner_texts() == ["bigram over gpt2", lm]
        view.locator(".tl-pred-tokens .tl-token").nth(4).click()  # after " the"
        page.mouse.move(0, 0)
        detail = view.locator(".tl-pred-detail")
        tables = detail.locator(".tl-topk")
        assert tables.count() == 2
        for k, pred in enumerate(shown.predictions):
            top = pred.positions[4].top
            ids = tables.nth(k).locator(".tl-cand").evaluate_all("els => els.map(e => Number(e.dataset.id))")
            assert ids == [i for i, _, _ in top]
        assert detail.locator(".tl-other .tl-name").inner_text() == lm
        assert detail.locator(".tl-detail-head .tl-name").first.inner_text() == "bigram over gpt2"
        # each model's continuation, the other's under its name
        other = view.locator(".tl-gen-others .tl-other")
        assert other.get_attribute("data-model") == lm
        assert other.locator(".tl-steps tbody tr").count() == len(w.others[0]["generation"]["steps"]) == 4
        assert view.locator(".tl-gen-out .tl-steps").count() == 2
        assert view.locator(".tl-gen-controls ~ .tl-name").inner_text() == "bigram over gpt2"
        view.screenshot(path=str(ARTIFACTS / "predict-side-by-side.png"))
