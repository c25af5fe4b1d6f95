"""Models in the local Ollama store, by name: ``ollama:llama3.2``, ``ollama:qwen2.5:0.5b``.

Ollama keeps a manifest per model and tag under ``manifests/<host>/<namespace>/<model>/<tag>``
(JSON listing layers by digest) and the layers themselves as ``blobs/sha256-<hex>``. The layer of
type ``application/vnd.ollama.image.model`` is a GGUF file, which is all tokenlens needs: its
tokenizer, its chat template, its weights. The store is ``$OLLAMA_MODELS`` or ``~/.ollama/models``.

Nothing outside the store is ever opened: names, digests and the resolved blob are checked.

When an Ollama server runs, :func:`server_models`, :func:`server_details` and
:func:`check_token_count` ask it through the ``ollama`` client (``pip install ollama``); without
server or client they say so plainly.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError, TokenizerFileError, TokenizerNotFound, TokenlensError

PREFIX = "ollama:"
DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
MODEL_LAYER = "application/vnd.ollama.image.model"

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256[:-]([0-9a-f]{64})$")


def store_dir() -> Path:
    """The Ollama model store: ``$OLLAMA_MODELS``, else ``~/.ollama/models``."""
    env = os.environ.get("OLLAMA_MODELS")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".ollama" / "models"


@dataclass(frozen=True)
class ModelRef:
    """One model and tag of the store, as Ollama names it."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def name(self) -> str:
        """The short name Ollama shows: ``llama3.2:latest``, ``me/tiny:v1``."""
        parts = [self.model]
        if self.namespace != DEFAULT_NAMESPACE or self.host != DEFAULT_HOST:
            parts.insert(0, self.namespace)
        if self.host != DEFAULT_HOST:
            parts.insert(0, self.host)
        return "/".join(parts) + ":" + self.tag

    def manifest_path(self, store: Path) -> Path:
        return store / "manifests" / self.host / self.namespace / self.model / self.tag


def is_ollama_name(name: str) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def parse_name(name: str) -> ModelRef:
    """``[ollama:][host/][namespace/]model[:tag]`` → its parts; anything that could step outside
    the store (``..``, absolute paths, odd characters) is refused."""
    raw = name[len(PREFIX) :] if name.startswith(PREFIX) else name
    path, _, tag = raw.rpartition(":") if ":" in raw.rsplit("/", 1)[-1] else (raw, "", DEFAULT_TAG)
    parts = path.split("/")
    if not 1 <= len(parts) <= 3:
        parts = []
    if len(parts) == 3:
        host, namespace, model = parts
    elif len(parts) == 2:
        host, (namespace, model) = DEFAULT_HOST, parts
    elif len(parts) == 1:
        host, namespace, model = DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0]
    else:
        host = namespace = model = ""
    if not all(_PART.match(p) and ".." not in p for p in (host, namespace, model, tag)):
        raise InputError(
            f"{name!r} is not an Ollama model name. Write ollama:NAME or ollama:NAME:TAG, e.g."
            " ollama:llama3.2 or ollama:qwen2.5:0.5b (letters, digits, '.', '_', '-')."
        )
    return ModelRef(host, namespace, model, tag)


def _inside(path: Path, root: Path) -> bool:
    from tokenlens.core.resolve import inside

    return inside(path, [root])


def local_models(store: Path | None = None) -> list[ModelRef]:
    """Every model:tag with a manifest in the store (nothing is opened besides the folders); a
    manifest that is a link leading out of the store is left out, as reading it is refused."""
    store = store or store_dir()
    root = store / "manifests"
    if not root.is_dir():
        return []
    found = []
    for manifest in sorted(root.glob("*/*/*/*")):
        host, namespace, model, tag = manifest.relative_to(root).parts
        if (
            all(_PART.match(p) for p in (host, namespace, model, tag))
            and manifest.is_file()
            and _inside(manifest, root)
        ):
            found.append(ModelRef(host, namespace, model, tag))
    return found


