"""tokenlens.ngram_lm: interpolated Kneser–Ney over a real tokenizer's ids."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

import tokenlens
from tokenlens.core.limits import LIMITS, configure
from tokenlens.errors import InputError
from tokenlens.learn.ngram import ngram_lm
from tokenlens.learn.predict import Predictions

FLORES = Path(__file__).resolve().parents[2] / "shared" / "data" / "flores200"


def _flores(lang: str) -> tuple[list[str], list[str]]:
    lines = []
    for split in ("dev", "devtest"):
        lines += (FLORES / f"{lang}.{split}").read_text(encoding="utf-8").splitlines()
    random.Random(0).shuffle(lines)
    return lines[:1500], lines[1800:]


def test_kneser_ney_values_by_hand():
    """Two texts, bigrams, D = 0.5: each probability worked out on paper from the counts."""
    gpt2 = tokenlens.load("gpt2")
    a, b, c = (gpt2.encode(f" {w}", add_special_tokens=False).ids[0] for w in "abc")
    assert gpt2.encode(" a b a c", add_special_tokens=False).ids == [a, b, a, c]
    lm = ngram_lm([" a b a c", " a b"], "gpt2", n=2, discount=0.5)
    v = gpt2.vocab_size
    # Bigrams: (<s> a) 2, (a b) 2, (b a) 1, (a c) 1. Continuation counts: a follows <s> and b
    # (2), b follows a (1), c follows a (1): 4 in all, 3 kinds.
    p1 = {a: (1.5 + 1.5 / v) / 4, b: (0.5 + 1.5 / v) / 4, c: (0.5 + 1.5 / v) / 4, "unseen": (1.5 / v) / 4}
    unseen = gpt2.encode(" zebra", add_special_tokens=False).ids[0]
    # a context never seen passes the unigram on
    assert lm.prob(a, [unseen]) == pytest.approx(p1[a], rel=1e-12)
    assert lm.prob(unseen, [unseen]) == pytest.approx(p1["unseen"], rel=1e-12)
    # after a: b twice, c once (3 in all, 2 kinds)
    assert lm.prob(b, [a]) == pytest.approx((1.5 + 0.5 * 2 * p1[b]) / 3, rel=1e-12)
    assert lm.prob(c, [a]) == pytest.approx((0.5 + 0.5 * 2 * p1[c]) / 3, rel=1e-12)
    assert lm.prob(a, [a]) == pytest.approx((0.5 * 2 * p1[a]) / 3, rel=1e-12)
    # at a text's start: a twice (1 kind); after b: a once
    assert lm.prob(a) == pytest.approx((1.5 + 0.5 * p1[a]) / 2, rel=1e-12)
    assert lm.prob(unseen) == pytest.approx(0.5 * p1["unseen"] / 2, rel=1e-12)
    assert lm.prob(unseen, [b]) == pytest.approx(0.5 * p1["unseen"], rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_distributions_sum_to_one_over_the_vocabulary(n):
    train, held = _flores("eng_Latn")
    lm = ngram_lm(train[:300], "gpt2", n=n)
    ids = lm.backend.encode(held[0], add_special_tokens=False).ids
    for i in range(min(len(ids), 12)):
        p = lm.distribution(ids[:i])
        assert p.shape == (lm.vocab_size,)
        assert p.min() > 0
        assert p.sum() == pytest.approx(1.0, abs=1e-9)
        # the one-token path and the whole-vocabulary path agree
        assert lm.prob(ids[i], ids[:i]) == pytest.approx(p[ids[i]], rel=1e-9)


@pytest.mark.parametrize(
    ("lang", "tokenizer"), [("eng_Latn", "gpt2"), ("eng_Latn", "llama-2"), ("ory_Orya", "llama-2")]
)
def test_held_out_perplexity_falls_with_the_order(lang, tokenizer):
    train, held = _flores(lang)
    ppl = [ngram_lm(train, tokenizer, n=n).perplexity(held) for n in (1, 2, 3)]
    assert ppl[0] >= ppl[1] >= ppl[2] > 1, ppl


def test_next_tokens_has_the_shape_of_a_transformers_predictions():
    train, _ = _flores("eng_Latn")
    lm = ngram_lm(train[:500], "gpt2", n=3)
    text = "The city of"
    pred = lm.next_tokens(text, 4)
    assert isinstance(pred, Predictions)
    assert pred.model == "trigram over gpt2"
    ids = tokenlens.tokenize(text, "gpt2", add_special_tokens=False).ids
    assert [p.id for p in pred.positions] == ids
    d = pred.to_dict()
    assert set(d) == {"text", "model", "top_k", "positions", "generation"}
    for i, pos in enumerate(pred.positions):
        probs = lm.distribution(ids[: i + 1])
        assert [t for t, _, _ in pos.top] == list(np.argsort(-probs, kind="stable")[:4])
        assert [p for _, _, p in pos.top] == sorted((p for _, _, p in pos.top), reverse=True)
        if i + 1 < len(ids):
            assert pos.actual_next_prob == pytest.approx(lm.prob(ids[i + 1], ids[: i + 1]))
            assert pos.actual_next_rank == int((probs > probs[ids[i + 1]]).sum()) + 1
    assert pred.positions[-1].actual_next_prob is None
    assert "trigram over gpt2" in pred._repr_html_()


def test_perplexity_is_the_mean_log_probability():
    lm = ngram_lm(["one two three two one"], "gpt2", n=2)
    ids = lm.backend.encode("one two", add_special_tokens=False).ids
    expected = math.exp(-sum(math.log(lm.prob(t, ids[:i])) for i, t in enumerate(ids)) / len(ids))
    assert lm.perplexity("one two") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"n": 0}, "n must be a whole number from 1 to"),
        ({"n": 2.5}, "n must be a whole number"),
        ({"discount": 1.5}, "discount must be a number between 0 and 1"),
    ],
)
def test_bad_options_are_refused(kwargs, says):
    with pytest.raises(InputError, match=says):
        ngram_lm(["some text"], "gpt2", **kwargs)


def test_bad_texts_are_refused():
    with pytest.raises(InputError, match="give the model some text"):
        ngram_lm(["", ""], "gpt2")
    with pytest.raises(InputError, match="Cannot read texts from a int: give a string, a list"):
        ngram_lm(42, "gpt2")
    with pytest.raises(InputError, match="No such file or folder"):
        ngram_lm(Path("no-such-corpus.txt"), "gpt2")
    lm = ngram_lm("a few words", "gpt2")
    with pytest.raises(InputError, match="at least one token"):
        lm.perplexity([""])
    with pytest.raises(InputError, match="text is empty"):
        lm.next_tokens("")


def test_the_token_limit_is_a_limit():
    saved = LIMITS.ngram_tokens
    configure(ngram_tokens=5)
    try:
        with pytest.raises(InputError, match="ngram_tokens"):
            ngram_lm(["one two three four five six seven"], "gpt2")
    finally:
        configure(ngram_tokens=saved)


def test_generate_follows_the_most_likely_next_token():
    """Greedy: each step is the id the model gives most probability after the last n−1 ids
    (the prompt's, then the chosen ones), decoded through the tokenizer."""
    gpt2 = tokenlens.load("gpt2")
    a, b, c = (gpt2.encode(f" {w}", add_special_tokens=False).ids[0] for w in "abc")
    lm = ngram_lm([" a b a c", " a b"], "gpt2", n=2, discount=0.5)
    # by hand: after a, b (twice) beats c (once); after b only a was seen
    gen = lm.generate(" a", max_new_tokens=4)
    assert [s["id"] for s in gen.steps] == [b, a, b, a]
    assert gen.text == " b a b a" and gen.prompt == " a" and gen.model == "bigram over gpt2"
    assert [s["text"] for s in gen.steps] == [" b", " b a", " b a b", " b a b a"]
    assert gen.steps[0]["prob"] == pytest.approx(lm.prob(b, [a]))

    train, _ = _flores("eng_Latn")
    lm = ngram_lm(train[:500], "gpt2", n=3)
    prompt = "The city of"
    gen = lm.generate(prompt, max_new_tokens=12)
    history = list(gpt2.encode(prompt, add_special_tokens=False).ids)
    for step in gen.steps:
        p = lm.distribution(history)
        assert step["id"] == int(np.argmax(p)) and step["prob"] == pytest.approx(p.max())
        assert step["token"] == gpt2.display(step["id"])
        history.append(step["id"])
    assert gen.text == gpt2.decode([s["id"] for s in gen.steps]) and gen.stopped == "length"
    assert gen.greedy and len(gen.steps) == 12
    # the same model, the same prompt: the same continuation
    assert [s["id"] for s in lm.generate(prompt, max_new_tokens=12).steps] == [s["id"] for s in gen.steps]


def test_generate_samples_reproducibly_and_keeps_characters_whole():
    train, _ = _flores("ory_Orya")
    lm = ngram_lm(train[:300], "gpt2", n=3)
    one = lm.generate("ଓଡ଼ିଆ", max_new_tokens=15, greedy=False, seed=3)
    assert not one.greedy and [s["id"] for s in one.steps] == [
        s["id"] for s in lm.generate("ଓଡ଼ିଆ", max_new_tokens=15, greedy=False, seed=3).steps
    ]
    # GPT-2 spells Odia in bytes: a step in the middle of a character says so, never U+FFFD
    greedy = lm.generate("ଓଡ଼ିଆ", max_new_tokens=15)
    assert any(s["pending"] for s in greedy.steps)
    assert all("\ufffd" not in s["text"] for s in one.steps + greedy.steps)
    # a temperature near 0 leaves only the most likely token
    cold = lm.generate("ଓଡ଼ିଆ", max_new_tokens=15, greedy=False, temperature=1e-6, seed=0)
    assert [s["id"] for s in cold.steps] == [s["id"] for s in greedy.steps]
    # an empty prompt continues from a text's start; special ids are never chosen
    start = lm.generate("", max_new_tokens=5, greedy=False, seed=1)
    assert len(start.steps) == 5 and not any(lm.backend.is_special(s["id"]) for s in start.steps)


def test_generate_refuses_bad_options():
    lm = ngram_lm(["a few words"], "gpt2", n=2)
    with pytest.raises(InputError, match="from 0 to 512 tokens"):
        lm.generate("a", max_new_tokens=10_000)
    with pytest.raises(InputError, match="temperature must be a number above 0"):
        lm.generate("a", temperature=0)
    with pytest.raises(InputError, match="greedy must be True or False"):
        lm.generate("a", greedy="yes")


def test_predictions_continue_through_the_model_that_made_them():
    lm = ngram_lm(["The cat sat on the mat. The dog sat on the mat."], "gpt2", n=2)
    gen = lm.next_tokens("The dog").continue_text(max_new_tokens=3)
    assert gen.text == " sat on the" and gen.model == "bigram over gpt2"
    # a continuation shown alone continues the same way
    assert gen.generator(gen.prompt, max_new_tokens=3).text == " sat on the"


def test_texts_may_be_a_file_as_everywhere_else(tmp_path):
    """A Path is read by tokenlens.sources, as stats and train_tokenizer read it: one text per
    line (the screenshot's n-gram cell, ngram_lm(Path('odia.txt'), ...), failed on it)."""
    lines = (FLORES / "ory_Orya.dev").read_text(encoding="utf-8").splitlines()[:200]
    corpus = tmp_path / "odia.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_file = ngram_lm(corpus, "gpt2", n=2)
    from_lines = ngram_lm(lines, "gpt2", n=2)
    assert from_file.tokens_seen == from_lines.tokens_seen
    assert from_file.orders[-1].counts == from_lines.orders[-1].counts
    assert from_file.perplexity(corpus) == pytest.approx(from_lines.perplexity(lines))
