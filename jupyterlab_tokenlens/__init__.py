"""Jupyter server extension of tokenlens: REST routes over the library, plus the labextension."""

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built: no version file yet
    import warnings

    warnings.warn(
        "Importing 'jupyterlab_tokenlens' outside a proper installation; run `pip install -e .`.",
        stacklevel=2,
    )
    __version__ = "dev"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-tokenlens"}]


def _jupyter_server_extension_points():
    return [{"module": "jupyterlab_tokenlens"}]


def _load_jupyter_server_extension(server_app):
    """Register the REST routes; imports stay light so the server starts fast."""
    from .routes import setup_handlers

    setup_handlers(server_app)
    server_app.log.info("Registered jupyterlab_tokenlens server extension")
