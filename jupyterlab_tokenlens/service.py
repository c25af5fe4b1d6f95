"""The server's work without the server: each route as a plain function of a plain dict,
checked, bounded and answered as JSON, raising :class:`~.failures.RequestError` (or the
library's own errors, which :func:`~.failures.failure` turns into statuses) when it cannot.

Names resolve within the library's sandbox (``tokenlens.core.api.Sandbox``): never a path, and a
download only for a POST request on a server started with ``TokenLens.allow_hub_downloads``.
GET requests never download, because a page on any site can make a browser send one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import orjson

from . import __version__
from .cache import AnswerCache
from .failures import RequestError, failure

_DOWNLOADS_OFF = (
    "This server downloads tokenizers from the Hugging Face hub only when started with"
    " --TokenLens.allow_hub_downloads=True."
)
_GET_NEVER_DOWNLOADS = (
    "GET routes read only tokenizers already on this machine; a POST to /tokenlens/tokenize fetches a"
    " hub tokenizer where the server allows downloads (TokenLens.allow_hub_downloads)."
)
#: the most bytes one character of a JSON string can take (a surrogate pair, each escaped as \uXXXX)
_JSON_BYTES_PER_CHAR = 12
#: room in a body for the keys and the other, short values
_BODY_SLACK = 4096


@dataclass(frozen=True)
class Route:
    """One REST route: its method, whether its work is heavy (its own bounded pool), and the
    largest body it reads with the option that sets it."""

    name: str
    method: str
    heavy: bool
    body_limit: Callable[[Any], int]
    limit_option: str = ""
    #: the path under /tokenlens when it is not the name (a group is passed as "name")
    path: str = ""


@dataclass(frozen=True)
class Reply:
    """An answer that is not JSON made here: its bytes, media type and entity tag."""

    body: bytes
    media_type: str
    etag: str = ""


ROUTES = {
    r.name: r
    for r in (
        Route("tokenizers", "GET", False, lambda s: 0),
        Route("ranks", "GET", False, lambda s: 0),
        Route("page_tokenizers", "GET", False, lambda s: 0, path="page-tokenizers"),
        Route("page_file", "GET", False, lambda s: 0, path=r"page-tokenizers/([^/]+)"),
        Route("tokenize", "POST", False, lambda s: s.max_body_bytes, "max_body_bytes"),
        Route("explain", "POST", False, lambda s: 32 * s.max_explain_ids + _BODY_SLACK, "max_explain_ids"),
        Route(
            "pipeline",
            "POST",
            True,
            lambda s: _JSON_BYTES_PER_CHAR * s.max_pipeline_chars + _BODY_SLACK,
            "max_pipeline_chars",
        ),
        Route(
            "predict",
            "POST",
            True,
            lambda s: _JSON_BYTES_PER_CHAR * s.max_predict_chars + _BODY_SLACK,
            "max_predict_chars",
        ),
    )
}


def too_large(route: Route, size: int, settings: Any) -> RequestError | None:
    """The 413 for a body of ``size`` bytes, before it is read, or None when it fits."""
    limit = route.body_limit(settings)
    if size <= limit:
        return None
    if limit == 0:
        return RequestError(413, f"GET /tokenlens/{route.name} takes no request body; send the request without one.")
    return RequestError(
        413,
        f"The request is {size:,} bytes; /tokenlens/{route.name} reads at most {limit:,}. Send a shorter"
        f" text, or raise TokenLens.{route.limit_option} in the server configuration.",
    )


def parse(raw: bytes) -> Any:
    """The JSON of a request body."""
    try:
        return json.loads(raw or b"null")
    except RecursionError:
        raise RequestError(400, "The request body is JSON nested too deeply; send a flat JSON object.") from None
    except ValueError as exc:  # UnicodeDecodeError is one
        raise RequestError(400, f"The request body is not valid JSON ({str(exc)[:200]}).") from None


def dumps(answer: Any) -> bytes:
    """JSON of an answer whose ids, spans and segments may be numpy arrays."""
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


# -- checks of request values: each names the value, what it must be, and an example ----------


def _object(body: Any, example: str) -> dict:
    if not isinstance(body, dict):
        raise RequestError(400, f"Send a JSON object such as {example}.")
    return body


def _string(body: dict, key: str, example: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise RequestError(400, f'"{key}" must be a string, as in {example}.')
    return value


def _flag(body: dict, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise RequestError(400, f'"{key}" must be true or false.')
    return value


def _whole(body: dict, key: str, default: int, low: int, high: int, what: str) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(400, f'"{key}" must be a whole number ({what}), from {low} to {high}.')
    if not low <= value <= high:
        raise RequestError(400, f'"{key}" is {value}; it must be from {low} to {high} ({what}).')
    return value


class Service:
    """The routes' work over ``settings`` (a ``TokenLens``, or anything with its attributes)."""

    def __init__(self, settings: Any, cache: AnswerCache | None = None):
        self.settings = settings
        self.cache = cache if cache is not None else AnswerCache(settings.cache_bytes)

    def answer(self, route: str, body: bytes = b"", params: Mapping[str, str] | None = None) -> bytes | Reply:
        """The JSON answer to one request: the body parsed (POST) or the query (GET), then the
        route's work; one call, so a pool thread does all of it."""
        spec = ROUTES[route]
        request: Any = dict(params or {}) if spec.method == "GET" else parse(body)
        result = getattr(self, route)(request)
        return result if isinstance(result, (bytes, Reply)) else dumps(result)

    # -- the sandbox ----------------------------------------------------------------------------

    def _sandbox(self, get: bool):
        """The library's server sandbox; a POST may download where the server's option allows."""
        from tokenlens.core.api import SERVER_SANDBOX

        if get or not self.settings.allow_hub_downloads:
            return SERVER_SANDBOX
        return replace(SERVER_SANDBOX, allow_downloads=True)

    @contextmanager
    def _sandboxed(self, get: bool = False):
        """The sandbox a library call loads names in; where a name is not on this machine and
        downloads are off, the answer says how they are turned on (for GET: that GET never downloads)."""
        from tokenlens.errors import TokenizerNotFound

        sandbox = self._sandbox(get)
        try:
            yield sandbox
        except TokenizerNotFound as exc:
            if sandbox.allow_downloads:
                raise
            status, payload, _ = failure(exc)
            hint = _GET_NEVER_DOWNLOADS if get else _DOWNLOADS_OFF
            raise RequestError(status, f"{payload.pop('message')} {hint}", **payload) from None

    def _name(self, value: Any, problem: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise RequestError(400, problem)
        if len(value) > self.settings.max_name_chars:
            raise RequestError(400, f"Names are at most {self.settings.max_name_chars} characters long.")
        return value

    # -- the routes -------------------------------------------------------------------------------

    def tokenizers(self, query: Mapping[str, str]) -> dict:
        """What loads by name without a download: the panel's list."""
        from tokenlens.core.resolve import available

        return {"version": __version__, "tokenizers": [e.to_dict() for e in available()]}

    def ranks(self, query: Mapping[str, str]) -> bytes:
        """A tiktoken encoding's pattern, special tokens and ranks, for the panel to count with in
        the browser (``GET /tokenlens/ranks?tokenizer=gpt2``)."""
        name = query.get("tokenizer", "")
        if not name or len(name) > self.settings.max_name_chars:
            raise RequestError(
                400,
                f"Name one tokenizer of at most {self.settings.max_name_chars} characters, as in"
                " /tokenlens/ranks?tokenizer=gpt2.",
            )
        from tokenlens.core.api import load

        with self._sandboxed(get=True) as sandbox:
            backend = load(name, sandbox=sandbox)
        table = backend.rank_table()
        if table is None:
            raise RequestError(
                422,
                f"{name} is a {backend.kind} tokenizer; only tiktoken encodings have ranks a browser can"
                " count with. The panel counts its tokens on the server.",
            )
        return dumps(table)

    def page_tokenizers(self, query: Mapping[str, str]) -> dict:
        """The files a page needs to count and draw tokens itself (``GET
        /tokenlens/page-tokenizers[?tokenizers=a,b]``; all that load without a download by
        default): per tokenizer its kind, sha256, size and ``url`` relative to this route, or
        ``page: false`` and the reason it stays on the server."""
        from tokenlens.core.page_files import page_manifest
        from tokenlens.core.resolve import available

        asked = [n for n in query.get("tokenizers", "").split(",") if n.strip()]
        if len(asked) > self.settings.max_tokenizers:
            raise RequestError(
                400, f"At most {self.settings.max_tokenizers} tokenizers per request; {len(asked)} were named."
            )
        names = [self._name(n, "Name tokenizers as in ?tokenizers=gpt2,bert-base-uncased.") for n in asked]
        if not names:
            names = [e.name for e in available(include_hub_cache=False)]
        entries = []
        for name in names:
            try:
                with self._sandboxed(get=True) as sandbox:
                    entries.extend(page_manifest([name], sandbox))
            except Exception as exc:
                # one tokenizer the page cannot have is counted on the server; the rest still come
                status, payload, _ = failure(exc)
                entries.append({"name": name, "page": False, "reason": payload["message"], "status": status})
        return {"version": __version__, "tokenizers": entries}

    def page_file(self, query: Mapping[str, str]) -> Reply:
        """One tokenizer's file for the page (``GET /tokenlens/page-tokenizers/gpt2``), tagged
        with its sha256 so the browser asks again only when it changed."""
        import hashlib

        from tokenlens.core.page_files import page_file

        name = self._name(query.get("name"), "Name a tokenizer, as in /tokenlens/page-tokenizers/gpt2.")
        with self._sandboxed(get=True) as sandbox:
            data, media_type = page_file(name, sandbox)
        return Reply(data, media_type, hashlib.sha256(data).hexdigest())

    def tokenize(self, body: Any) -> bytes:
        """Ids, tokens and spans of a text under each named tokenizer (``counts_only``: counts)."""
        from tokenlens.core.api import check_text, load

        example = '{"text": "I love NLP", "tokenizers": ["gpt2"]}'
        body = _object(body, example)
        text = _string(body, "text", example)
        if len(text) > self.settings.max_text_chars:
            raise RequestError(
                413,
                f"The text has {len(text):,} characters; the limit is {self.settings.max_text_chars:,}."
                " Tokenize a part of it, or use tokenlens.tokenize() in a notebook for whole files.",
            )
        names = body.get("tokenizers")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise RequestError(400, f'"tokenizers" must be a non-empty list of names, as in {example}.')
        if len(names) > self.settings.max_tokenizers:
            raise RequestError(
                400, f"At most {self.settings.max_tokenizers} tokenizers per request; {len(names)} were named."
            )
        if any(len(n) > self.settings.max_name_chars for n in names):
            raise RequestError(400, f"Tokenizer names are at most {self.settings.max_name_chars} characters long.")
        special = _flag(body, "add_special_tokens", True)
        counts_only = _flag(body, "counts_only", False)
        text = check_text(text)
        key = AnswerCache.key(text, names, special, counts_only)
        answer = self.cache.get(key)
        if answer is None:
            # every name is loaded before any text is encoded, so a bad name costs no work
            with self._sandboxed() as sandbox:
                backends = [load(n, sandbox=sandbox) for n in names]
            work = count_all if counts_only else tokenize_all
            answer = dumps({"results": work(text, backends, special)})
            self.cache.put(key, answer)
        return answer

    def explain(self, body: Any) -> dict:
        """Why tokens have their ids: merge rank and parents, score, ``##`` (the hover card)."""
        from tokenlens.core.api import load

        example = '{"tokenizer": "gpt2", "ids": [1842]}'
        body = _object(body, example)
        if not isinstance(body.get("tokenizer"), str):
            raise RequestError(400, f"Send a JSON object such as {example}.")
        name = self._name(body["tokenizer"], f'"tokenizer" must be the name of a tokenizer, as in {example}.')
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise RequestError(400, f'"ids" must be a non-empty list of whole numbers, as in {example}.')
        if len(ids) > self.settings.max_explain_ids:
            raise RequestError(400, f"At most {self.settings.max_explain_ids} ids per request; {len(ids)} were sent.")
        with self._sandboxed() as sandbox:
            backend = load(name, sandbox=sandbox)
        backend.check_ids(ids)
        return {"explanations": [backend.explain(i) for i in ids]}

    def pipeline(self, body: Any) -> dict:
        """The text through each stage of one tokenizer (the learning view)."""
        from tokenlens.learn.pipeline import pipeline

        example = '{"text": "I love NLP", "tokenizer": "bert-base-uncased"}'
        body = _object(body, example)
        if not isinstance(body.get("text"), str) or not isinstance(body.get("tokenizer"), str):
            raise RequestError(400, f"Send a JSON object such as {example}.")
        text = body["text"]
        limit = self.settings.max_pipeline_chars
        if len(text) > limit:
            raise RequestError(
                413, f"The pipeline view takes at most {limit:,} characters; use the token view for more."
            )
        name = self._name(body["tokenizer"], f'"tokenizer" must be the name of a tokenizer, as in {example}.')
        with self._sandboxed() as sandbox:
            return pipeline(text, name, sandbox=sandbox).to_dict()

    def predict(self, body: Any) -> dict:
        """A causal LM's next-token predictions after each token of a text, and optionally a greedy
        continuation. Models by name only: %finetune runs and folders in the allowed roots."""
        from tokenlens.learn.predict import generate, next_tokens, require_torch

        s = self.settings
        example = '{"text": "The cat sat on the", "model": "my-run", "top_k": 5, "generate": 10}'
        body = _object(body, example)
        text = _string(body, "text", example)
        if not text.strip():
            raise RequestError(400, "The text is empty: write a few words for the model to continue.")
        if len(text) > s.max_predict_chars:
            raise RequestError(
                413,
                f"The text has {len(text):,} characters; predictions take at most {s.max_predict_chars:,}."
                " Send a shorter passage, or call tokenlens.next_tokens() in a notebook.",
            )
        model = self._name(
            body.get("model"), f'"model" must be the name of a %finetune run or a model folder, as in {example}.'
        )
        top_k = _whole(body, "top_k", 5, 1, s.max_top_k, "candidates per position")
        steps = _whole(body, "generate", 0, 0, s.max_generate, "tokens to continue by")
        require_torch()
        sandbox = self._sandbox(get=False)
        predictions = next_tokens(text, model, top_k=top_k, sandbox=sandbox)
        if steps:
            predictions.generation = generate(text, model, max_new_tokens=steps, sandbox=sandbox)
        return predictions.to_dict()


def tokenize_all(text: str, backends: list, add_special_tokens: bool) -> list[dict]:
    return [b.encode(text, add_special_tokens=add_special_tokens).to_dict(arrays=True) for b in backends]


def count_all(text: str, backends: list, add_special_tokens: bool) -> list[dict]:
    """Counts without ids or spans: what the panel paints first while the full answer is made."""
    n_chars = len(text)  # code points, as Tokenized.n_chars
    n_bytes = len(text.encode("utf-8"))
    return [
        {
            "tokenizer": b.name,
            "n_tokens": b.count(text, add_special_tokens=add_special_tokens),
            "n_chars": n_chars,
            "n_bytes": n_bytes,
            "counts_only": True,
        }
        for b in backends
    ]
