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
