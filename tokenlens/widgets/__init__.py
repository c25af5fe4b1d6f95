"""anywidget views; their front end is the ESM bundle built from ``src/widget.ts``."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in {"TokensWidget", "bundle_path"}:
        from . import tokens

        return getattr(tokens, name)
    if name == "TrainReportWidget":
        from . import train_report

        return train_report.TrainReportWidget
    raise AttributeError(name)


__all__ = ["TokensWidget", "TrainReportWidget", "bundle_path"]
