"""The REST routes on a real Jupyter server (pytest-jupyter)."""

from __future__ import annotations

import asyncio
import json
import re

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


# -- the sandbox: what a request may make the server read or fetch (issue #15, 3 and 10) --------


def config_with(**tokenlens) -> dict:
    """The server's configuration with these ``TokenLens`` options."""
    return {"ServerApp": {"jpserver_extensions": {"jupyterlab_tokenlens": True}}, "TokenLens": tokenlens}


class FakeHub:
    """A Hugging Face hub on localhost that records every request: the real huggingface_hub
    client talks to it, and nothing leaves the machine. ``files``: repo id -> {file name: bytes};
    ``declared``: sizes its HEAD answers claim, for files too large to make."""

    def __init__(self):
        import http.server
        import threading

        self.requests: list[tuple[str, str]] = []
        self.files: dict[str, dict[str, bytes]] = {}
        self.declared: dict[tuple[str, str], int] = {}
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _file(self):
                hub.requests.append((self.command, self.path))
                repo, _, rest = self.path.lstrip("/").partition("/resolve/")
                filename = rest.partition("/")[2].split("?")[0]
                return repo, filename, hub.files.get(repo, {}).get(filename)

            def _head(self, repo, filename, data):
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                self.send_response(200)
                self.send_header("X-Repo-Commit", "a" * 40)
                self.send_header("ETag", f'"{hash(data) & 0xFFFFFFFF:08x}"')
                self.send_header("Content-Length", str(hub.declared.get((repo, filename), len(data))))
                self.end_headers()
                return True

            def do_HEAD(self):
                self._head(*self._file())

            def do_GET(self):
                repo, filename, data = self._file()
                if self._head(repo, filename, data):
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    from huggingface_hub import constants

    hub = FakeHub()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    yield hub
    hub.close()


def word_level_json(words: list[str]) -> bytes:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok.to_str().encode()


async def test_by_default_the_server_fetches_nothing_and_says_how_to_allow_it(jp_fetch, fake_hub):
    fake_hub.files["someone/words"] = {"tokenizer.json": word_level_json(["hello"])}
    code, payload = await error_of(post(jp_fetch, {"text": "hello", "tokenizers": ["someone/words"]}))
    assert code == 404 and "--TokenLens.allow_hub_downloads=True" in payload["message"]
    code, payload = await error_of(ranks(jp_fetch, "someone/words"))
    assert code == 404 and "GET routes read only tokenizers already on this machine" in payload["message"]
    code, payload = await error_of(post(jp_fetch, {"text": "x", "tokenizers": ["r50k_base"]}))
    assert code == 404 and "r50k_base.tiktoken" in payload["message"]
    assert fake_hub.requests == []


@pytest.mark.parametrize("jp_server_config", [config_with(allow_hub_downloads=True)])
async def test_get_routes_never_download_even_where_downloads_are_allowed(jp_fetch, fake_hub):
    """A page on any site can make a browser send a GET (no XSRF check): it must fetch nothing."""
    fake_hub.files["someone/words"] = {"tokenizer.json": word_level_json(["hello"])}
    code, payload = await error_of(ranks(jp_fetch, "someone/words"))
    assert code == 404 and "GET routes read only" in payload["message"]
    assert fake_hub.requests == []
    # a POST may fetch it (authenticated, XSRF-checked); then GET finds it on this machine
    answer = json.loads((await post(jp_fetch, {"text": "hello there", "tokenizers": ["someone/words"]})).body)
    assert answer["results"][0]["ids"] == [1, 0]
    assert ("GET", "/someone/words/resolve/main/tokenizer.json") in fake_hub.requests
    code, payload = await error_of(ranks(jp_fetch, "someone/words"))
    assert code == 422 and "only tiktoken encodings" in payload["message"]


@pytest.fixture
def restore_limits():
    import dataclasses

    from tokenlens.core.limits import LIMITS

    saved = dataclasses.asdict(LIMITS)
    yield LIMITS
    for name, value in saved.items():
        setattr(LIMITS, name, value)


