"""Widgets and their static copies. Every widget is a ``BundledWidget`` (``base.py``) drawn by an
ESM bundle built from ``src/widgets/<view>/``: ``widget`` (the token view), ``dataset``,
``finetune`` (run view), ``pipeline``, ``predict`` and ``train_report``; every result object
shows as its widget through ``ShownAsWidget`` (``display.py``)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in {"BundledWidget", "bundle_path"}:
        from tokenlens.views import base

        return getattr(base, name)
    if name == "TokensWidget":
        from tokenlens.views.tokens import TokensWidget

        return TokensWidget
    if name == "FinetuneWidget":
        from tokenlens.views.finetune import FinetuneWidget

        return FinetuneWidget
    if name == "DatasetWidget":
        from tokenlens.views.dataset import DatasetWidget

        return DatasetWidget
    if name == "TrainReportWidget":
        from tokenlens.views import train_report

        return train_report.TrainReportWidget
    if name in {"PipelineWidget", "PredictWidget"}:
        from tokenlens.views import learning

        return getattr(learning, name)
    raise AttributeError(name)


__all__ = [
    "BundledWidget",
    "DatasetWidget",
    "FinetuneWidget",
    "PipelineWidget",
    "PredictWidget",
    "TokensWidget",
    "TrainReportWidget",
    "bundle_path",
]
