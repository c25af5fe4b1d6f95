"""anywidget views; their front ends are ESM bundles built from ``src/widget.ts`` (token view)
``src/dataset_widget.ts`` (dataset view), ``src/finetune_widget.ts`` (run view),
``src/pipeline_widget.ts`` (pipeline stages) and ``src/predict_widget.ts`` (next-token predictions)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in {"TokensWidget", "bundle_path"}:
        from tokenlens.views import tokens

        return getattr(tokens, name)
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
    "DatasetWidget",
    "FinetuneWidget",
    "PipelineWidget",
    "PredictWidget",
    "TokensWidget",
    "TrainReportWidget",
    "bundle_path",
]
