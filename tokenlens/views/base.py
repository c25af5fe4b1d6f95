"""The base of every tokenlens widget: an anywidget that knows its front-end bundle by name and
puts a static copy of itself into its mimebundle.

The bundle is ``tokenlens/static/<bundle>.js`` (and ``.css``), built from ``src/widgets/<view>/``
(the token view's bundle is named ``widget``).
It is read when the first widget of a class is made, not when the module is imported, so a copy of
tokenlens installed without its front end still imports, and each result object can fall back to
its static HTML (``tokenlens.views.display.ShownAsWidget``).

The static copy (``static_copy``) goes into the same mimebundle as the widget view, so the output
saved in the notebook reads on GitHub, in nbviewer or in a lab without the extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import anywidget

from tokenlens.errors import TokenlensError

STATIC = Path(__file__).resolve().parent.parent / "static"


def bundle_path(name: str = "widget.js") -> Path:
    """The built front-end file; a clear error when the package was installed without it."""
    path = STATIC / name
    if not path.is_file():
        raise TokenlensError(
            f"The tokenlens widget bundle ({path}) is missing: this copy of tokenlens was installed"
            " without its front end. Reinstall the wheel (pip install --force-reinstall"
            " jupyterlab-tokenlens) or, in a source checkout, run `jlpm build:widget`."
        )
    return path


class BundledWidget(anywidget.AnyWidget):
    """An anywidget drawn by the bundle named in its class line, with a static copy for saved
    notebooks::

        class DatasetWidget(BundledWidget, bundle="dataset"): ...

    ``source`` is the domain object the widget shows; by default its ``_repr_html_`` and ``repr``
    are the static copy.
    """

    #: the name of the front-end bundle in ``tokenlens/static`` (without ``.js`` / ``.css``)
    bundle: ClassVar[str] = ""

    def __init_subclass__(cls, bundle: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if bundle:
            cls.bundle = bundle

    def __init__(self, *args: Any, source: Any = None, **kwargs: Any) -> None:
        # before the traits are set: observers that run during __init__ read the source
        self._source = source
        _load_bundle(type(self))
        super().__init__(*args, **kwargs)

    @classmethod
    def of(cls, obj: Any) -> BundledWidget:
        """The widget that shows ``obj`` (what ``ShownAsWidget.widget`` makes)."""
        return cls(obj)

    def static_copy(self) -> dict[str, str]:
        """MIME data shown where the widget cannot be drawn (``text/html``, ``text/plain``)."""
        if self._source is None:
            return {}
        return {"text/html": self._source._repr_html_(), "text/plain": repr(self._source)}

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = super()._repr_mimebundle_(include=include, exclude=exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data.update(self.static_copy())
        return bundle


def _load_bundle(cls: type[BundledWidget]) -> None:
    """Give ``cls`` its bundle's text as ``_esm`` and ``_css``, once per class."""
    if "_esm" in cls.__dict__:
        return
    if not cls.bundle:
        raise TypeError(f"{cls.__name__} names no bundle: class {cls.__name__}(BundledWidget, bundle='...').")
    # read as text: anywidget sends a str as it is (a Path set after class creation would be sent as its name)
    cls._css = bundle_path(f"{cls.bundle}.css").read_text(encoding="utf-8")
    cls._esm = bundle_path(f"{cls.bundle}.js").read_text(encoding="utf-8")


__all__ = ["STATIC", "BundledWidget", "bundle_path"]
