"""The learning path: pipeline stages, n-grams beside tokens, and the magic's flags for them."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

import tokenlens


def test_bert_pipeline_shows_lowercasing_and_unknown():
    p = tokenlens.pipeline("Héllo NLP, ଓଡ଼ିଆ!", "bert-base-uncased")
    assert [s["stage"] for s in p.stages] == ["normalizer", "pre-tokenizer", "model", "post-processor", "ids", "decoder"]
    norm = p.stage("normalizer")
    assert norm["output"] == "hello nlp, ଓଡଆ!" or norm["output"].startswith("hello nlp, ")
    assert {"was": "Hé", "now": "he"} in norm["changes"]
    assert [piece for piece, _ in p.stage("pre-tokenizer")["pieces"]][:3] == ["hello", "nlp", ","]
    assert p.stage("post-processor")["tokens"][0] == "[CLS]" and "adds [CLS], [SEP]" in p.stage("post-processor")["what"]
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


def test_magic_pipeline_and_ngrams(shell):
    p = shell.run_cell("%%tokenize --pipeline -t bert-base-uncased\nI love NLP").result
    from tokenlens.pipeline_view import Pipeline

    assert isinstance(p, Pipeline) and p.tokenizer == "bert-base-uncased"
    assert p.stage("post-processor")["ids"] == [101, 1045, 2293, 17953, 2361, 102]
    shown = []
    shell.display_pub.publish = lambda data, **kw: shown.append(data)
    r = shell.run_cell("%%tokenize --ngrams 2 -t gpt2\nthe cat sat on the mat the cat").result
    assert r["gpt2"].ids and any("word 2-grams" in d.get("text/html", "") for d in shown)


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyterlab_tokenlens": True}}}


async def test_pipeline_route(jp_fetch):
    r = await jp_fetch("tokenlens", "pipeline", method="POST", body=json.dumps({"text": "I love NLP", "tokenizer": "llama-2"}))
    stages = json.loads(r.body)["stages"]
    assert stages[3]["ids"] == [1, 306, 5360, 405, 13208] and stages[-1]["round_trip"] is True
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("tokenlens", "pipeline", method="POST", body=json.dumps({"text": "x"}))
    assert info.value.code == 400
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("tokenlens", "pipeline", method="POST", body=json.dumps({"text": "x", "tokenizer": "gpt2"}),
                       headers={"Authorization": ""})
    assert info.value.code == 403