def read_manifest(ref: ModelRef, store: Path | None = None) -> dict:
    store = store or store_dir()
    path = ref.manifest_path(store)
    if path.is_file() and not _inside(path, store / "manifests"):
        raise TokenizerFileError(
            f"The Ollama manifest {path} leads outside the store ({path.resolve()}); tokenlens only"
            f" reads manifests inside {store / 'manifests'}. Pull the model again with `ollama pull`."
        )
    if not path.is_file():
        known = ", ".join(r.name for r in local_models(store)[:20]) or "none"
        raise TokenizerNotFound(
            PREFIX + ref.name,
            [PREFIX + r.name for r in local_models(store)],
            detail=f"The Ollama store at {store} has no model {ref.name} (models there: {known}); pull it"
            " with `ollama pull` or set OLLAMA_MODELS to the store that holds it.",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TokenizerFileError(f"The Ollama manifest {path} is not readable JSON ({exc}).") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
        raise TokenizerFileError(f"The Ollama manifest {path} lists no layers; pull the model again.")
    return manifest


def blob_path(digest: str, store: Path | None = None, *, size: int | None = None) -> Path:
    """The file of a layer digest, checked to be a whole file inside the store's blobs folder."""
    store = store or store_dir()
    m = _DIGEST.match(digest or "")
    if not m:
        raise TokenizerFileError(
            f"The Ollama manifest names a layer {digest!r}, which is not a sha256 digest; the manifest"
            " is damaged or not Ollama's. Pull the model again."
        )
    blobs = store / "blobs"
    path = blobs / f"sha256-{m.group(1)}"
    if not path.exists():
        raise TokenizerFileError(
            f"The Ollama store lacks the blob {path.name} that the manifest names: the model was only"
            " partly pulled or its blob was deleted. Run `ollama pull` for it again."
        )
    if not _inside(path, blobs):
        raise TokenizerFileError(
            f"The Ollama blob {path.name} leads outside the store ({path.resolve()}); tokenlens only"
            f" opens files inside {blobs}."
        )
    if size is not None and path.stat().st_size != size:
        raise TokenizerFileError(
            f"The Ollama blob {path.name} has {path.stat().st_size:,} bytes but its manifest says"
            f" {size:,}: the pull was interrupted. Run `ollama pull` for the model again."
        )
    return path


def model_layer(manifest: dict, media_type: str = MODEL_LAYER) -> dict | None:
    for layer in manifest.get("layers", []):
        if isinstance(layer, dict) and layer.get("mediaType") == media_type:
            return layer
    return None


def resolve_gguf(name: str, store: Path | None = None) -> Path:
    """The GGUF file behind ``ollama:NAME[:TAG]`` in the local store."""
    store = store or store_dir()
    ref = parse_name(name)
    manifest = read_manifest(ref, store)
    layer = model_layer(manifest)
    if layer is None:
        kinds = sorted({str(x.get("mediaType")) for x in manifest["layers"] if isinstance(x, dict)})
        raise TokenizerFileError(
            f"Ollama model {ref.name} has no model layer ({MODEL_LAYER}); its layers are {', '.join(kinds) or 'none'}."
        )
    size = layer.get("size")
    return blob_path(str(layer.get("digest", "")), store, size=size if isinstance(size, int) else None)


def layer_text(name: str, media_type: str, store: Path | None = None) -> str | None:
    """A small text layer of a model (``application/vnd.ollama.image.template``, ``.system``,
    ``.params``, ``.license``), or None."""
    store = store or store_dir()
    layer = model_layer(read_manifest(parse_name(name), store), media_type)
    if layer is None:
        return None
    path = blob_path(str(layer.get("digest", "")), store)
    if path.stat().st_size > 1 << 20:
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def models(host: str | None = None, use_server: bool = True) -> list[dict]:
    """Local Ollama models with their details: from the running server's API when it answers
    (``source: "server"``), else from the store's manifests (``source: "store"``)."""
    if use_server:
        try:
            return [dict(m, source="server") for m in server_models(host)]
        except TokenlensError:
            pass  # no client or no server: the store says what is here
    store = store_dir()
    out = []
    for ref in local_models(store):
        entry: dict[str, Any] = {"name": ref.name, "model": PREFIX + ref.name, "source": "store"}
        try:
            blob = resolve_gguf(ref.name, store)
            entry.update(size=blob.stat().st_size, digest="sha256:" + blob.name.split("-", 1)[1])
        except TokenlensError as exc:
            entry["error"] = str(exc)
        out.append(entry)
    return out


# -- the Ollama server, when one runs -----------------------------------------------------------


def _client(host: str | None = None):
    try:
        import ollama
    except ImportError:
        raise TokenlensError(
            "Asking the Ollama server needs its Python client: pip install ollama (and a running"
            " `ollama serve`). Local models are listed from the store without it."
        ) from None
    return ollama.Client(host=host, timeout=5) if host else ollama.Client(timeout=5)


def _ask(call, what: str, host: str | None):
    try:
        return call()
    except TokenlensError:
        raise
    except Exception as exc:
        where = host or os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"
        raise TokenlensError(
            f"The Ollama server at {where} did not answer {what} ({type(exc).__name__}: {str(exc)[:160]})."
            " Start it with `ollama serve`, or set OLLAMA_HOST."
        ) from None


def _plain(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    return dump() if callable(dump) else obj


def server_models(host: str | None = None) -> list[dict]:
    """The models the running Ollama server lists (name, size, digest, details)."""
    client = _client(host)
    answer = _plain(_ask(client.list, "the model list", host))
    return [_plain(m) for m in answer.get("models", [])]


def server_details(name: str, host: str | None = None) -> dict:
    """What the running server says about a model: template, parameters, details, model info."""
    client = _client(host)
    return _plain(_ask(lambda: client.show(parse_name(name).name), f"details of {name}", host))


@dataclass(frozen=True)
class TokenCountCheck:
    """A prompt's token count by tokenlens and by the Ollama server (``prompt_eval_count``)."""

    model: str
    tokenlens: int
    server: int

    @property
    def match(self) -> bool:
        return self.tokenlens == self.server

    def __repr__(self) -> str:
        verdict = "match" if self.match else "DIFFER"
        return f"<TokenCountCheck {self.model}: tokenlens {self.tokenlens}, Ollama {self.server} ({verdict})>"


def count_tokens(text: str, name: str) -> int:
    """Tokens the model sees for ``text`` sent raw (beginning-of-text token included when the
    tokenizer adds one), by tokenlens."""
    from tokenlens.core.resolve import resolve

    return len(resolve(name if is_ollama_name(name) else PREFIX + name).encode(text).ids)


def server_count(text: str, name: str, host: str | None = None) -> int:
    """``prompt_eval_count`` of a raw prompt (no template) on the running server."""
    client = _client(host)
    model = parse_name(name).name
    # A fresh load each time: the server counts only tokens it did not have cached.
    answer = _plain(
        _ask(
            lambda: client.generate(
                model=model, prompt=text, raw=True, keep_alive=0, options={"num_predict": 1, "temperature": 0}
            ),
            f"a prompt for {model}",
            host,
        )
    )
    count = answer.get("prompt_eval_count")
    if not isinstance(count, int):
        raise TokenlensError(f"The Ollama server gave no prompt_eval_count for {model}.")
    return count


def check_token_count(text: str, name: str, host: str | None = None) -> TokenCountCheck:
    """Compare tokenlens's token count for ``text`` with the running server's own."""
    return TokenCountCheck(parse_name(name).name, count_tokens(text, name), server_count(text, name, host))


__all__ = [
    "ModelRef",
    "TokenCountCheck",
    "check_token_count",
    "count_tokens",
    "is_ollama_name",
    "layer_text",
    "local_models",
    "models",
    "parse_name",
    "resolve_gguf",
    "server_details",
    "server_models",
    "store_dir",
]
