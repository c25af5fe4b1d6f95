"""Resolve a tokenizer name or path to a loaded :class:`~tokenlens.backends.Backend`.

Order: ``ollama:NAME[:TAG]`` names (the GGUF file in the local Ollama store), folders on
``TOKENLENS_PATH`` (folder name = tokenizer name), the registry of trained tokenizers, a local
file or folder path (a ``.gguf`` file too), tiktoken encoding names, then the Hugging Face hub
and its cache. Loaded tokenizers are cached and reloaded when their file changes.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from tokenlens.backends import Backend, find_tokenizer_file, open_path
from tokenlens.errors import TokenizerFileError, TokenizerNotFound, TokenlensError

#: a tokenizer name that may be looked up as a folder under an allowed root
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")

#: files fetched from a hub repository, first match wins
_HUB_CANDIDATES = (("tokenizer.json",), ("tokenizer.model",), ("vocab.json", "merges.txt"), ("vocab.txt",))


@dataclass(frozen=True)
class Entry:
    """A tokenizer that can be loaded by name."""

    name: str
    kind: str
    source: str
    path: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "source": self.source}


def search_path() -> list[Path]:
    """Folders named by ``TOKENLENS_PATH``, in order, that exist."""
    raw = os.environ.get("TOKENLENS_PATH", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p and Path(p).expanduser().is_dir()]


def registry_dir() -> Path:
    """Where trained tokenizers are saved, shared by every kernel and the server."""
    env = os.environ.get("TOKENLENS_REGISTRY")
    if env:
        return Path(env).expanduser()
    try:
        from jupyter_core.paths import jupyter_data_dir

        base = Path(jupyter_data_dir())
    except ImportError:
        base = Path.home() / ".local" / "share" / "jupyter"
    return base / "tokenlens" / "tokenizers"


def roots() -> list[tuple[str, Path]]:
    """The allowed roots with a label: TOKENLENS_PATH folders, then the registry."""
    out = [("TOKENLENS_PATH", p) for p in search_path()]
    reg = registry_dir()
    if reg.is_dir():
        out.append(("registry", reg))
    return out


def _kind_of(file: Path) -> str:
    name = file.name.lower()
    if name.endswith(".tiktoken"):
        return "tiktoken"
    if name.endswith(".model"):
        return "sentencepiece"
    if name.endswith(".gguf"):
        return "gguf"
    return "hf"


def _find_in_roots(name: str) -> Path | None:
    if not _PLAIN_NAME.match(name):
        return None
    for _label, root in roots():
        candidate = root / name
        if not candidate.is_dir():
            continue
        real_root, real = root.resolve(), candidate.resolve()
        if real_root != real.parent and real_root not in real.parents:
            # a link that leads out of the allowed root is not followed
            continue
        return candidate
    return None


def available(include_hub_cache: bool = True) -> list[Entry]:
    """Every tokenizer that loads by name without a download."""
    seen: dict[str, Entry] = {}
    for label, root in roots():
        if label == "registry":
            from tokenlens.vocab.registry import clean_stale

            clean_stale(root)  # a tokenizer a crashed save had moved aside comes back before it is listed
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            if folder.name in seen or not _PLAIN_NAME.match(folder.name):
                continue
            if _find_in_roots(folder.name) != folder:
                continue  # a link out of its root: resolve() refuses it, so it is not offered
            found = find_tokenizer_file(folder)
            if found is not None:
                seen[folder.name] = Entry(folder.name, _kind_of(found), label, str(folder))
    for entry in _ollama_entries():
        seen.setdefault(entry.name, entry)
    if include_hub_cache:
        for entry in _hub_cache_entries():
            seen.setdefault(entry.name, entry)
    return sorted(seen.values(), key=lambda e: (e.source != "TOKENLENS_PATH", e.name))


def _ollama_entries() -> list[Entry]:
    """Models in the local Ollama store, by manifest (no blob is opened to list them)."""
    from tokenlens.gguf.ollama import PREFIX, local_models, store_dir

    try:
        store = store_dir()
        return [
            Entry(PREFIX + ref.name, "gguf", "ollama", str(ref.manifest_path(store))) for ref in local_models(store)
        ]
    except OSError:
        return []


def _hub_cache_entries() -> list[Entry]:
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:
        return []
    out = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        files = {f.file_name for rev in repo.revisions for f in rev.files}
        if any(all(f in files for f in group) for group in _HUB_CANDIDATES):
            out.append(Entry(repo.repo_id, "hf", "hub-cache"))
    return out


class _Cache:
    """Loaded tokenizers keyed by (name, file, mtime): a changed file is loaded afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple, Backend] = {}
        self._key_locks: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, factory) -> Backend:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                return hit
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # one load per key even when many threads ask at once
            with self._lock:
                hit = self._items.get(key)
            if hit is None:
                hit = factory()
                with self._lock:
                    self._items[key] = hit
            return hit

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _Cache()


