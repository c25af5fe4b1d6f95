"""The dataset view widget: histogram, truncation and cost, and the longest rows, which open
in the token view (the same renderer as ``TokensWidget``) when clicked."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import traitlets

from tokenlens.errors import TokenlensError
from tokenlens.views.base import BundledWidget

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.measure.dataset import DatasetView


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


class DatasetWidget(BundledWidget, bundle="dataset"):
    """Live view of a :class:`~tokenlens.measure.dataset.DatasetView`; the front end may change
    ``context_length`` and ``price`` and pick a row (``selected``)."""

    title = traitlets.Unicode("").tag(sync=True)
    summary = traitlets.Dict().tag(sync=True)
    #: (name, value) pairs, formatted once in Python for both this view and the static copy
    summary_rows = traitlets.List().tag(sync=True)
    histogram_svg = traitlets.Unicode("").tag(sync=True)
    longest = traitlets.List(traitlets.Dict()).tag(sync=True)
    context_length = traitlets.Int(None, allow_none=True).tag(sync=True)
    price = traitlets.Float(None, allow_none=True).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    #: the selected row in the shape of ``TokensWidget.results``
    row_results = traitlets.List(traitlets.Dict()).tag(sync=True)
    row_text = traitlets.Unicode("").tag(sync=True)
    row_note = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, view: DatasetView, **kwargs):
        from tokenlens.views.charts import special_note

        super().__init__(
            source=view,
            title=f"{view.tokenizer} · {view.label}{special_note(view)}",
            context_length=view.context_length,
            price=view.price_per_million,
            longest=view.longest(),
            **kwargs,
        )
        self._refresh()

    @property
    def view(self) -> DatasetView:
        return self._source

    def _refresh(self) -> None:
        from tokenlens.views.charts import dataset_summary_rows, histogram_svg

        counts, edges = self._source.histogram()
        self.summary = _json_safe(self._source.summary())
        self.summary_rows = [list(r) for r in dataset_summary_rows(self._source)]
        self.histogram_svg = histogram_svg(counts.tolist(), edges.tolist(), self._source.context_length)
        self.longest = self._source.longest()

    @traitlets.observe("context_length")
    def _on_context(self, change) -> None:
        value = change["new"]
        if value is not None and value < 1:
            self.error = f"The context length must be at least 1 token, not {value}."
            return
        self.error = ""
        self._source.context_length = value
        self._refresh()

    @traitlets.observe("price")
    def _on_price(self, change) -> None:
        value = change["new"]
        if value is not None and (value < 0 or not math.isfinite(value)):
            self.error = f"The price per million tokens must be a number ≥ 0, not {value}."
            return
        self.error = ""
        self._source.price_per_million = value
        self._refresh()

    @traitlets.observe("selected")
    def _on_selected(self, change) -> None:
        row = change["new"]
        if row < 0:
            self.row_results, self.row_text, self.row_note = [], "", ""
            return
        try:
            comparison = self._source.open(row)
            self.row_note = self._source.open_note(row)
        except TokenlensError as exc:
            self.error = str(exc)
            return
        self.error = ""
        self.row_text = comparison.text
        self.row_results = [r.to_dict() for r in comparison.results]


__all__ = ["DatasetWidget"]
