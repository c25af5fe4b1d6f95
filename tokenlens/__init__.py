"""tokenlens: see, compare and train tokenizers from a notebook.

The public API is listed once, in ``__init__.pyi``, and imported lazily from it so that
``%load_ext tokenlens`` and the server extension stay fast: nothing heavy loads until it is used.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, _public = lazy_loader.attach_stub(__name__, __file__)
__all__ = [*_public, "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    """``%load_ext tokenlens``: register the magics."""
    from tokenlens.magics import MAGICS

    for magics in MAGICS:
        ipython.register_magics(magics)


def unload_ipython_extension(ipython) -> None:
    """Nothing to undo: magics stay until the kernel restarts, as with other extensions."""
