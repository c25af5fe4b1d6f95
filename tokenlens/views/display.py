"""How a result displays in a notebook: as its live widget, or as its static HTML where the widget
cannot be made (no front end built)."""

from __future__ import annotations

from typing import Any


def widget_mimebundle(obj: Any, include=None, exclude=None):
    """``obj``'s ``_repr_mimebundle_``: the bundle of ``obj.widget`` with the object's repr as its
    text; or, where making the widget raises a ``TokenlensError``, the object's static HTML with
    its repr and the reason."""
    from tokenlens.errors import TokenlensError

    try:
        widget = obj.widget
    except TokenlensError as exc:  # no front end built: the static view still informs
        return {"text/plain": f"{obj!r}\n({exc})", "text/html": obj._repr_html_()}
    bundle = widget._repr_mimebundle_(include=include, exclude=exclude)
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    data["text/plain"] = repr(obj)  # what a terminal or a saved notebook's text shows
    return bundle
