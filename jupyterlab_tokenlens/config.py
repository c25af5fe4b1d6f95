"""Settings of the server routes, set like any Jupyter option (``--TokenLens.max_text_chars=…``).

Besides its own limits, ``TokenLens`` has one option per field of the library's
``tokenlens.core.limits.Limits`` (same name, same default, its comment as help), made from the
dataclass so a limit added there is an option here without a change; :func:`apply_library_limits`
hands their values to the library when the server starts.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import MISSING, fields

from traitlets import Bool, Float, Int
from traitlets.config import Configurable

from tokenlens.core.limits import Limits, configure

_TRAIT_OF_TYPE = {bool: Bool, int: Int, float: Float}


def _limit_comments() -> dict[str, str]:
    """Each ``Limits`` field's ``#:`` comment, the line above it: its help text."""
    lines = inspect.getsource(Limits).splitlines()
    out = {}
    for above, line in zip(lines, lines[1:]):
        field_name = re.match(r"\s*(\w+)\s*:", line)
        if field_name and above.strip().startswith("#:"):
            out[field_name.group(1)] = above.strip()[2:].strip()
    return out


def _library_limit_traits() -> dict:
    comments = _limit_comments()
    traits = {}
    for f in fields(Limits):
        default = f.default if f.default is not MISSING else f.default_factory()
        trait = _TRAIT_OF_TYPE.get(type(default), Int)
        help_text = comments.get(f.name, f.name) + " (the library's limit; see tokenlens.core.limits)"
        traits[f.name] = trait(default, help=help_text).tag(config=True)
    return traits


class _ServerLimits(Configurable):
    """Limits and switches of the tokenlens REST routes themselves."""

    max_text_chars = Int(1_000_000, help="Longest text (in characters) one tokenize request may carry.").tag(
        config=True
    )
    max_body_bytes = Int(
        8 * 1024 * 1024,
        help="Largest request body (in bytes) the tokenize route reads; checked before the body is read.",
    ).tag(config=True)
    max_tokenizers = Int(8, help="Most tokenizers one request may name.").tag(config=True)
    max_name_chars = Int(256, help="Longest tokenizer or model name (in characters) a request may give.").tag(
        config=True
    )
    allow_hub_downloads = Bool(
        False,
        help="Let a POST request name a Hugging Face hub id (or tiktoken encoding) that is not yet on this"
        " machine, so the server downloads its tokenizer files (no code runs; each file at most"
        " hub_download_bytes). GET routes never download.",
    ).tag(config=True)
    cache_bytes = Int(
        64 * 1024 * 1024, help="Memory for recent answers, so identical requests are not recomputed."
    ).tag(config=True)
    workers = Int(
        4, help="Threads that read requests and answer the light routes (tokenize, ranks, explain, the list)."
    ).tag(config=True)
    heavy_workers = Int(
        1, help="Threads that answer the heavy routes (predict, pipeline), apart from the light ones."
    ).tag(config=True)
    heavy_queue = Int(
        2, help="Heavy requests that may wait for a thread; beyond them a heavy request is answered 503, busy."
    ).tag(config=True)
    retry_after_seconds = Int(2, help="The Retry-After a busy (503) answer suggests.").tag(config=True)
    max_explain_ids = Int(256, help="Most token ids one explain request may ask about.").tag(config=True)
    max_pipeline_chars = Int(20_000, help="Longest text (in characters) one pipeline request may carry.").tag(
        config=True
    )
    max_predict_chars = Int(
        4_000, help="Longest text (in characters) one next-token prediction request may carry."
    ).tag(config=True)
    max_top_k = Int(20, help="Most next-token candidates per position a prediction request may ask for.").tag(
        config=True
    )
    max_generate = Int(64, help="Most tokens a prediction request may ask the model to continue by.").tag(config=True)


# The library's limits first: a server limit of the same name (none today) keeps its own meaning.
TokenLens = type(Configurable)(
    "TokenLens",
    (_ServerLimits,),
    {
        "__module__": __name__,
        "__doc__": "Limits and switches of the tokenlens REST routes, and the library's limits.",
        **{k: v for k, v in _library_limit_traits().items() if not _ServerLimits.class_traits().get(k)},
    },
)


def library_limit_names() -> list[str]:
    return [f.name for f in fields(Limits) if f.name not in _ServerLimits.class_traits()]


def apply_library_limits(settings) -> None:
    """Set the library's limits (``tokenlens.core.limits.LIMITS``) from the options of their names."""
    configure(**{name: getattr(settings, name) for name in library_limit_names()})