@pytest.mark.parametrize("jp_server_config", [config_with(allow_hub_downloads=True, hub_download_bytes=100_000)])
async def test_downloads_larger_than_the_limit_are_refused_before_fetching(jp_fetch, fake_hub, restore_limits):
    assert restore_limits.hub_download_bytes == 100_000  # the server set the library's limit from its option
    fake_hub.files["someone/huge"] = {"tokenizer.json": word_level_json(["hello"])}
    fake_hub.declared["someone/huge", "tokenizer.json"] = 3_000_000_000
    code, payload = await error_of(post(jp_fetch, {"text": "hello", "tokenizers": ["someone/huge"]}))
    assert code == 422
    assert "3,000,000,000 bytes" in payload["message"] and "TokenLens.hub_download_bytes" in payload["message"]
    # the size was asked, nothing fetched (the hub client's own daily /api/ request aside)
    assert [method for method, path in fake_hub.requests if "/resolve/" in path] == ["HEAD"], fake_hub.requests


@pytest.mark.parametrize("jp_server_config", [config_with(tokenizer_cache_bytes=12_345, hub_download_bytes=6_789)])
async def test_every_library_limit_is_an_option_applied_when_the_server_starts(jp_fetch, restore_limits):
    import dataclasses

    from jupyterlab_tokenlens.config import TokenLens
    from tokenlens.core.limits import Limits

    await jp_fetch("tokenlens", "tokenizers")
    assert (restore_limits.tokenizer_cache_bytes, restore_limits.hub_download_bytes) == (12_345, 6_789)
    traits = TokenLens.class_traits(config=True)
    for f in dataclasses.fields(Limits):
        assert traits[f.name].default_value == f.default, f.name
        assert traits[f.name].help, f.name


async def test_error_answers_name_files_relative_to_their_root_and_list_no_folder(jp_fetch, tmp_path, monkeypatch):
    root = tmp_path / "private-root"
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "tokenizer.json").write_text('{"model": ')
    (root / "empty").mkdir()
    (root / "empty" / "salary-review.txt").write_text("x")
    monkeypatch.setenv("TOKENLENS_PATH", str(root))
    for name, fragment in (("broken", "not a readable tokenizer.json"), ("empty", "holds no tokenizer file")):
        code, payload = await error_of(post(jp_fetch, {"text": "x", "tokenizers": [name]}))
        assert code == 422 and fragment in payload["message"], payload
        assert str(tmp_path) not in payload["message"] and "private-root" not in payload["message"], payload
        assert "salary-review" not in payload["message"], payload


async def test_the_list_offers_only_what_resolves(jp_fetch, tmp_path, monkeypatch):
    import shutil

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    shutil.copytree(TOKENIZERS / "gpt2", outside / "escape")
    shutil.copytree(TOKENIZERS / "gpt2", root / "inside")
    (root / "escape").symlink_to(outside / "escape")
    monkeypatch.setenv("TOKENLENS_PATH", str(root))
    names = {t["name"] for t in json.loads((await jp_fetch("tokenlens", "tokenizers")).body)["tokenizers"]}
    assert "inside" in names and "escape" not in names
    code, _ = await error_of(post(jp_fetch, {"text": "x", "tokenizers": ["escape"]}))
    assert code == 404


# -- heavy routes have their own bounded pool (issue #15, 5) ----------------------------------------


@pytest.mark.parametrize("jp_server_config", [config_with(heavy_workers=2, heavy_queue=0, retry_after_seconds=3)])
async def test_tokenize_answers_while_heavy_requests_fill_their_pool(jp_fetch, monkeypatch):
    """Four pipeline requests are held in their work: two take the heavy pool's threads, two are
    refused at once with 503 and Retry-After, and tokenize answers while the two are still held."""
    import threading

    import tokenlens.learn.pipeline as pipeline_module
    from tokenlens import tokenize

    gate, started = threading.Event(), threading.Semaphore(0)
    real = pipeline_module.pipeline

    def held(*args, **kwargs):
        started.release()
        gate.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "pipeline", held)
    loop = asyncio.get_running_loop()
    heavy = [
        asyncio.ensure_future(
            jp_fetch("tokenlens", "pipeline", method="POST", body=json.dumps({"text": f"x {i}", "tokenizer": "gpt2"}))
        )
        for i in range(4)
    ]
    try:
        for _ in range(2):  # two requests are in the pool, held
            await loop.run_in_executor(None, started.acquire)
        while sum(t.done() for t in heavy) < 2:  # the other two are refused without waiting
            pending = [t for t in heavy if not t.done()]
            done, _ = await asyncio.wait(pending, timeout=60, return_when=asyncio.FIRST_COMPLETED)
            assert done, "heavy requests beyond the pool were not refused"
        answer = asyncio.ensure_future(post(jp_fetch, {"text": "still here", "tokenizers": ["gpt2"]}))
        finished, _ = await asyncio.wait([answer], timeout=60)  # a guard against a hang, not a speed test
        assert answer in finished and not gate.is_set()
        assert json.loads(answer.result().body)["results"][0]["ids"] == tokenize("still here", "gpt2").ids
        refused = [t for t in heavy if t.done()]
        for task in refused:
            assert isinstance(task.exception(), HTTPClientError) and task.exception().code == 503
            response = task.exception().response
            assert response.headers["Retry-After"] == "3"
            assert "busy" in json.loads(response.body)["message"]
    finally:
        gate.set()
    for task in (t for t in heavy if t not in refused):
        assert json.loads((await task).body)["stages"]


