"""What predictions cost and which weights they use: scores a chunk of positions at a time
(bounded memory, the one-pass results), generation through the KV cache (one new position per
step, the same tokens), a cap on generated tokens, and a model cache that sees a model saved
again and stays within its byte budget."""

from __future__ import annotations

import os

import pytest

import tokenlens
from tokenlens.core.limits import LIMITS, Limits
from tokenlens.errors import InputError
from tokenlens.learn.model_cache import models
from tokenlens.learn.predict import load_lm

from .conftest import TOKENIZERS

torch = pytest.importorskip("torch")

TEXT = "The cat sat on the mat. The dog sat on the rug, and the cat looked at the dog."


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """A small GPT-2 with random weights (its attention really mixes positions, unlike the
    hand-set bigram model) and the GPT-2 tokenizer of the shared data."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from ._tiny_lm import gpt2_tokenizer

    root = tmp_path_factory.mktemp("models")
    tok = gpt2_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tok), n_positions=128, n_embd=32, n_layer=2, n_head=2, eos_token_id=50256)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # larger weights, so the positions' scores differ clearly
        for p in model.parameters():
            p.mul_(4)
    model.save_pretrained(root / "random-gpt2")
    tok.save_pretrained(root / "random-gpt2")
    return root


@pytest.fixture
def on_path(roots, monkeypatch):
    monkeypatch.setenv("TOKENLENS_PATH", f"{TOKENIZERS}{os.pathsep}{roots}")
    monkeypatch.setenv("TOKENLENS_RUNS", str(roots / "runs"))
    return roots


@pytest.fixture
def limits(monkeypatch):
    """Limits set by a test are put back after it."""

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setattr(LIMITS, name, value)

    return set_


@pytest.fixture
def positions_fed():
    """How many positions each call of a model read (a forward hook on it)."""
    seen: list[int] = []
    hooks = []

    def watch(model):
        def hook(_module, args, kwargs):
            ids = kwargs.get("input_ids", args[0] if args else None)
            seen.append(ids.shape[1])

        hooks.append(model.register_forward_pre_hook(hook, with_kwargs=True))
        return seen

    yield watch
    for h in hooks:
        h.remove()


def test_scores_come_a_chunk_of_positions_at_a_time_and_equal_the_one_pass_scores(on_path, limits, positions_fed):
    lm, tok = load_lm("random-gpt2")
    ids = tok(TEXT, return_tensors="pt", add_special_tokens=False)["input_ids"]
    n = ids.shape[1]
    with torch.no_grad():  # the reference: all positions in one pass, as before
        probs = torch.softmax(lm(ids).logits[0].float(), dim=-1)
    limits(predict_chunk_bytes=16 * len(tok) * 3)  # three positions per chunk
    seen = positions_fed(lm)
    preds = tokenlens.next_tokens(TEXT, "random-gpt2", top_k=5)
    assert seen and max(seen) <= 3 and sum(seen) == n
    assert len(preds.positions) == n
    seq = ids[0].tolist()
    for i, pos in enumerate(preds.positions):
        top = torch.topk(probs[i], 5)
        assert [t for t, _, _ in pos.top] == top.indices.tolist()
        assert [p for _, _, p in pos.top] == pytest.approx(top.values.tolist(), rel=1e-4, abs=1e-7)
        if i + 1 < n:
            assert pos.actual_next_prob == pytest.approx(float(probs[i, seq[i + 1]]), rel=1e-4, abs=1e-7)
            assert pos.actual_next_rank == int((probs[i] > probs[i, seq[i + 1]]).sum()) + 1
        else:
            assert pos.actual_next_prob is None and pos.actual_next_rank is None
    # one chunk holds all of them by default
    limits(predict_chunk_bytes=Limits().predict_chunk_bytes)
    seen.clear()
    assert (
        tokenlens.next_tokens(TEXT, "random-gpt2").to_dict()["positions"][3]["top"][0]["id"]
        == preds.positions[3].top[0][0]
    )
    assert seen == [n]


def test_generation_feeds_each_new_token_once_and_matches_rerunning_the_sequence(on_path, positions_fed):
    lm, tok = load_lm("random-gpt2")
    prompt = "The cat sat on"
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    expected = []
    with torch.no_grad():  # the reference: the whole sequence again for every token, as before
        for _ in range(12):
            nxt = int(torch.argmax(lm(ids).logits[0, -1]))
            expected.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    seen = positions_fed(lm)
    gen = tokenlens.generate(prompt, "random-gpt2", max_new_tokens=12)
    assert [s["id"] for s in gen.steps] == expected
    assert gen.text == tok.decode(expected, skip_special_tokens=True)
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert seen == [n_prompt] + [1] * 11


def test_generation_stops_at_the_context_through_the_cache(on_path):
    lm, tok = load_lm("random-gpt2")
    prompt = "cat " * 60
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    gen = tokenlens.generate(prompt, "random-gpt2", max_new_tokens=200)
    assert gen.stopped == "context" and len(gen.steps) == 128 - n_prompt


def test_generated_tokens_are_capped_by_a_limit(on_path, limits):
    limits(generate_tokens=3)
    with pytest.raises(InputError, match=r"from 0 to 3 tokens.*generate_tokens"):
        tokenlens.generate("The cat", "random-gpt2", max_new_tokens=4)
    assert len(tokenlens.generate("The cat", "random-gpt2", max_new_tokens=3).steps) == 3


def _bigram(folder, texts):
    from ._tiny_lm import build_bigram_lm

    build_bigram_lm(folder, texts)


def test_a_model_saved_again_in_its_folder_is_loaded_afresh(on_path):
    folder = on_path / "swapped"
    _bigram(folder, ["The cat sat on the mat."])
    assert tokenlens.next_tokens("The cat", "swapped").positions[-1].top[0][1] == " sat"
    _bigram(folder, ["The cat ran to the rug."])  # what %finetune --overwrite does to a folder
    assert tokenlens.next_tokens("The cat", "swapped").positions[-1].top[0][1] == " ran"
    held = [f for f, _ in models.held()]
    assert held.count(str(folder.resolve())) == 1  # the older weights are not kept


def test_the_model_cache_keeps_within_its_byte_budget(on_path, limits):
    _bigram(on_path / "first", ["The cat sat on the mat."])
    _bigram(on_path / "second", ["The dog sat on the rug."])
    models.clear()
    first, _ = load_lm("first")
    size = dict(models.held())[str((on_path / "first").resolve())]
    limits(model_cache_bytes=size + size // 2)  # room for one of them
    load_lm("second")
    assert [f for f, _ in models.held()] == [str((on_path / "second").resolve())]
    assert load_lm("first")[0] is not first  # it was dropped, so it loads again
    limits(model_cache_bytes=0)
    load_lm("second")
    assert models.held() == []
