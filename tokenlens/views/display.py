"""How a result object displays in a notebook: as its live widget, or, where no widget can be
made (a copy of tokenlens without its front end), as its own static HTML with the reason.

This module imports no widget library, so importing a result class stays light; the widget class
is imported on first display.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

from tokenlens.errors import TokenlensError


class ShownAsWidget:
    """Mixin for result objects (``Comparison``, ``DatasetView``, ``TrainingResult``, …).

    A class names its widget as ``"module:Class"`` in ``_widget_class`` and keeps its own
    ``_repr_html_``; it gets ``widget`` (made by ``Class.of(self)`` once, and again only after it
    was closed) and ``_repr_mimebundle_``.
    """

    _widget_class: ClassVar[str]

    @property
    def widget(self) -> Any:
        """The live view of this object (made once, then reused)."""
        widget = getattr(self, "_widget", None)
        if widget is None or widget.comm is None:  # a closed widget cannot be shown again
            module, _, name = self._widget_class.partition(":")
            widget = getattr(importlib.import_module(module), name).of(self)
            object.__setattr__(self, "_widget", widget)
        return widget

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            widget = self.widget
        except TokenlensError as exc:  # no front end built: the static view still informs
            return {"text/plain": f"{self!r}\n({exc})", "text/html": self._repr_html_()}  # type: ignore[attr-defined]
        bundle = widget._repr_mimebundle_(include=include, exclude=exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = repr(self)  # what a terminal or a saved notebook's text shows
        return bundle


__all__ = ["ShownAsWidget"]
