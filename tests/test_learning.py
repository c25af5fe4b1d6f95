"""The learning path: pipeline stages, n-grams beside tokens, and the magic's flags for them."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

import tokenlens

from .conftest import error_of


def test_bert_pipeline_shows_lowercasing_and_unknown():
    p = tokenlens.pipeline("Héllo NLP, ଓଡ଼ିଆ!", "bert-base-uncased")
    assert [s["stage"] for s in p.stages] == [
        "normalizer",
        "pre-tokenizer",
        "model",
        "post-processor",
        "ids",
        "decoder",
    ]
    norm = p.stage("normalizer")
    assert norm["output"] == "hello nlp, ଓଡଆ!" or norm["output"].startswith("hello nlp, ")
    assert {"was": "Hé", "now": "he"} in norm["changes"]
    assert [piece for piece, _ in p.stage("pre-tokenizer")["pieces"]][:3] == ["hello", "nlp", ","]
    assert (
        p.stage("post-processor")["tokens"][0] == "[CLS]" and "adds [CLS], [SEP]" in p.stage("post-processor")["what"]
    )
    dec = p.stage("decoder")
    assert not p.lossless and "[UNK]" in dec["output"]
    html = p._repr_html_()
    assert "<mark" in html and "✗ not the same text" in html and "<script" not in html


@pytest.mark.parametrize("name", ["gpt2", "llama-2", "o200k_base"])
def test_lossless_pipelines_round_trip(name):
    text = "Tokenizers: ଓଡ଼ିଆ ଭାଷା, 中文 and emoji 🙂."
    p = tokenlens.pipeline(text, name)
    assert p.lossless and p.stage("decoder")["output"] == text
    pieces = p.stage("pre-tokenizer")["pieces"]
    if name != "llama-2":
        assert "".join(piece for piece, _ in pieces) == text  # the regex splits, nothing is lost
    assert p.stage("model")["ids"] == tokenlens.tokenize(text, name, add_special_tokens=False).ids
    assert "✓ the same text" in p._repr_html_()


def test_ngrams_are_counts_not_ids():
    g = tokenlens.ngrams("the cat sat on the mat the cat", 2)
    assert g.words[0] == ("the cat", 2)
    assert dict(g.chars)["th"] == 3
    assert "no vocabulary, no ids" in g._repr_html_()
    assert g.tokens == []
    # beside a tokenizer: its tokens of the same text, each with its id and count
    g = tokenlens.ngrams("the cat sat on the mat the cat", 2, tokenizer="gpt2")
    assert g.tokenizer == "gpt2"
    assert (" the", 262, 2) in g.tokens and (" cat", 3797, 2) in g.tokens and ("the", 1169, 1) in g.tokens
    assert sum(c for _, _, c in g.tokens) == len(tokenlens.tokenize("the cat sat on the mat the cat", "gpt2"))
    html = g._repr_html_()
    assert "gpt2 tokens" in html and "ids from its vocabulary" in html and "<script" not in html


def test_magic_pipeline_and_ngrams(shell):
    p = shell.run_cell("%%tokenize --pipeline -t bert-base-uncased\nI love NLP").result
    from tokenlens.learn.pipeline import Pipeline

    assert isinstance(p, Pipeline) and p.tokenizer == "bert-base-uncased"
    assert p.stage("post-processor")["ids"] == [101, 1045, 2293, 17953, 2361, 102]
    shown = []
    shell.display_pub.publish = lambda data, **kw: shown.append(data)
    r = shell.run_cell("%%tokenize --ngrams 2 -t gpt2\nthe cat sat on the mat the cat").result
    assert r["gpt2"].ids and any("word 2-grams" in d.get("text/html", "") for d in shown)
    assert any("gpt2 tokens" in d.get("text/html", "") for d in shown)


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyterlab_tokenlens": True}}}


async def test_pipeline_route(jp_fetch):
    r = await jp_fetch(
        "tokenlens", "pipeline", method="POST", body=json.dumps({"text": "I love NLP", "tokenizer": "llama-2"})
    )
    stages = json.loads(r.body)["stages"]
    assert stages[3]["ids"] == [1, 306, 5360, 405, 13208] and stages[-1]["round_trip"] is True
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("tokenlens", "pipeline", method="POST", body=json.dumps({"text": "x"}))
    assert info.value.code == 400
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "tokenlens",
            "pipeline",
            method="POST",
            body=json.dumps({"text": "x", "tokenizer": "gpt2"}),
            headers={"Authorization": ""},
        )
    assert info.value.code == 403


# -- the pipeline's data for the live view, and its bad input --------------------------------------


@pytest.mark.parametrize("name", ["bert-base-uncased", "gpt2"])
def test_pipeline_diff_runs_spell_the_output_and_spans_point_at_tokens(name):
    text = "Héllo NLP, ଓଡ଼ିଆ!"
    p = tokenlens.pipeline(text, name)
    for stage in ("normalizer", "decoder"):
        s = p.stage(stage)
        assert "".join(r.get("same", r.get("now", "")) for r in s["diff"]) == s["output"]
        assert "".join(r.get("same", r.get("was", "")) for r in s["diff"]) == text
    model = p.stage("model")
    assert len(model["spans"]) == len(model["ids"])
    if name == "gpt2":  # byte-level BPE: the first tokens spell the text's first characters
        assert [text[a:b] for a, b in model["spans"][:3]] == ["H", "é", "llo"]
    json.dumps(p.to_dict())  # what the view and the route send


def test_pipeline_of_empty_text_says_what_to_do():
    from tokenlens.errors import InputError

    with pytest.raises(InputError, match="The text is empty"):
        tokenlens.pipeline("", "gpt2")


def test_pipeline_widget_reruns_typed_text_and_keeps_the_last_good_view():
    from tokenlens.views.learning import MAX_VIEW_TEXT, PipelineWidget

    w = PipelineWidget(tokenlens.pipeline("I love NLP", "bert-base-uncased"))
    assert w.tokenizer == "bert-base-uncased" and [s["stage"] for s in w.stages][0] == "normalizer"
    w.text = "Hello World"
    assert w.shown_text == "Hello World" and w.error == ""
    assert w.stages[3]["tokens"] == ["[CLS]", "hello", "world", "[SEP]"]
    w.text = ""
    assert "The text is empty" in w.error and w.shown_text == "Hello World" and w.stages
    w.text = "x" * (MAX_VIEW_TEXT + 1)
    assert "at most 20,000 characters" in w.error and w.shown_text == "Hello World"
    data = w._repr_mimebundle_()[0]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "✗ not the same text" in data["text/html"] and "<script" not in data["text/html"]


# -- predictions from a tiny causal LM made here (tests/_tiny_lm.py) -----------------------------

TRAIN = ["The cat sat on the mat. The dog sat on the mat. The cat sat on the rug.", "ଓଡ଼ିଆ ଭାଷା ସୁନ୍ଦର ।"]


@pytest.fixture(scope="module")
def lm_roots(tmp_path_factory):
    """models/: the bigram LM, a T5 (not causal) and a GPT-2 config without weights; runs/: the
    bigram LM again as the final model of a %finetune run."""
    import shutil

    from transformers import GPT2Config, T5Config

    from ._tiny_lm import build_bigram_lm

    root = tmp_path_factory.mktemp("lm")
    models = root / "models"
    follows = build_bigram_lm(models / "bigram", TRAIN)
    T5Config(vocab_size=100, d_model=32, num_layers=1, num_heads=2, d_ff=32).save_pretrained(models / "t5-small-test")
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(models / "no-weights")
    shutil.copytree(models / "bigram", root / "runs" / "bigram-run" / "final")
    return {"models": models, "runs": root / "runs", "follows": follows}


@pytest.fixture
def lms(lm_roots, monkeypatch):
    import os

    from .conftest import TOKENIZERS

    monkeypatch.setenv("TOKENLENS_PATH", f"{TOKENIZERS}{os.pathsep}{lm_roots['models']}")
    monkeypatch.setenv("TOKENLENS_RUNS", str(lm_roots["runs"]))
    return lm_roots


def test_predictions_are_the_models_probabilities_at_the_right_positions(lms):
    from ._tiny_lm import expected_prob

    preds = tokenlens.next_tokens("The cat sat on the mat.", "bigram", top_k=4)
    ids = [p.id for p in preds.positions]
    assert [p.token for p in preds.positions] == ["The", " cat", " sat", " on", " the", " mat", "."]
    for pos, nxt in zip(preds.positions, ids[1:]):
        # p(actual next) is read after this token, for the token that follows (not this one)
        assert pos.actual_next_prob == pytest.approx(expected_prob(lms["follows"], 50257, pos.id, nxt), rel=1e-3)
        probs = [c[2] for c in pos.top]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    the = preds.positions[4]
    assert [t for _, t, _ in the.top[:2]] == [" mat", " rug"]
    assert the.top[0][2] == pytest.approx(2 * the.top[1][2], rel=1e-3)  # seen twice as often
    assert the.actual_next_rank == 1 and preds.positions[-1].actual_next_prob is None
    d = preds.to_dict()
    assert d["top_k"] == 4 and d["positions"][4]["top"][1]["token"] == " rug"


def test_generation_is_decoded_token_by_token(lms):
    gen = tokenlens.generate("The cat", "bigram-run", max_new_tokens=6)
    assert [s["token"] for s in gen.steps] == [" sat", " on", " the", " mat", ".", " The"]
    assert [s["text"] for s in gen.steps][:3] == [" sat", " sat on", " sat on the"]
    assert gen.text == " sat on the mat. The" and gen.stopped == "length"
    assert "<script" not in gen._repr_html_()
    # each position knows its characters: the three byte tokens of ଓ share (0, 1)
    spans = [p.span for p in tokenlens.next_tokens("ଓଡ଼ିଆ", "bigram").positions]
    assert spans[:3] == [(0, 1)] * 3 and spans[-1][1] == len("ଓଡ଼ିଆ")
    odia = tokenlens.generate("ଓଡ଼ିଆ", "bigram", max_new_tokens=3)
    assert [s["pending"] for s in odia.steps] == [False, True, True]  # " " then bytes of one character
    assert all("\ufffd" not in s["text"] for s in odia.steps)


def test_magic_model_shows_predictions_and_continuation_in_one_view(shell, lms):
    shown = []
    shell.display_pub.publish = lambda data, **kw: shown.append(data)
    shell.run_cell("%%tokenize --model bigram --top-k 3 --generate 2\nThe dog")
    views = [d for d in shown if "application/vnd.jupyter.widget-view+json" in d]
    assert len(views) == 1
    html = views[0]["text/html"]
    assert "what comes next after each token" in html and "continuation" in html and "<script" not in html


def test_predict_widget_state_and_messages(lms):
    import traitlets

    from tokenlens.views.learning import PredictWidget

    w = PredictWidget(tokenlens.next_tokens("The dog", "bigram", top_k=3))
    assert w.model_name == "bigram" and len(w.positions) == 2 and w.generation is None and w.selected == 0
    assert w.positions[1]["top"][0]["token"] == " sat"
    w.selected = 1
    with pytest.raises(traitlets.TraitError, match="from 0 to 1"):
        w.selected = 2
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 3}, [])
    w.wait()
    assert w.error == "" and [s["token"] for s in w.generation["steps"]] == [" sat", " on", " the"]
    assert w.predictions.generation.text == " sat on the"
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 100_000}, [])
    w.wait()
    assert "from 0 to 512 tokens" in w.error and len(w.generation["steps"]) == 3
    w._on_custom_msg(w, {"type": "generate", "greedy": "yes"}, [])
    assert "true or false" in w.error
    # the model runs in a worker thread: a second request while one runs is refused in words
    import threading

    gate = threading.Event()
    real = w._generate
    w._generate = lambda *a: (gate.wait(10), real(*a))
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 2}, [])
    assert w._worker.name == "tokenlens-generate" and w._worker is not threading.current_thread()
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 2}, [])
    assert "being made already" in w.error
    gate.set()
    w.wait()
    assert [s["token"] for s in w.generation["steps"]] == [" sat", " on"] and w.error == ""


def test_predict_widget_continues_an_ngram_model():
    """The Continue button of an n-gram model's predictions continues through that model (it has
    no model folder to load by name), as the view of its continuation alone does."""
    from tokenlens.views.learning import PredictWidget

    lm = tokenlens.ngram_lm(TRAIN, "gpt2", n=2)
    w = PredictWidget(lm.next_tokens("The dog", top_k=3))
    assert w.model_name == "bigram over gpt2" and w.generation is None
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 4, "greedy": True}, [])
    w.wait()
    assert w.error == ""
    assert [s["token"] for s in w.generation["steps"]] == [" sat", " on", " the", " mat"]
    assert w.generation["text"] == " sat on the mat" and w.generation["model"] == "bigram over gpt2"
    assert w.predictions.generation.text == " sat on the mat"
    w._on_custom_msg(w, {"type": "generate", "max_new_tokens": 3, "greedy": False, "seed": 7}, [])
    w.wait()
    assert w.error == "" and len(w.generation["steps"]) == 3 and w.generation["greedy"] is False
    alone = PredictWidget.of(lm.generate("The cat", max_new_tokens=2))
    alone._on_custom_msg(alone, {"type": "generate", "max_new_tokens": 3}, [])
    alone.wait()
    assert alone.error == "" and alone.generation["text"] == " sat on the"


def test_bad_models_and_text_say_what_to_do(lms, monkeypatch):
    import sys

    from tokenlens.errors import InputError, MissingExtra, ModelFileError, ModelNotFound

    with pytest.raises(ModelFileError, match="is a t5 model, which is not a causal language model"):
        tokenlens.next_tokens("hello", "t5-small-test")
    with pytest.raises(ModelFileError, match="no .safetensors weights"):
        tokenlens.next_tokens("hello", "no-weights")
    with pytest.raises(ModelNotFound, match="did you mean 'bigram'") as info:
        tokenlens.next_tokens("hello", "bigramm")
    assert "bigram-run" in info.value.available
    with pytest.raises(InputError, match="The text is empty"):
        tokenlens.next_tokens("", "bigram")
    with pytest.raises(InputError, match="this model reads at most 64"):
        tokenlens.next_tokens("cat " * 80, "bigram")
    with pytest.raises(InputError, match="top_k must be"):
        tokenlens.next_tokens("hello", "bigram", top_k=0)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtra, match=r"jupyterlab-tokenlens\[finetune\]"):
        tokenlens.next_tokens("hello", "bigram")


# -- the prediction route ------------------------------------------------------------------------


async def predict(jp_fetch, body, **kw):
    return await jp_fetch("tokenlens", "predict", method="POST", body=json.dumps(body), **kw)


async def test_predict_route(jp_fetch, lms):
    r = await predict(jp_fetch, {"text": "The cat sat on the", "model": "bigram", "top_k": 3, "generate": 2})
    answer = json.loads(r.body)
    positions = answer["positions"]
    assert [p["token"] for p in positions] == ["The", " cat", " sat", " on", " the"]
    assert [c["token"] for c in positions[-1]["top"][:2]] == [" mat", " rug"]
    for p in positions:
        assert len(p["top"]) == 3 and sum(c["prob"] for c in p["top"]) <= 1 + 1e-6
    assert [s["token"] for s in answer["generation"]["steps"]] == [" mat", "."]
    r = await predict(jp_fetch, {"text": "The dog", "model": "bigram-run"})
    assert json.loads(r.body)["generation"] is None


async def test_predict_route_needs_auth(jp_fetch, lms):
    with pytest.raises(HTTPClientError) as info:
        await predict(jp_fetch, {"text": "The", "model": "bigram"}, headers={"Authorization": ""})
    assert info.value.code == 403


@pytest.mark.parametrize(
    "body,status,fragment",
    [
        ({"text": "The"}, 400, '"model" must be the name'),
        ({"text": "", "model": "bigram"}, 400, "The text is empty"),
        ({"text": 5, "model": "bigram"}, 400, '"text" must be a string'),
        ({"text": "The", "model": "bigram", "top_k": 0}, 400, "from 1 to 20"),
        ({"text": "The", "model": "bigram", "top_k": 21}, 400, "from 1 to 20"),
        ({"text": "The", "model": "bigram", "generate": 65}, 400, "from 0 to 64"),
        ({"text": "The", "model": "bigram", "generate": "5"}, 400, "whole number"),
        ({"text": "x" * 4001, "model": "bigram"}, 413, "at most 4,000"),
        ({"text": "cat " * 80, "model": "bigram"}, 400, "reads at most 64"),
        ({"text": "The", "model": "bigramm"}, 404, "did you mean 'bigram'"),
        ({"text": "The", "model": "t5-small-test"}, 422, "not a causal language model"),
        ({"text": "The", "model": "no-weights"}, 422, "no .safetensors weights"),
    ],
)
async def test_predict_route_bad_input(jp_fetch, lms, body, status, fragment):
    code, payload = await error_of(predict(jp_fetch, body))
    assert code == status and fragment in payload["message"], payload


async def test_predict_route_refuses_paths(jp_fetch, lms):
    for name in (str(lms["models"] / "bigram"), "../models/bigram", "/etc"):
        code, payload = await error_of(predict(jp_fetch, {"text": "The", "model": name}))
        assert code == 404 and "No model named" in payload["message"], name


async def test_predict_route_without_torch_names_the_extra(jp_fetch, lms, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    code, payload = await error_of(predict(jp_fetch, {"text": "The", "model": "bigram"}))
    assert code == 501 and "pip install 'jupyterlab-tokenlens[finetune]'" in payload["message"]


@pytest.mark.parametrize(
    "body,status,fragment",
    [
        ({"text": "", "tokenizer": "gpt2"}, 400, "The text is empty"),
        ({"text": "x" * 20_001, "tokenizer": "gpt2"}, 413, "at most 20,000"),
        ({"text": "x", "tokenizer": "gpt-2"}, 404, "did you mean 'gpt2'"),
        ({"text": "x", "tokenizer": "/etc/passwd"}, 404, "No tokenizer named"),
    ],
)
async def test_pipeline_route_bad_input(jp_fetch, body, status, fragment):
    code, payload = await error_of(jp_fetch("tokenlens", "pipeline", method="POST", body=json.dumps(body)))
    assert code == status and fragment in payload["message"]


async def test_pipeline_route_shows_the_lossy_decoder(jp_fetch):
    r = await jp_fetch(
        "tokenlens", "pipeline", method="POST", body=json.dumps({"text": "Héllo NLP", "tokenizer": "bert-base-uncased"})
    )
    dec = json.loads(r.body)["stages"][-1]
    assert dec["round_trip"] is False and {"was": "NLP", "now": "nlp"} in dec["diff"]