def _stamp(path: Path) -> tuple:
    target = path if path.is_file() else (find_tokenizer_file(path) or path)
    try:
        st = target.stat()
        return (str(target.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(target), 0, 0)


def _load_file(name: str, path: Path) -> Backend:
    return _cache.get(("path", name) + _stamp(path), lambda: open_path(name, path))


def fingerprint(name: str) -> tuple:
    """Changes when the file behind a tokenizer name in the allowed roots changes."""
    if isinstance(name, str) and name.startswith("ollama:"):
        from tokenlens.gguf.ollama import parse_name, store_dir

        try:  # a pull of a new version rewrites the manifest
            return _stamp(parse_name(name).manifest_path(store_dir()))
        except (OSError, TokenlensError):
            return (name,)
    folder = _find_in_roots(name) if isinstance(name, str) else None
    return _stamp(folder) if folder is not None else (name,)


def resolve(name: str, *, allow_paths: bool = True, allow_hub: bool = True, allow_download: bool = True) -> Backend:
    """Load the tokenizer called ``name``.

    ``allow_paths=False`` (the server's setting) limits lookups to the allowed roots, the
    tiktoken names and the hub, so a request can never name a file elsewhere on disk.
    ``allow_download=False`` fetches nothing: hub ids resolve from the local cache only, and a
    tiktoken encoding only from a folder of its name in the roots.
    """
    if not isinstance(name, str) or not name.strip():
        raise TokenizerNotFound(str(name), _names(), detail="The name is empty.")
    name = name.strip()
    if name.startswith("ollama:"):
        from tokenlens.gguf.ollama import resolve_gguf

        # only inside the Ollama store, so the server may resolve these names too
        return _load_file(name, resolve_gguf(name))
    folder = _find_in_roots(name)
    if folder is not None:
        return _load_file(name, folder)
    if allow_paths:
        local = Path(name).expanduser()
        if local.exists():
            return _load_file(name, local)
    from tokenlens.backends.tiktoken_backend import KNOWN_ENCODINGS

    if name in KNOWN_ENCODINGS:
        if not allow_download:
            raise TokenizerNotFound(
                name,
                _names(),
                detail=f"Downloads are off here, and fetching the {name} rank file is one; put"
                f" {name}.tiktoken in a folder named {name} on TOKENLENS_PATH.",
            )
        return _cache.get(("tiktoken", name), lambda: _tiktoken_by_name(name))
    if allow_hub:
        return _cache.get(("hub", name), lambda: _from_hub(name, allow_download))
    raise TokenizerNotFound(name, _names())


def _names() -> list[str]:
    try:
        return [e.name for e in available()]
    except OSError:
        return []


def _tiktoken_by_name(name: str) -> Backend:
    from tokenlens.backends.tiktoken_backend import TiktokenBackend

    try:
        return TiktokenBackend.from_encoding_name(name)
    except Exception as exc:
        raise TokenizerNotFound(
            name,
            _names(),
            detail=f"tiktoken could not fetch the {name} rank file ({type(exc).__name__}); put"
            f" {name}.tiktoken in a folder named {name} on TOKENLENS_PATH to use it offline.",
        ) from exc


def _from_hub(repo_id: str, allow_download: bool = True) -> Backend:
    try:
        from huggingface_hub import try_to_load_from_cache
        from huggingface_hub.utils import HFValidationError, validate_repo_id
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        raise TokenizerNotFound(repo_id, _names()) from None
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise TokenizerNotFound(repo_id, _names()) from None

    cache_dir = os.environ.get("HF_HUB_CACHE") or None

    def cached(filename: str) -> Path | None:
        hit = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        return Path(hit) if isinstance(hit, str) else None

    # Prefer what the cache already holds: no network round trip, works offline.
    for group in _HUB_CANDIDATES:
        paths = [cached(f) for f in group]
        if all(paths):
            return open_path(repo_id, paths[0])
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
    if offline or not allow_download:
        why = "HF_HUB_OFFLINE is set" if offline else "downloads are off here"
        raise TokenizerNotFound(repo_id, _names(), detail=f"It is not in the local Hugging Face cache and {why}.")
    last_error: Exception | None = None
    for group in _HUB_CANDIDATES:
        try:
            paths = [_hub_download(repo_id, f, cache_dir) for f in group]
        except TokenizerFileError:
            raise  # larger than the download limit: a reason, not a missing file
        except Exception as exc:
            last_error = exc
            if type(exc).__name__ in {"RepositoryNotFoundError", "GatedRepoError", "LocalEntryNotFoundError"}:
                break
            continue
        for optional in ("tokenizer_config.json", "chat_template.jinja"):
            try:  # lower-casing for WordPiece, the chat template: useful, not required
                _hub_download(repo_id, optional, cache_dir)
            except Exception:
                pass
        return open_path(repo_id, paths[0])
    detail = f"The Hugging Face hub gave no tokenizer file for it ({type(last_error).__name__})."
    raise TokenizerNotFound(repo_id, _names(), detail=detail)


def _hub_download(repo_id: str, filename: str, cache_dir: str | None) -> Path:
    """One file of a hub repository, refused before it is fetched when it is larger than
    ``LIMITS.hub_download_bytes`` (a name alone must not fill the disk)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    from tokenlens.core.limits import LIMITS

    size = get_hf_file_metadata(hf_hub_url(repo_id, filename)).size
    if size is None or size > LIMITS.hub_download_bytes:
        shown = "of unknown size" if size is None else f"{size:,} bytes"
        raise TokenizerFileError(
            f"{repo_id}: {filename} is {shown}; downloads are capped at {LIMITS.hub_download_bytes:,} bytes."
            " Raise hub_download_bytes (tokenlens.core.limits.configure in a kernel, TokenLens.hub_download_bytes"
            " on the Jupyter server), or put the tokenizer in a folder on TOKENLENS_PATH."
        )
    return Path(hf_hub_download(repo_id, filename, cache_dir=cache_dir))


def clear_cache() -> None:
    """Forget loaded tokenizers (the next use loads them again)."""
    _cache.clear()


__all__ = ["Entry", "available", "clear_cache", "registry_dir", "resolve", "roots", "search_path"]
