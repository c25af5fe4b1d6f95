"""anywidget views; their front ends are ESM bundles built from ``src/widget.ts`` (token view)
and ``src/dataset_widget.ts`` (dataset view)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in {"TokensWidget", "bundle_path"}:
        from . import tokens

        return getattr(tokens, name)
    if name == "DatasetWidget":
        from .dataset import DatasetWidget

        return DatasetWidget
    raise AttributeError(name)


__all__ = ["DatasetWidget", "TokensWidget", "bundle_path"]
