"""The server's work without a server: jupyterlab_tokenlens.service on plain dicts, the errors as
HTTP answers (failures.py), the heavy pool's bound (pools.py) and the options (config.py)."""

from __future__ import annotations

import json
import threading

import pytest

from jupyterlab_tokenlens.config import TokenLens
from jupyterlab_tokenlens.failures import Busy, RequestError, failure, public_message
from jupyterlab_tokenlens.pools import BoundedPool
from jupyterlab_tokenlens.service import ROUTES, Service, parse, too_large

from .conftest import TOKENIZERS


@pytest.fixture
def service():
    return Service(TokenLens())


def test_tokenize_on_a_plain_dict(service):
    answer = json.loads(service.tokenize({"text": "I love NLP", "tokenizers": ["gpt2", "bert-base-uncased"]}))
    assert [r["ids"] for r in answer["results"]] == [[40, 1842, 399, 19930], [101, 1045, 2293, 17953, 2361, 102]]
    counts = json.loads(service.tokenize({"text": "I love NLP", "tokenizers": ["gpt2"], "counts_only": True}))
    assert counts["results"][0]["n_tokens"] == 4 and "ids" not in counts["results"][0]


def test_answer_parses_the_body_and_runs_the_route(service):
    body = json.dumps({"tokenizer": "gpt2", "ids": [1842]}).encode()
    assert json.loads(service.answer("explain", body))["explanations"][0]["piece"] == "Ġlove"
    listed = json.loads(service.answer("tokenizers", params={}))
    assert "gpt2" in {t["name"] for t in listed["tokenizers"]}
    ranks = json.loads(service.answer("ranks", params={"tokenizer": "cl100k_base"}))
    assert ranks["n_vocab"] > 100_000


@pytest.mark.parametrize(
    "route,body,status,fragment",
    [
        ("tokenize", [1], 400, "Send a JSON object"),
        ("tokenize", {"text": None, "tokenizers": ["gpt2"]}, 400, '"text" must be a string'),
        ("tokenize", {"text": "x", "tokenizers": [" "]}, 400, "non-empty list of names"),
        ("tokenize", {"text": "x", "tokenizers": ["x" * 257]}, 400, "at most 256 characters"),
        ("tokenize", {"text": "x", "tokenizers": ["gpt2"], "counts_only": 1}, 400, "true or false"),
        ("tokenize", {"text": "x" * 1_000_001, "tokenizers": ["gpt2"]}, 413, "limit is 1,000,000"),
        ("explain", {"tokenizer": "", "ids": [1]}, 400, '"tokenizer" must be the name'),
        ("explain", {"tokenizer": "gpt2", "ids": [True]}, 400, "whole numbers"),
        ("pipeline", {"text": "x" * 20_001, "tokenizer": "gpt2"}, 413, "at most 20,000"),
        ("pipeline", {"text": "x", "tokenizer": 5}, 400, "Send a JSON object"),
        ("predict", {"text": " ", "model": "m"}, 400, "The text is empty"),
        ("predict", {"text": "x", "model": "m", "top_k": 2.0}, 400, "whole number"),
        ("predict", {"text": "x", "model": "m", "generate": -1}, 400, "from 0 to 64"),
        ("predict", {"text": "x", "model": ["m"]}, 400, '"model" must be the name'),
        ("ranks", {"tokenizer": ""}, 400, "Name one tokenizer"),
    ],
)
def test_bad_requests_raise_what_to_do(service, route, body, status, fragment):
    with pytest.raises(RequestError) as info:
        getattr(service, route)(body)
    assert info.value.status == status and fragment in info.value.message


def test_paths_never_resolve_and_the_answer_says_how_downloads_are_allowed(service, tmp_path):
    for name in (str(TOKENIZERS / "gpt2"), "../gpt2"):
        with pytest.raises(RequestError) as info:
            service.tokenize({"text": "x", "tokenizers": [name]})
        assert info.value.status == 404 and "--TokenLens.allow_hub_downloads=True" in info.value.message
        assert info.value.extra["tokenizer"] == name


