"""tokenlens: see, compare and train tokenizers from a notebook.

The public API is imported lazily so that ``%load_ext tokenlens`` and the server extension stay
fast: nothing heavy loads until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Comparison",
    "DatasetView",
    "Stats",
    "StatsTable",
    "Tokenized",
    "TokenlensError",
    "TokenizerNotFound",
    "available",
    "chat",
    "compare",
    "dataset_view",
    "decode",
    "export_gguf",
    "decode_view",
    "embedding_drift",
    "generate",
    "next_tokens",
    "ngrams",
    "pipeline",
    "load",
    "load_ipython_extension",
    "stats",
    "tokenize",
    "train_tokenizer",
]

_LAZY = {
    "Comparison": ".api",
    "chat": ".api",
    "compare": ".api",
    "decode_view": ".api",
    "decode": ".api",
    "load": ".api",
    "tokenize": ".api",
    "Tokenized": ".tokenized",
    "TokenlensError": ".errors",
    "TokenizerNotFound": ".errors",
    "available": ".hub",
    "generate": ".predict",
    "pipeline": ".pipeline_view",
    "ngrams": ".pipeline_view",
    "next_tokens": ".predict",
    "embedding_drift": ".predict",
    "DatasetView": ".dataset",
    "Stats": ".metrics",
    "StatsTable": ".metrics",
    "dataset_view": ".dataset",
    "export_gguf": ".gguf_export",
    "stats": ".metrics",
    "train_tokenizer": ".training",
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import Comparison, chat, compare, decode, decode_view, load, tokenize
    from .errors import TokenizerNotFound, TokenlensError
    from .hub import available
    from .dataset import DatasetView, dataset_view
    from .gguf_export import export_gguf
    from .metrics import Stats, StatsTable, stats
    from .tokenized import Tokenized
    from .training import train_tokenizer


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenlens' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython) -> None:
    """``%load_ext tokenlens``: register the magics."""
    from .magics import MAGICS

    for magics in MAGICS:
        ipython.register_magics(magics)


def unload_ipython_extension(ipython) -> None:  # noqa: ARG001 - IPython's hook signature
    """Nothing to undo: magics stay until the kernel restarts, as with other extensions."""
