"""Resolve a tokenizer name or path to a loaded :class:`~tokenlens.backends.Backend`.

Order: ``ollama:NAME[:TAG]`` names (the GGUF file in the local Ollama store), folders on
``TOKENLENS_PATH`` (folder name = tokenizer name), the registry of trained tokenizers, a local
file or folder path (a ``.gguf`` file too), tiktoken encoding names, then the Hugging Face hub
and its cache.

The allowed roots (TOKENLENS_PATH folders, the registry; the Ollama store for ``ollama:`` names)
are checked on real paths: a folder or file that is a link leading outside them is refused,
and :func:`available` leaves out whatever :func:`resolve` would refuse.

Loaded tokenizers are kept in a cache, least recently used dropped first when their estimated
memory passes ``LIMITS.tokenizer_cache_bytes``; one name keeps one entry, replaced when its file
changes.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
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
    """The folder ``name`` in the first allowed root where it is usable (see :func:`_lookup_in_roots`)."""
    return _lookup_in_roots(name)[0]


def _lookup_in_roots(name: str) -> tuple[Path | None, str]:
    """The folder ``name`` in the first allowed root where it is usable, else None and why a
    folder of that name was refused ("" when there is none).

    Usable means that the folder and every entry directly in it (the files a tokenizer or a
    model is read from) lie, once links are followed, inside one of the allowed roots: a link
    that leads elsewhere is never followed, whether it is the folder or a file in it.
    """
    if not isinstance(name, str) or not _PLAIN_NAME.match(name):
        return None, ""
    found = roots()
    real_roots = [_real(root) for _label, root in found]
    refused = ""
    for _label, root in found:
        candidate = root / name
        if not candidate.is_dir():
            continue
        outside = _leads_outside(candidate, real_roots)
        if outside is None:
            return candidate, ""
        refused = refused or (
            f"{outside} leads outside the allowed folders (to {_real(outside)}), so it is not read."
            " Copy the file or folder in, or add the folder it is in to TOKENLENS_PATH."
        )
    return None, refused


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of links resolves to nothing
        return path


def inside(path: Path, roots: list[Path]) -> bool:
    """True when ``path``, every link on the way followed, is one of ``roots`` or lies under one
    (also followed): the one containment check for every file tokenlens reads by name."""
    real = _real(Path(path))
    return any(real == r or r in real.parents for r in map(_real, roots))


def _leads_outside(folder: Path, roots: list[Path]) -> Path | None:
    """The folder itself or the first entry directly in it that lies outside every root in
    ``roots`` once links are followed; None when all lie inside."""
    if not inside(folder, roots):
        return folder
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return None  # unreadable: open_path says so with the reason
    # an entry that is no link lies where its folder does
    return next((e for e in entries if e.is_symlink() and not inside(e, roots)), None)


def available(include_hub_cache: bool = True) -> list[Entry]:
    """Every tokenizer that loads by name without a download: folders in the allowed roots that
    hold a tokenizer file and that :func:`resolve` accepts (no link out of the roots), the
    Ollama models whose manifest and model blob are in the store, and (``include_hub_cache``)
    the hub cache. Files are found, not parsed: a damaged one is listed and fails to load with
    its own message."""
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
    """Models in the local Ollama store whose manifest names a model blob that is there, inside
    the store and whole (no blob is opened to list them)."""
    from tokenlens.gguf.ollama import PREFIX, local_models, resolve_gguf, store_dir

    out = []
    store = store_dir()
    try:
        refs = local_models(store)
    except OSError:
        return []
    for ref in refs:
        try:
            resolve_gguf(ref.name, store)
        except (OSError, TokenlensError):
            continue  # resolve() would refuse it, with the reason
        out.append(Entry(PREFIX + ref.name, "gguf", "ollama", str(ref.manifest_path(store))))
    return out


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
    """Loaded tokenizers, one entry per key (a name and how it was found), each with the stamp
    of its file: a changed file replaces the entry. The entries' estimated memory
    (:meth:`Backend.memory_estimate`) stays within ``LIMITS.tokenizer_cache_bytes`` by dropping
    the least recently used; the entry just used always stays, so a tokenizer larger than the
    whole budget is still loaded once rather than on every call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, tuple[tuple, Backend, int]] = OrderedDict()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self.bytes = 0

    def _fresh(self, key: tuple, stamp: tuple) -> Backend | None:
        item = self._items.get(key)
        if item is None or item[0] != stamp:
            return None
        self._items.move_to_end(key)
        return item[1]

    def get(self, key: tuple, factory, stamp: tuple = ()) -> Backend:
        with self._lock:
            hit = self._fresh(key, stamp)
            if hit is not None:
                return hit
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # one load per key even when many threads ask at once
            with self._lock:
                hit = self._fresh(key, stamp)
            if hit is not None:
                return hit
            try:
                backend = factory()
                size = backend.memory_estimate()
            except BaseException:
                with self._lock:
                    self._key_locks.pop(key, None)
                raise
            with self._lock:
                old = self._items.pop(key, None)
                if old is not None:
                    self.bytes -= old[2]
                self._items[key] = (stamp, backend, size)
                self.bytes += size
                self._evict()
                self._key_locks.pop(key, None)  # later callers find the entry itself
            return backend

    def _evict(self) -> None:
        from tokenlens.core.limits import LIMITS

        while self.bytes > LIMITS.tokenizer_cache_bytes and len(self._items) > 1:
            _key, (_stamp, _backend, size) = self._items.popitem(last=False)
            self.bytes -= size

    def entries(self) -> list[tuple]:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0


_cache = _Cache()


def _stamp(path: Path) -> tuple:
    target = path if path.is_file() else (find_tokenizer_file(path) or path)
    try:
        st = target.stat()
        return (str(target.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(target), 0, 0)


def _load_file(name: str, path: Path) -> Backend:
    return _cache.get(("path", name), lambda: open_path(name, path), _stamp(path))


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

    A folder in an allowed root is used only when it, and every file in it, lies inside an
    allowed root once links are followed; otherwise the first root where it does wins, and
    if none does, :class:`TokenizerNotFound` says which link leads out. The same name returns
    the same object while its file is unchanged and the cache keeps it.
    """
    if not isinstance(name, str) or not name.strip():
        raise TokenizerNotFound(str(name), _names(), detail="The name is empty.")
    name = name.strip()
    if name.startswith("ollama:"):
        from tokenlens.gguf.ollama import resolve_gguf

        # only inside the Ollama store, so the server may resolve these names too
        return _load_file(name, resolve_gguf(name))
    folder, refused = _lookup_in_roots(name)
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
    if refused:  # the person meant that folder: say why it is not used rather than ask the hub
        raise TokenizerNotFound(name, _names(), detail=refused)
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

    from tokenlens.core.limits import LIMITS, raise_hint

    size = get_hf_file_metadata(hf_hub_url(repo_id, filename)).size
    if size is None or size > LIMITS.hub_download_bytes:
        shown = "of unknown size" if size is None else f"{size:,} bytes"
        raise TokenizerFileError(
            f"{repo_id}: {filename} is {shown}; downloads are capped at {LIMITS.hub_download_bytes:,} bytes."
            f" {raise_hint('hub_download_bytes')} Or put the tokenizer in a folder on TOKENLENS_PATH."
        )
    return Path(hf_hub_download(repo_id, filename, cache_dir=cache_dir))


def clear_cache() -> None:
    """Forget loaded tokenizers (the next use loads them again)."""
    _cache.clear()


__all__ = ["Entry", "available", "clear_cache", "inside", "registry_dir", "resolve", "roots", "search_path"]
