"""Every route's input fuzzed on a real Jupyter server (hypothesis): wrong types, huge and empty
values, any Unicode, lone surrogates, extra keys, bytes that are not JSON. Every answer is a
success or a 4xx whose JSON message a person can act on; never a 500 or a traceback, and the
server keeps answering. The server runs with small limits, so huge values cross them cheaply.

The examples are drawn in a worker thread (hypothesis does not drive async tests) that talks to
the server over HTTP while the event loop serves it; they are derandomized, so ``make test``
runs the same ones each time."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LIMITS = {"max_text_chars": 3_000, "max_body_bytes": 60_000, "max_pipeline_chars": 600, "max_predict_chars": 300}
#: a guard against a hang, not a speed test: no answer may take this long
HANG_SECONDS = 120
EXAMPLES = 40


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyterlab_tokenlens": True}}, "TokenLens": LIMITS}


# -- what requests are made of ---------------------------------------------------------------------

#: any code point, lone surrogates included
any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
texts = st.one_of(
    st.text(any_char, max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", " ", "\x00", "I love NLP", "ଓଡ଼ିଆ ଭାଷା", "👩‍👩‍👧", "a\ud800b", "\udfff"]),
    st.integers(0, 3).map(lambda k: "x" * (LIMITS["max_predict_chars"] * 10**k // 10 + 1)),
)
names = st.one_of(
    st.sampled_from(
        ["gpt2", "bert-base-uncased", "llama-2", "cl100k_base", "o200k_base", "r50k_base", "gpt-2", "ollama:x"]
        + ["../gpt2", "/etc/passwd", "owner/repo", "", " ", "gpt2\x00", "x" * 300, "C:\\gpt2", "~/gpt2"]
    ),
    st.text(any_char, max_size=30),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 5, 20, 21, 64, 65, 50256, 50257, 10**30, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
extra_keys = st.dictionaries(st.text(any_char, max_size=12), json_values, max_size=3)


def body_of(fields: dict, optional: dict):
    """A route's JSON object (right keys, any values, extra keys), or any JSON value at all."""
    shaped = st.builds(
        lambda f, o, e: {**e, **f, **o},
        st.fixed_dictionaries(fields),
        st.fixed_dictionaries({}, optional=optional),
        extra_keys,
    )
    return st.one_of(shaped, shaped, json_values)


BODIES = {
    "tokenize": body_of(
        {"text": st.one_of(texts, json_values), "tokenizers": st.one_of(st.lists(names, max_size=10), json_values)},
        {"add_special_tokens": json_values, "counts_only": json_values},
    ),
    "explain": body_of(
        {"tokenizer": st.one_of(names, json_values), "ids": st.one_of(st.lists(numbers, max_size=300), json_values)},
        {},
    ),
    "pipeline": body_of({"text": st.one_of(texts, json_values), "tokenizer": st.one_of(names, json_values)}, {}),
    "predict": body_of(
        {"text": st.one_of(texts, json_values), "model": st.one_of(names, json_values)},
        {"top_k": json_values, "generate": json_values},
    ),
}


def encoded(value) -> bytes:
    # ensure_ascii writes a lone surrogate as its \\udXXX escape, as a browser's JSON.stringify does
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


raw_bodies = st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"{", b"[" * 5000, b'{"text": "\\ud800"}']))


# -- the client (a worker thread) --------------------------------------------------------------------


class Client:
    def __init__(self, port: int, base_url: str, auth: dict):
        self.root = f"http://127.0.0.1:{port}{base_url}tokenlens/"
        self.auth = auth

    def send(self, route: str, body: bytes | None = None) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.root + route, data=body, headers=self.auth)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=HANG_SECONDS) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def check(self, route: str, body: bytes | None = None) -> None:
        status, answer, headers = self.send(route, body)
        shown = f"{route} {body[:200] if body else ''!r} -> {status} {answer[:300]!r}"
        assert status == 200 or 400 <= status < 500 or (route == "predict" and status == 501), shown
        assert headers.get("Content-Type", "").startswith("application/json"), shown
        payload = json.loads(answer)
        if status != 200:
            assert isinstance(payload.get("message"), str) and len(payload["message"]) > 10, shown
            assert "Traceback" not in payload["message"], shown


def fuzz(client: Client) -> None:
    common = settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )

    def post_json(route: str):
        @common
        @given(BODIES[route])
        def run(body):
            client.check(route, encoded(body))

        return run

    for route in BODIES:
        post_json(route)()

    @common
    @given(st.sampled_from(list(BODIES)), raw_bodies)
    def post_bytes(route, raw):
        client.check(route, raw)

    post_bytes()

    @common
    @given(st.one_of(names, st.text(any_char, max_size=20)), st.booleans())
    def get_ranks(name, named):
        query = urllib.parse.quote(name.encode("utf-8", "surrogatepass")) if named else ""
        client.check(f"ranks?tokenizer={query}" if named else "ranks")

    get_ranks()


async def test_every_route_answers_fuzzed_input_with_a_4xx_a_person_can_act_on(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header
):
    client = Client(jp_http_port, jp_base_url, jp_auth_header)
    await asyncio.get_running_loop().run_in_executor(None, fuzz, client)
    # and the server still answers
    answer = await jp_fetch(
        "tokenlens", "tokenize", method="POST", body=encoded({"text": "ok", "tokenizers": ["gpt2"]})
    )
    assert json.loads(answer.body)["results"][0]["ids"] == [482]