# -- request bodies are bounded before they are read, and parsed off the event loop (issue #15, 7) --


async def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send a request by hand (headers that promise a body it may not send) and read the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        await writer.drain()
        # a guard against a hang (a server waiting for the promised body), not a speed test
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=60)
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        answer = await asyncio.wait_for(reader.readexactly(int(length.group(1))), timeout=60) if length else b""
    finally:
        writer.close()
    return int(head.split()[1]), json.loads(answer) if answer else {}


@pytest.mark.parametrize(
    "method,route,limit_option",
    [
        ("POST", "tokenize", "max_body_bytes"),
        ("POST", "explain", "max_explain_ids"),
        ("POST", "pipeline", "max_pipeline_chars"),
        ("POST", "predict", "max_predict_chars"),
        ("GET", "tokenizers", ""),
        ("GET", "ranks?tokenizer=gpt2", ""),
    ],
)
async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header, method, route, limit_option
):
    """The headers promise 50 MB (under tornado's own limit) and no body follows: the answer comes from the length alone.
    (``jp_fetch`` is asked for so that the test server listens.)"""
    head = (
        f"{method} {jp_base_url}tokenlens/{route} HTTP/1.1\r\nHost: 127.0.0.1:{jp_http_port}\r\n"
        f"Authorization: {jp_auth_header['Authorization']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n"
    )
    status, payload = await raw_request(jp_http_port, head)
    assert status == 413
    assert (f"TokenLens.{limit_option}" if limit_option else "takes no request body") in payload["message"]


async def test_unauthenticated_bodies_are_not_read(jp_fetch, jp_http_port, jp_base_url):
    head = (
        f"POST {jp_base_url}tokenlens/tokenize HTTP/1.1\r\nHost: 127.0.0.1:{jp_http_port}\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n"
    )
    status, _ = await raw_request(jp_http_port, head)
    assert status == 403


async def test_bodies_are_parsed_off_the_event_loop(jp_fetch, monkeypatch):
    """While one request's body is being parsed (held here), the server answers other requests."""
    import threading

    import jupyterlab_tokenlens.service as service

    gate, started = threading.Event(), threading.Event()
    real = service.parse

    def held(raw):
        started.set()
        gate.wait()
        return real(raw)

    monkeypatch.setattr(service, "parse", held)
    slow = asyncio.ensure_future(
        jp_fetch("tokenlens", "explain", method="POST", body=json.dumps({"tokenizer": "gpt2", "ids": [40]}))
    )
    try:
        await asyncio.get_running_loop().run_in_executor(None, started.wait)
        status = asyncio.ensure_future(jp_fetch("api", "status"))
        finished, _ = await asyncio.wait([status], timeout=60)  # a guard against a hang
        assert status in finished and not gate.is_set()
    finally:
        gate.set()
    assert json.loads((await slow).body)["explanations"][0]["piece"] == "I"


# -- GET /tokenlens/page-tokenizers: the files a page counts and draws tokens with (issue #21) ---


async def page(jp_fetch, *parts: str, **kwargs):
    return await jp_fetch("tokenlens", "page-tokenizers", *parts, **kwargs)


