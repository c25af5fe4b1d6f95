"""REST routes: thin, authenticated shells over ``tokenlens``. Inputs are bounded, names resolve
only inside the allowed roots (TOKENLENS_PATH, the registry), the tiktoken names and the hub."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from . import __version__
from .config import TokenLens


class AnswerCache:
    """Recent answers by request, so identical requests (a panel re-opened, a cell re-selected)
    are not recomputed. Bounded by total size; the oldest answers go first."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, names: list[str], special: bool, counts_only: bool = False) -> tuple:
        from tokenlens.core.resolve import fingerprint

        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        # a retrained tokenizer (same name, new file) must not be answered from the cache
        return (digest, tuple(names), special, counts_only, tuple(fingerprint(n) for n in names))

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, answer: bytes) -> None:
        if len(answer) > self.max_bytes // 4:
            return  # one huge answer would push out everything else
        with self._lock:
            if key in self._items:
                return
            self._items[key] = answer
            self._size += len(answer)
            while self._size > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)


_INVALID = object()  # json_body's answer when the body was not JSON (already answered)


class _Handler(APIHandler):
    def initialize(self, config: TokenLens, pool: ThreadPoolExecutor, cache: AnswerCache) -> None:
        self.tl_config = config
        self.pool = pool
        self.cache = cache

    def fail(self, status: int, message: str, **extra: Any) -> None:
        """A JSON error a person can act on; never a traceback."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, **extra}))

    def json_body(self) -> Any:
        """The request's JSON, or ``_INVALID`` after answering 400 with the parse error."""
        try:
            return json.loads(self.request.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            self.fail(400, f"The request body is not valid JSON ({exc}).")
            return _INVALID

    async def in_pool(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def answer(self, fn, *args) -> None:
        """Run ``fn(*args)`` in the pool and answer its result as JSON (bytes: already JSON),
        or the error it raised as a JSON answer a person can act on."""
        try:
            result = await self.in_pool(fn, *args)
        except Exception as exc:
            return self._fail_from(exc)
        self.set_header("Content-Type", "application/json")
        self.finish(result if isinstance(result, bytes) else json.dumps(result))

    def _fail_from(self, exc: Exception) -> None:
        from tokenlens.errors import (
            InputError,
            MissingExtra,
            ModelFileError,
            ModelNotFound,
            TokenizerFileError,
            TokenizerNotFound,
        )

        if isinstance(exc, TokenizerNotFound):
            return self.fail(404, str(exc), suggestions=exc.suggestions, tokenizer=exc.name)
        if isinstance(exc, ModelNotFound):
            return self.fail(404, str(exc), suggestions=exc.suggestions, model=exc.name, available=exc.available)
        if isinstance(exc, (TokenizerFileError, ModelFileError)):
            return self.fail(422, str(exc))
        if isinstance(exc, MissingExtra):
            # the server lacks an optional part: nothing the request could change
            return self.fail(501, str(exc), install="jupyterlab-tokenlens[finetune]")
        if isinstance(exc, InputError):
            return self.fail(400, str(exc))
        self.log.exception("tokenlens: request failed")
        return self.fail(500, f"tokenlens failed: {type(exc).__name__}: {str(exc)[:300]}")


class TokenizersHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        from tokenlens.core.resolve import available

        entries = await self.in_pool(available)
        self.finish(json.dumps({"version": __version__, "tokenizers": [e.to_dict() for e in entries]}))


class TokenizeHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        cfg = self.tl_config
        if len(self.request.body) > cfg.max_body_bytes:
            return self.fail(
                413,
                f"The request is {len(self.request.body):,} bytes; the limit is"
                f" {cfg.max_body_bytes:,}. Tokenize a shorter text, or raise"
                " TokenLens.max_body_bytes in the server configuration.",
            )
        body = self.json_body()
        if body is _INVALID:
            return None
        problem = _check_body(body, cfg)
        if problem:
            status, message = problem
            return self.fail(status, message)
        special = body.get("add_special_tokens", True)
        counts_only = body.get("counts_only", False)
        # One trip to the pool: hashing, the cache, encoding and JSON (each trip back to a busy
        # event loop costs milliseconds).
        await self.answer(
            _answer, self.cache, body["text"], body["tokenizers"], special, counts_only, cfg.allow_hub_downloads
        )


class RanksHandler(_Handler):
    """A tiktoken encoding's pattern, special tokens and ranks, for the panel to count with in
    the browser (``GET /tokenlens/ranks?tokenizer=gpt2``)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        name = self.get_query_argument("tokenizer", "")
        if not name or len(name) > 256:
            return self.fail(
                400, "Name one tokenizer of at most 256 characters, as in /tokenlens/ranks?tokenizer=gpt2."
            )
        try:
            kind, table = await self.in_pool(_rank_table, name, self.tl_config.allow_hub_downloads)
        except Exception as exc:
            return self._fail_from(exc)
        if table is None:
            return self.fail(
                422,
                f"{name} is a {kind} tokenizer; only tiktoken encodings have ranks a browser can"
                " count with. The panel counts its tokens on the server.",
            )
        self.set_header("Content-Type", "application/json")
        self.finish(table)


class ExplainHandler(_Handler):
    """Why tokens have their ids: merge rank and parents, score, ``##`` (the hover card)."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        if body is _INVALID:
            return None
        example = '{"tokenizer": "gpt2", "ids": [1842]}'
        if not isinstance(body, dict) or not isinstance(body.get("tokenizer"), str):
            return self.fail(400, f"Send a JSON object such as {example}.")
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            return self.fail(400, f'"ids" must be a non-empty list of whole numbers, as in {example}.')
        if len(ids) > 256:
            return self.fail(400, f"At most 256 ids per request; {len(ids)} were sent.")
        await self.answer(_explain_all, body["tokenizer"], ids, self.tl_config.allow_hub_downloads)


class PipelineHandler(_Handler):
    """The text through each stage of one tokenizer (the learning view)."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        if body is _INVALID:
            return None
        example = '{"text": "I love NLP", "tokenizer": "bert-base-uncased"}'
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("text"), str)
            or not isinstance(body.get("tokenizer"), str)
        ):
            return self.fail(400, f"Send a JSON object such as {example}.")
        if len(body["text"]) > 20_000:
            return self.fail(413, "The pipeline view takes at most 20,000 characters; use the token view for more.")
        await self.answer(_pipeline, body["text"], body["tokenizer"], self.tl_config.allow_hub_downloads)


class PredictHandler(_Handler):
    """A causal LM's next-token predictions after each token of a text, and optionally a greedy
    continuation. Models by name only: %finetune runs and folders in the allowed roots."""

    @tornado.web.authenticated
    async def post(self) -> None:
        cfg = self.tl_config
        if len(self.request.body) > 4 * cfg.max_predict_chars + 4096:
            return self.fail(
                413,
                f"The request is {len(self.request.body):,} bytes; predictions take at most"
                f" {cfg.max_predict_chars:,} characters of text.",
            )
        body = self.json_body()
        if body is _INVALID:
            return None
        problem = _check_predict_body(body, cfg)
        if problem:
            status, message = problem
            return self.fail(status, message)
        await self.answer(_predict, body["text"], body["model"], body.get("top_k", 5), body.get("generate", 0))


def _check_predict_body(body: Any, cfg: TokenLens) -> tuple[int, str] | None:
    example = '{"text": "The cat sat on the", "model": "my-run", "top_k": 5, "generate": 10}'
    if not isinstance(body, dict):
        return 400, f"Send a JSON object such as {example}."
    text, model = body.get("text"), body.get("model")
    if not isinstance(text, str):
        return 400, f'"text" must be a string, as in {example}.'
    if not text.strip():
        return 400, "The text is empty: write a few words for the model to continue."
    if len(text) > cfg.max_predict_chars:
        return 413, (
            f"The text has {len(text):,} characters; predictions take at most {cfg.max_predict_chars:,}."
            " Send a shorter passage, or call tokenlens.next_tokens() in a notebook."
        )
    if not isinstance(model, str) or not model.strip():
        return 400, f'"model" must be the name of a %finetune run or a model folder, as in {example}.'
    if len(model) > 256:
        return 400, "Model names are at most 256 characters long."
    for key, low, high, what in (
        ("top_k", 1, cfg.max_top_k, "candidates per position"),
        ("generate", 0, cfg.max_generate, "tokens to continue by"),
    ):
        value = body.get(key, low if key == "generate" else 5)
        if isinstance(value, bool) or not isinstance(value, int):
            return 400, f'"{key}" must be a whole number ({what}), from {low} to {high}.'
        if not low <= value <= high:
            return 400, f'"{key}" is {value}; it must be from {low} to {high} ({what}).'
    return None


def _predict(text: str, model: str, top_k: int, generate: int) -> dict:
    from tokenlens.learn.predict import generate as continue_text
    from tokenlens.learn.predict import next_tokens, require_torch

    require_torch()
    predictions = next_tokens(text, model, top_k=top_k, allow_paths=False)
    if generate:
        predictions.generation = continue_text(text, model, max_new_tokens=generate, allow_paths=False)
    return predictions.to_dict()


def _pipeline(text: str, name: str, allow_hub: bool) -> dict:
    from tokenlens.core.api import _check_text
    from tokenlens.core.resolve import resolve
    from tokenlens.learn.pipeline import pipeline

    return pipeline(_check_text(text), resolve(name, allow_paths=False, allow_hub=allow_hub)).to_dict()


def _rank_table(name: str, allow_hub: bool) -> tuple[str, bytes | None]:
    from tokenlens.core.resolve import resolve

    backend = resolve(name, allow_paths=False, allow_hub=allow_hub)
    table = backend.rank_table()
    return backend.kind, None if table is None else _dumps(table)


def _explain_all(name: str, ids: list[int], allow_hub: bool) -> dict:
    from tokenlens.core.resolve import resolve

    backend = resolve(name, allow_paths=False, allow_hub=allow_hub)
    backend.check_ids(ids)
    return {"explanations": [backend.explain(i) for i in ids]}


def _check_body(body: Any, cfg: TokenLens) -> tuple[int, str] | None:
    example = '{"text": "I love NLP", "tokenizers": ["gpt2"]}'
    if not isinstance(body, dict):
        return 400, f"Send a JSON object such as {example}."
    text, names = body.get("text"), body.get("tokenizers")
    if not isinstance(text, str):
        return 400, f'"text" must be a string, as in {example}.'
    if len(text) > cfg.max_text_chars:
        return 413, (
            f"The text has {len(text):,} characters; the limit is {cfg.max_text_chars:,}."
            " Tokenize a part of it, or use tokenlens.tokenize() in a notebook for whole files."
        )
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        return 400, f'"tokenizers" must be a non-empty list of names, as in {example}.'
    if len(names) > cfg.max_tokenizers:
        return 400, f"At most {cfg.max_tokenizers} tokenizers per request; {len(names)} were named."
    if any(len(n) > 256 for n in names):
        return 400, "Tokenizer names are at most 256 characters long."
    special = body.get("add_special_tokens", True)
    if not isinstance(special, bool):
        return 400, '"add_special_tokens" must be true or false.'
    if not isinstance(body.get("counts_only", False), bool):
        return 400, '"counts_only" must be true or false.'
    return None


def _tokenize_all(text: str, names: list[str], add_special_tokens: bool, allow_hub: bool) -> list[dict]:
    from tokenlens.core.api import _check_text
    from tokenlens.core.resolve import resolve

    text = _check_text(text)
    # Resolve every name first so an unknown one fails the request before any work is done.
    backends = [resolve(n, allow_paths=False, allow_hub=allow_hub) for n in names]
    return [b.encode(text, add_special_tokens=add_special_tokens).to_dict(arrays=True) for b in backends]


def _answer(
    cache: AnswerCache, text: str, names: list[str], special: bool, counts_only: bool, allow_hub: bool
) -> bytes:
    key = AnswerCache.key(text, names, special, counts_only)
    answer = cache.get(key)
    if answer is None:
        work = _count_all if counts_only else _tokenize_all
        answer = _dumps({"results": work(text, names, special, allow_hub)})
        cache.put(key, answer)
    return answer


def _dumps(answer: dict) -> bytes:
    """JSON of an answer whose ids, spans and segments may be numpy arrays."""
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


def _count_all(text: str, names: list[str], add_special_tokens: bool, allow_hub: bool) -> list[dict]:
    """Counts without ids or spans: what the panel paints first while the full answer is made."""
    from tokenlens.core.api import _check_text
    from tokenlens.core.resolve import resolve

    text = _check_text(text)
    backends = [resolve(n, allow_paths=False, allow_hub=allow_hub) for n in names]
    n_chars = len(text)  # code points, as Tokenized.n_chars
    n_bytes = len(text.encode("utf-8", "surrogatepass"))
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


def setup_handlers(server_app) -> None:
    web_app = server_app.web_app
    config = TokenLens(parent=server_app)
    pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="tokenlens")
    base = url_path_join(web_app.settings["base_url"], "tokenlens")
    kwargs = {"config": config, "pool": pool, "cache": AnswerCache(config.cache_bytes)}
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "tokenizers"), TokenizersHandler, kwargs),
            (url_path_join(base, "tokenize"), TokenizeHandler, kwargs),
            (url_path_join(base, "explain"), ExplainHandler, kwargs),
            (url_path_join(base, "ranks"), RanksHandler, kwargs),
            (url_path_join(base, "pipeline"), PipelineHandler, kwargs),
            (url_path_join(base, "predict"), PredictHandler, kwargs),
        ],
    )
