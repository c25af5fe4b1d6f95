"""How a failed request reads over HTTP: a status, and a JSON message a person can act on.

Library errors name files by absolute path and list folders, which helps in a kernel but tells a
browser how this machine is laid out; answers name a file relative to its root (a
``TOKENLENS_PATH`` folder, the registry, the runs folder, the Ollama store, the Hugging Face
cache) or by its name alone, and never list a folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


class RequestError(Exception):
    """A request the service will not answer, with the HTTP status and what to do instead."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra


class Busy(RequestError):
    """Every thread for heavy requests is taken and the queue is full: try again shortly."""

    def __init__(self, what: str, retry_after: int):
        super().__init__(
            503,
            f"The server is busy with other {what} requests; try again in a few seconds.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


#: an absolute POSIX path (not a URL, not a/b inside a word) or a Windows drive path
_ABSOLUTE = re.compile(r"""(?<![\w:/.~-])(?:/[^\s/'"(),;<>]+)+/?|\b[A-Za-z]:\\[^\s'"(),;<>]+""")
#: "(it has: a, b, c)": the listing of a folder that holds no tokenizer (tokenlens.backends.open_path)
_LISTING = re.compile(r" \(it has: [^)]*\)")


def _roots() -> list[str]:
    """The folders answers may name things relative to, longest first (and as links resolve)."""
    from tokenlens.core.resolve import roots

    folders = [p for _label, p in roots()]
    try:
        from tokenlens.finetune.spec import runs_dir

        folders.append(runs_dir())
    except Exception:  # a broken runs setting must not hide the original error
        pass
    try:
        from tokenlens.gguf.ollama import store_dir

        folders.append(store_dir())
    except Exception:
        pass
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        folders.append(Path(HF_HUB_CACHE))
    except Exception:
        pass
    spelled = {str(p) for p in folders} | {str(p.resolve()) for p in folders}
    return sorted((s.rstrip("/\\") for s in spelled if len(s) > 1), key=len, reverse=True)


def _relative(match: re.Match, roots: list[str]) -> str:
    path = match.group(0)
    for root in roots:
        if path == root:
            return Path(root).name
        if path.startswith(root) and path[len(root)] in "/\\":
            return path[len(root) + 1 :]
    return Path(path.replace("\\", "/").rstrip("/")).name


def public_message(message: str, keep: tuple[str, ...] = ()) -> str:
    """``message`` with absolute paths made relative to their root (or cut to a name) and folder
    listings left out; the strings in ``keep`` (what the request itself named) stay as they are."""
    held = {f"\0{i}\0": k for i, k in enumerate(k for k in keep if k)}
    for token, text in held.items():
        message = message.replace(text, token)
    roots = _roots()
    message = _LISTING.sub("", message)
    message = _ABSOLUTE.sub(lambda m: _relative(m, roots), message)
    for token, text in held.items():
        message = message.replace(token, text)
    return message


def failure(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON answer, headers) for an error raised while answering a request."""
    from tokenlens.errors import (
        InputError,
        MissingExtra,
        ModelFileError,
        ModelNotFound,
        TokenizerFileError,
        TokenizerNotFound,
        TokenlensError,
    )

    if isinstance(exc, RequestError):
        return exc.status, {"message": exc.message, **exc.extra}, exc.headers
    if isinstance(exc, TokenizerNotFound):
        message = public_message(str(exc), keep=(repr(exc.name),))
        return 404, {"message": message, "suggestions": exc.suggestions, "tokenizer": exc.name}, {}
    if isinstance(exc, ModelNotFound):
        message = public_message(str(exc), keep=(repr(exc.name),))
        payload = {"message": message, "suggestions": exc.suggestions, "model": exc.name, "available": exc.available}
        return 404, payload, {}
    if isinstance(exc, (TokenizerFileError, ModelFileError)):
        return 422, {"message": public_message(str(exc))}, {}
    if isinstance(exc, MissingExtra):
        # the server lacks an optional part: nothing the request could change
        return 501, {"message": str(exc), "install": "jupyterlab-tokenlens[finetune]"}, {}
    if isinstance(exc, (InputError, TokenlensError)):
        return 400, {"message": public_message(str(exc))}, {}
    detail = public_message(str(exc))[:300]
    return 500, {"message": f"tokenlens failed: {type(exc).__name__}: {detail}"}, {}


__all__ = ["Busy", "RequestError", "failure", "public_message"]