@pytest.mark.parametrize(
    "raw,fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\xfa", "not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_parse_refuses_what_is_not_json(raw, fragment):
    with pytest.raises(RequestError) as info:
        parse(raw)
    assert info.value.status == 400 and fragment in info.value.message


def test_body_limits_name_their_option():
    settings = TokenLens()
    assert too_large(ROUTES["tokenize"], settings.max_body_bytes, settings) is None
    problem = too_large(ROUTES["tokenize"], settings.max_body_bytes + 1, settings)
    assert problem.status == 413 and "TokenLens.max_body_bytes" in problem.message
    assert "takes no request body" in too_large(ROUTES["ranks"], 1, settings).message
    # a text at the character limit fits, however it is spelled in JSON
    text = "😀" * settings.max_predict_chars
    body = json.dumps({"text": text, "model": "m"}).encode()
    assert too_large(ROUTES["predict"], len(body), settings) is None


def test_the_heavy_pool_refuses_beyond_its_bound_and_frees_its_places():
    pool = BoundedPool(workers=1, queue=1, what="heavy", retry_after=7)
    gate = threading.Event()
    held = [pool.submit(gate.wait), pool.submit(gate.wait)]  # one running, one waiting
    with pytest.raises(Busy) as info:
        pool.submit(gate.wait)
    assert info.value.status == 503 and info.value.headers == {"Retry-After": "7"}
    gate.set()
    for future in held:
        future.result()
    assert pool.submit(lambda: 42).result() == 42
    pool.shutdown()


def test_public_messages_name_files_relative_to_their_root(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "broken").mkdir(parents=True)
    monkeypatch.setenv("TOKENLENS_PATH", str(root))
    message = (
        f"{root}/broken/tokenizer.json is not readable. The folder {root / 'broken'} holds no tokenizer"
        f" file (it has: secret.txt, notes.md). Compare /home/someone/private/x.model, see"
        " https://huggingface.co/docs and owner/repo."
    )
    shown = public_message(message)
    assert str(tmp_path) not in shown and "secret.txt" not in shown and "/home/someone" not in shown
    assert shown.startswith("broken/tokenizer.json is not readable. The folder broken holds no tokenizer file.")
    assert "Compare x.model" in shown and "https://huggingface.co/docs" in shown and "owner/repo" in shown
    # what the request itself named is echoed as it was
    assert public_message("No tokenizer named '/etc/passwd'.", keep=("'/etc/passwd'",)) == (
        "No tokenizer named '/etc/passwd'."
    )


def test_library_errors_become_statuses():
    from tokenlens.errors import InputError, MissingExtra, ModelFileError, TokenizerNotFound

    status, payload, _ = failure(TokenizerNotFound("gpt-2", ["gpt2"]))
    assert status == 404 and payload["suggestions"] == ["gpt2"] and payload["tokenizer"] == "gpt-2"
    assert "did you mean 'gpt2'" in payload["message"]
    assert failure(ModelFileError("x"))[0] == 422
    assert failure(InputError("x"))[0] == 400
    assert failure(MissingExtra("x"))[0] == 501
    status, payload, _ = failure(RuntimeError("/srv/secret/file broke"))
    assert status == 500 and "/srv/secret" not in payload["message"]


def test_options_default_to_a_closed_server():
    settings = TokenLens()
    assert settings.allow_hub_downloads is False
    assert settings.heavy_workers >= 1 and settings.heavy_queue >= 0


def test_page_files_of_sentencepiece_split_as_sentencepiece_does(service):
    """Llama 2's tokenizer.json for the page: the same ids as the sentencepiece library on FLORES
    in eight languages and on runs of spaces (the merges by score, the words as it splits them)."""
    from pathlib import Path

    from tokenizers import Tokenizer

    import tokenlens

    reply = service.page_file({"name": "llama-2"})
    assert reply.media_type == "application/json" and len(reply.etag) == 64
    served = Tokenizer.from_str(reply.body.decode())
    flores = Path(TOKENIZERS).parent / "flores200"
    texts = ["Hello  world", "x   y    z", "  lead", "trail  ", "<s> a </s>", "a\n\tb", ""]
    for lang in ("eng_Latn", "spa_Latn", "hin_Deva", "ben_Beng", "ory_Orya", "tam_Taml", "arb_Arab", "zho_Hans"):
        texts += (flores / f"{lang}.dev").read_text(encoding="utf-8").splitlines()[:40]
    for text in texts:
        assert served.encode(text).ids == list(tokenlens.tokenize(text, "llama-2").ids), text


def test_page_manifest_bounds_its_names(service):
    with pytest.raises(RequestError) as info:
        service.page_tokenizers({"tokenizers": ",".join(["gpt2"] * 9)})
    assert info.value.status == 400 and "At most 8 tokenizers" in info.value.message
    entries = service.page_tokenizers({"tokenizers": "bert-base-uncased"})["tokenizers"]
    assert entries[0]["kind"] == "tokenizers-json" and entries[0]["url"] == "page-tokenizers/bert-base-uncased"
