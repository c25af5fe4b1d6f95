"""The REST routes on a real Jupyter server (pytest-jupyter)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import TOKENIZERS, error_of


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyterlab_tokenlens": True}}}


async def post(jp_fetch, body, raw: bytes | None = None):
    return await jp_fetch("tokenlens", "tokenize", method="POST", body=raw if raw is not None else json.dumps(body))


async def test_list_tokenizers(jp_fetch):
    response = await jp_fetch("tokenlens", "tokenizers")
    payload = json.loads(response.body)
    names = {t["name"]: t for t in payload["tokenizers"]}
    assert {"gpt2", "bert-base-uncased", "llama-2", "cl100k_base", "o200k_base"} <= set(names)
    assert names["llama-2"]["kind"] == "sentencepiece"
    assert names["gpt2"]["source"] == "TOKENLENS_PATH"
    assert payload["version"]


async def test_tokenize_reference_ids(jp_fetch):
    response = await post(jp_fetch, {"text": "I love NLP", "tokenizers": ["gpt2", "bert-base-uncased", "llama-2"]})
    results = json.loads(response.body)["results"]
    assert [r["tokenizer"] for r in results] == ["gpt2", "bert-base-uncased", "llama-2"]
    assert results[0]["ids"] == [40, 1842, 399, 19930]
    assert results[1]["ids"] == [101, 1045, 2293, 17953, 2361, 102]
    assert results[2]["ids"] == [1, 306, 5360, 405, 13208]
    assert results[0]["spans"] == [[0, 1], [1, 6], [6, 8], [8, 10]]
    assert results[1]["special"][0] is True


async def test_add_special_tokens_false(jp_fetch):
    response = await post(
        jp_fetch, {"text": "I love NLP", "tokenizers": ["bert-base-uncased"], "add_special_tokens": False}
    )
    assert json.loads(response.body)["results"][0]["ids"] == [1045, 2293, 17953, 2361]


@pytest.mark.parametrize("special", [True, False])
async def test_counts_only_agrees_with_the_full_answer(jp_fetch, special):
    from .conftest import flores

    names = ["gpt2", "bert-base-uncased", "llama-2", "cl100k_base"]
    text = "I love NLP <|endoftext|> [SEP]\n" + "\n".join(flores("ory_Orya")[:3]) + " 👩‍👩‍👧 x\ty"
    base = {"text": text, "tokenizers": names, "add_special_tokens": special}
    full = json.loads((await post(jp_fetch, base)).body)["results"]
    counts = json.loads((await post(jp_fetch, {**base, "counts_only": True})).body)["results"]
    assert [c["tokenizer"] for c in counts] == names
    for c, f in zip(counts, full):
        assert c["counts_only"] is True and "ids" not in c
        assert (c["n_tokens"], c["n_chars"], c["n_bytes"]) == (f["n_tokens"], f["n_chars"], f["n_bytes"])


async def test_counts_only_must_be_a_boolean(jp_fetch):
    code, payload = await error_of(post(jp_fetch, {"text": "x", "tokenizers": ["gpt2"], "counts_only": "yes"}))
    assert code == 400 and "counts_only" in payload["message"]


async def test_empty_text_is_fine(jp_fetch):
    response = await post(jp_fetch, {"text": "", "tokenizers": ["gpt2"]})
    assert json.loads(response.body)["results"][0]["ids"] == []


async def test_unauthenticated_is_refused(jp_fetch):
    for method, body in (("GET", None), ("POST", json.dumps({"text": "x", "tokenizers": ["gpt2"]}))):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(
                "tokenlens",
                "tokenizers" if method == "GET" else "tokenize",
                method=method,
                body=body,
                headers={"Authorization": ""},
            )
        assert info.value.code == 403


async def test_unknown_tokenizer_is_404_with_suggestions(jp_fetch):
    code, payload = await error_of(post(jp_fetch, {"text": "x", "tokenizers": ["gpt-2"]}))
    assert code == 404
    assert payload["suggestions"] == ["gpt2"]
    assert "did you mean 'gpt2'" in payload["message"]


@pytest.mark.parametrize(
    "raw,fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "Send a JSON object"),
        (json.dumps({"text": 5, "tokenizers": ["gpt2"]}).encode(), '"text" must be a string'),
        (json.dumps({"text": "x", "tokenizers": []}).encode(), "non-empty list"),
        (json.dumps({"text": "x", "tokenizers": "gpt2"}).encode(), "non-empty list"),
        (json.dumps({"text": "x", "tokenizers": ["gpt2"] * 9}).encode(), "At most 8 tokenizers"),
        (json.dumps({"text": "x", "tokenizers": ["gpt2"], "add_special_tokens": "yes"}).encode(), "true or false"),
        (b'{"text": "a\\ud800", "tokenizers": ["gpt2"]}', "unpaired surrogate"),
    ],
)
async def test_bad_input_is_400(jp_fetch, raw, fragment):
    code, payload = await error_of(post(jp_fetch, None, raw=raw))
    assert code == 400
    assert fragment in payload["message"]


async def test_text_too_long_is_413(jp_fetch):
    code, payload = await error_of(post(jp_fetch, {"text": "a" * 1_000_001, "tokenizers": ["gpt2"]}))
    assert code == 413
    assert "limit is 1,000,000" in payload["message"]


async def test_body_too_large_is_413(jp_fetch):
    code, payload = await error_of(post(jp_fetch, None, raw=b" " * (8 * 1024 * 1024 + 1)))
    assert code == 413
    assert "max_body_bytes" in payload["message"]


async def test_paths_outside_the_roots_are_refused(jp_fetch, tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    for name in (str(tmp_path), str(TOKENIZERS / "gpt2"), "../gpt2", "/etc/passwd"):
        code, payload = await error_of(post(jp_fetch, {"text": "x", "tokenizers": [name]}))
        assert code == 404, name
        assert "No tokenizer named" in payload["message"]


async def test_corrupt_tokenizer_in_root_is_422(jp_fetch, tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "tokenizer.json").write_text('{"model": ')
    (root / "empty").mkdir()
    monkeypatch.setenv("TOKENLENS_PATH", str(root))
    code, payload = await error_of(post(jp_fetch, {"text": "x", "tokenizers": ["broken"]}))
    assert code == 422 and "not a readable tokenizer.json" in payload["message"]
    code, payload = await error_of(post(jp_fetch, {"text": "x", "tokenizers": ["empty"]}))
    assert code == 422 and "holds no tokenizer file" in payload["message"]


async def test_concurrent_requests_all_answered(jp_fetch):
    texts = [f"request {i}: ଓଡ଼ିଆ and English" for i in range(50)]
    responses = await asyncio.gather(*(post(jp_fetch, {"text": t, "tokenizers": ["gpt2", "llama-2"]}) for t in texts))
    answered = [json.loads(r.body)["results"][0]["text"] for r in responses]
    assert answered == texts


async def test_explain_route(jp_fetch):
    response = await jp_fetch(
        "tokenlens", "explain", method="POST", body=json.dumps({"tokenizer": "gpt2", "ids": [1842, 40]})
    )
    first, second = json.loads(response.body)["explanations"]
    assert first["piece"] == "Ġlove" and first["rank"] == 1842
    assert [p["piece"] for p in first["parents"]] == ["Ġl", "ove"]
    assert second["parents"] == []


@pytest.mark.parametrize(
    "body,status,fragment",
    [
        ({"tokenizer": "gpt2", "ids": [99999]}, 400, "valid ids: 0 to 50256"),
        ({"tokenizer": "gpt2", "ids": []}, 400, "non-empty list"),
        ({"tokenizer": "gpt2", "ids": ["1"]}, 400, "whole numbers"),
        ({"tokenizer": "gpt2", "ids": list(range(257))}, 400, "At most 256"),
        ({"ids": [1]}, 400, "JSON object"),
        ({"tokenizer": "gpt-2", "ids": [1]}, 404, "did you mean 'gpt2'"),
    ],
)
async def test_explain_route_bad_input(jp_fetch, body, status, fragment):
    code, payload = await error_of(jp_fetch("tokenlens", "explain", method="POST", body=json.dumps(body)))
    assert code == status and fragment in payload["message"]


async def test_explain_route_needs_auth(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "tokenlens",
            "explain",
            method="POST",
            body=json.dumps({"tokenizer": "gpt2", "ids": [1]}),
            headers={"Authorization": ""},
        )
    assert info.value.code == 403


async def test_identical_requests_are_answered_from_the_cache(jp_fetch, monkeypatch):
    import jupyterlab_tokenlens.service as service

    calls = []
    real = service.tokenize_all
    monkeypatch.setattr(service, "tokenize_all", lambda *a: calls.append(a) or real(*a))
    body = {"text": "cache me, ଓଡ଼ିଆ", "tokenizers": ["gpt2", "llama-2"]}
    first = json.loads((await post(jp_fetch, body)).body)
    second = json.loads((await post(jp_fetch, body)).body)
    assert first == second and len(calls) == 1
    await post(jp_fetch, {**body, "add_special_tokens": False})
    assert len(calls) == 2  # a different request is computed
    counted = json.loads((await post(jp_fetch, {**body, "counts_only": True})).body)
    assert "ids" not in counted["results"][0]  # counts are not answered from the full answer's entry


async def test_retrained_tokenizer_is_not_served_stale(jp_fetch, tmp_path, monkeypatch):
    from tokenizers import Tokenizer, models, pre_tokenizers

    root = tmp_path / "root"
    (root / "tiny").mkdir(parents=True)
    monkeypatch.setenv("TOKENLENS_PATH", str(root))

    def save(vocab):
        tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.save(str(root / "tiny" / "tokenizer.json"))

    save({"[UNK]": 0, "hello": 1})
    body = {"text": "hello", "tokenizers": ["tiny"]}
    assert json.loads((await post(jp_fetch, body)).body)["results"][0]["ids"] == [1]
    save({"[UNK]": 0, "x": 1, "hello": 2, "more": 3})
    assert json.loads((await post(jp_fetch, body)).body)["results"][0]["ids"] == [2]


async def test_other_jupyter_traffic_is_not_stalled(jp_fetch):
    """While many large tokenize requests run in the pool, the event loop still answers."""
    text = "ଓଡ଼ିଆ ଭାଷା and English. " * 3_000
    finished: list[str] = []

    async def big(i):
        await post(jp_fetch, {"text": text + str(i), "tokenizers": ["gpt2", "llama-2"]})
        finished.append("big")

    async def status():
        await jp_fetch("api", "status")
        finished.append("status")

    tasks = [asyncio.ensure_future(big(i)) for i in range(8)]
    await asyncio.sleep(0.05)
    await status()
    await asyncio.gather(*tasks)
    assert finished[0] == "status"


# -- GET /tokenlens/ranks: what the panel counts tiktoken encodings with in the browser ---------


async def ranks(jp_fetch, name: str, **kwargs):
    return await jp_fetch("tokenlens", "ranks", params={"tokenizer": name}, **kwargs)


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base"])
async def test_ranks_are_the_encodings_own(jp_fetch, name):
    import base64

    from tokenlens.core.resolve import resolve

    table = json.loads((await ranks(jp_fetch, name)).body)
    encoding = resolve(name).encoding
    assert table["tokenizer"] == name
    assert table["pattern"] == encoding._pat_str
    assert table["special_tokens"] == encoding._special_tokens
    assert table["n_vocab"] == encoding.n_vocab
    lines = table["ranks"].split("\n")
    assert len(lines) == len(encoding._mergeable_ranks)
    decoded = {base64.b64decode(tok): int(rank) for tok, rank in (line.split(" ") for line in lines)}
    assert decoded == encoding._mergeable_ranks


async def test_ranks_of_other_tokenizers_or_unknown_names_are_refused(jp_fetch, tmp_path):
    code, payload = await error_of(ranks(jp_fetch, "bert-base-uncased"))
    assert code == 422 and "only tiktoken encodings" in payload["message"]
    code, payload = await error_of(ranks(jp_fetch, "gpt-2"))
    assert code == 404 and payload["suggestions"] == ["gpt2"]
    # a path is a name like any other: nothing outside the roots is read
    (tmp_path / "r50k_base.tiktoken").write_text("IQ== 0\n")
    for name in (str(tmp_path / "r50k_base.tiktoken"), str(TOKENIZERS / "gpt2"), "../gpt2"):
        code, payload = await error_of(ranks(jp_fetch, name))
        assert code == 404, name
    for name in ("", "x" * 257):
        code, payload = await error_of(ranks(jp_fetch, name))
        assert code == 400 and "at most 256 characters" in payload["message"]


async def test_ranks_need_auth(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await ranks(jp_fetch, "gpt2", headers={"Authorization": ""})
    assert info.value.code == 403