async def test_page_manifest_and_files_match_and_are_tagged(jp_fetch):
    import hashlib

    listed = json.loads((await page(jp_fetch, params={"tokenizers": "gpt2,bert-base-uncased,llama-2"})).body)
    entries = {e["name"]: e for e in listed["tokenizers"]}
    assert entries["gpt2"]["kind"] == "tiktoken" and entries["bert-base-uncased"]["kind"] == "tokenizers-json"
    for name, entry in entries.items():
        assert entry["url"] == f"page-tokenizers/{name}" and entry.get("page", True)
        response = await page(jp_fetch, name)
        assert hashlib.sha256(response.body).hexdigest() == entry["sha256"] and len(response.body) == entry["bytes"]
        assert response.headers["ETag"] == f'"{entry["sha256"]}"'
    # the tokenizer.json is what the server's engine runs: the same ids for the same text
    from tokenizers import Tokenizer

    import tokenlens

    served = Tokenizer.from_str((await page(jp_fetch, "llama-2")).body.decode())
    text = "Hello  world, ଓଡ଼ିଆ 🙂"
    assert served.encode(text).ids == list(tokenlens.tokenize(text, "llama-2").ids)
    # the browser's copy still current: 304 and no body
    with pytest.raises(HTTPClientError) as info:
        await page(jp_fetch, "gpt2", headers={"If-None-Match": f'"{entries["gpt2"]["sha256"]}"'})
    assert info.value.code == 304
    # every available tokenizer when none is named
    everything = json.loads((await page(jp_fetch)).body)["tokenizers"]
    assert {"gpt2", "cl100k_base", "o200k_base", "bert-base-uncased", "llama-2"} <= {e["name"] for e in everything}


async def test_page_files_need_auth(jp_fetch):
    for parts in ((), ("gpt2",)):
        with pytest.raises(HTTPClientError) as info:
            await page(jp_fetch, *parts, headers={"Authorization": ""})
        assert info.value.code == 403


async def test_page_files_are_local_names_only(jp_fetch, tmp_path):
    code, payload = await error_of(page(jp_fetch, "gpt-2"))
    assert code == 404 and "No tokenizer named 'gpt-2'" in payload["message"] and payload["suggestions"] == ["gpt2"]
    (tmp_path / "tokenizer.json").write_bytes(word_level_json(["hello"]))
    for name in (str(tmp_path), str(TOKENIZERS / "gpt2"), "../gpt2", ".."):
        code, payload = await error_of(page(jp_fetch, name.replace("/", "%2F")))
        assert code == 404, name
    code, payload = await error_of(page(jp_fetch, "x" * 257))
    assert code == 400 and "at most 256 characters" in payload["message"]
    # in the manifest, a name the page cannot have is marked, and the others still come
    listed = json.loads((await page(jp_fetch, params={"tokenizers": "gpt-2,gpt2"})).body)["tokenizers"]
    assert listed[0]["page"] is False and listed[0]["status"] == 404 and "gpt-2" in listed[0]["reason"]
    assert listed[1]["name"] == "gpt2" and "sha256" in listed[1]


@pytest.mark.parametrize("jp_server_config", [config_with(page_file_bytes=1_000_000)])
async def test_page_files_larger_than_the_limit_are_refused(jp_fetch, restore_limits):
    code, payload = await error_of(page(jp_fetch, "o200k_base"))
    assert code == 400 and "page_file_bytes" in payload["message"] and "1,000,000" in payload["message"]
    entry = json.loads((await page(jp_fetch, params={"tokenizers": "o200k_base"})).body)["tokenizers"][0]
    assert entry["page"] is False and "counted on the server" in entry["reason"]
    assert (await page(jp_fetch, "gpt2")).code == 200  # 886,020 bytes


@pytest.mark.parametrize("jp_server_config", [config_with(allow_hub_downloads=True)])
async def test_page_files_never_download_even_where_downloads_are_allowed(jp_fetch, fake_hub):
    from tokenlens.core.resolve import clear_cache

    clear_cache()  # an earlier test's POST may have fetched this very name into this process
    fake_hub.files["someone/words"] = {"tokenizer.json": word_level_json(["hello"])}
    code, payload = await error_of(page(jp_fetch, "someone%2Fwords"))
    assert code == 404 and "GET routes read only" in payload["message"]
    listed = json.loads((await page(jp_fetch, params={"tokenizers": "someone/words"})).body)["tokenizers"]
    assert listed[0]["page"] is False
    assert fake_hub.requests == []
