"""Name resolution: the loaded-tokenizer cache (one entry per name, replaced when its file changes,
least recently used dropped past the byte budget) and the allowed roots (a link out of them is
refused for folders and files alike, and what is refused is never listed)."""

from __future__ import annotations

import gc
import json
import os
import threading
import weakref
from pathlib import Path

import pytest

from tokenlens.core.limits import LIMITS, configure
from tokenlens.core.resolve import _cache, available, clear_cache, resolve
from tokenlens.errors import TokenizerFileError, TokenizerNotFound

from .conftest import TOKENIZERS


@pytest.fixture(autouse=True)
def _fresh_cache_and_limits():
    saved = {k: getattr(LIMITS, k) for k in vars(LIMITS)}
    clear_cache()
    yield
    clear_cache()
    configure(**saved)


def word_level(folder: Path, words: list[str]) -> Path:
    """A tiny tokenizer.json in ``folder``: one token per word."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    return folder / "tokenizer.json"


def names(**kw) -> set[str]:
    return {e.name for e in available(include_hub_cache=False, **kw)}


# -- the cache -------------------------------------------------------------------------------------


def test_a_changed_file_replaces_its_entry(tmp_path, monkeypatch):
    root = tmp_path / "root"
    file = word_level(root / "tok", ["love", "nlp"])
    monkeypatch.setenv("TOKENLENS_PATH", str(root))
    first = resolve("tok")
    assert resolve("tok") is first
    gone = weakref.ref(first)
    word_level(root / "tok", ["love", "nlp", "odia"])
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a clock that did not tick
    second = resolve("tok")
    assert second is not first and second.vocab_size == 4
    del first
    gc.collect()
    assert gone() is None, "the old version is still held by the cache"
    assert [k for k in _cache.entries() if "tok" in k] == [("path", "tok")]


def test_the_budget_drops_the_least_recently_used():
    gpt2, llama = resolve("gpt2"), resolve("llama-2")
    assert resolve("gpt2") is gpt2  # now llama-2 is the least recently used
    bert = resolve("bert-base-uncased")
    sizes = [b.memory_estimate() for b in (gpt2, llama, bert)]
    assert all(s > 1_000_000 for s in sizes)
    clear_cache()
    configure(tokenizer_cache_bytes=sum(sizes) - 1)
    gpt2, llama = resolve("gpt2"), resolve("llama-2")
    assert resolve("gpt2") is gpt2
    resolve("bert-base-uncased")
    assert _cache.entries() == [("path", "gpt2"), ("path", "bert-base-uncased")]
    assert _cache.bytes == sizes[0] + sizes[2] <= LIMITS.tokenizer_cache_bytes
    assert resolve("gpt2") is gpt2 and resolve("llama-2") is not llama


def test_a_tokenizer_larger_than_the_budget_is_loaded_once():
    configure(tokenizer_cache_bytes=0)
    gpt2 = resolve("gpt2")
    assert resolve("gpt2") is gpt2
    resolve("llama-2")
    assert _cache.entries() == [("path", "llama-2")]


def test_many_threads_asking_at_once_load_once():
    calls = []
    started = threading.Event()

    def factory():
        calls.append(1)
        started.wait(5)
        return resolve("llama-2")

    out = []
    threads = [threading.Thread(target=lambda: out.append(_cache.get(("test", "x"), factory))) for _ in range(8)]
    for t in threads:
        t.start()
    started.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(b) for b in out}) == 1


# -- the allowed roots -------------------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Two TOKENLENS_PATH roots and a registry, and a folder outside all three."""
    a, b, reg, outside = (tmp_path / n for n in ("a", "b", "registry", "outside"))
    for p in (a, b, reg, outside):
        p.mkdir()
    monkeypatch.setenv("TOKENLENS_PATH", os.pathsep.join([str(a), str(b), str(TOKENIZERS)]))
    monkeypatch.setenv("TOKENLENS_REGISTRY", str(reg))
    return a, b, reg, outside


def test_a_file_linked_out_of_the_roots_is_refused_and_not_listed(roots):
    a, _b, _reg, outside = roots
    secret = word_level(outside / "private", ["secret"])
    (a / "tok").mkdir()
    (a / "tok" / "tokenizer.json").symlink_to(secret)
    with pytest.raises(TokenizerNotFound, match=r"tokenizer.json leads outside the allowed folders.*TOKENLENS_PATH"):
        resolve("tok", allow_paths=False, allow_hub=False)
    assert "tok" not in names()


def test_a_file_beside_the_tokenizer_linked_out_is_refused_too(roots):
    a, _b, reg, outside = roots
    word_level(a / "tok", ["love"])
    (outside / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ 'x' }}"}))
    (a / "tok" / "tokenizer_config.json").symlink_to(outside / "tokenizer_config.json")
    word_level(reg / "mine", ["love"])
    (reg / "mine" / "tokenlens_training.json").symlink_to(outside / "tokenizer_config.json")
    for name in ("tok", "mine"):
        with pytest.raises(TokenizerNotFound, match="leads outside"):
            resolve(name, allow_paths=False, allow_hub=False)
    assert not {"tok", "mine"} & names()


def test_a_folder_linked_out_of_the_roots_is_refused_and_not_listed(roots):
    a, _b, reg, outside = roots
    word_level(outside / "real", ["love"])
    (a / "escape").symlink_to(outside / "real")
    (reg / "escape2").symlink_to(outside / "real")
    for name in ("escape", "escape2"):
        with pytest.raises(TokenizerNotFound, match="leads outside"):
            resolve(name, allow_paths=False, allow_hub=False)
    assert not {"escape", "escape2"} & names()


def test_links_that_stay_inside_the_roots_are_followed(roots):
    a, b, reg, _outside = roots
    word_level(b / "shared", ["love", "nlp"])
    (a / "alias").symlink_to(b / "shared")  # a folder into another root
    word_level(reg / "trained", ["love"])
    (a / "file-alias").mkdir()
    (a / "file-alias" / "tokenizer.json").symlink_to(reg / "trained" / "tokenizer.json")  # a file into the registry
    assert resolve("alias", allow_paths=False, allow_hub=False).vocab_size == 3
    assert resolve("file-alias", allow_paths=False, allow_hub=False).vocab_size == 2
    assert {"alias", "shared", "trained", "file-alias"} <= names()


def test_a_refused_folder_gives_way_to_a_usable_one_in_a_later_root(roots):
    a, b, _reg, outside = roots
    word_level(outside / "x", ["far"])
    (a / "tok").symlink_to(outside / "x")
    word_level(b / "tok", ["near", "by"])
    assert resolve("tok", allow_paths=False, allow_hub=False).vocab_size == 3
    listed = {e.name: e for e in available(include_hub_cache=False)}
    assert listed["tok"].path == str(b / "tok")


def test_every_listed_name_resolves(roots):
    """The listing and resolution agree, whatever mix of links the roots hold."""
    a, b, reg, outside = roots
    word_level(outside / "far", ["x"])
    word_level(b / "near", ["y"])
    (a / "l1").symlink_to(outside / "far")
    (a / "l2").symlink_to(b / "near")
    (a / "l3").mkdir()
    (a / "l3" / "tokenizer.json").symlink_to(outside / "far" / "tokenizer.json")
    (a / "loop").symlink_to(a / "loop")
    (a / "empty").mkdir()
    for entry in available(include_hub_cache=False):
        resolve(entry.name, allow_paths=False, allow_hub=False)
    assert names() >= {"near", "l2", "gpt2"} and not names() & {"l1", "l3", "loop", "empty"}


# -- the Ollama store ----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path, monkeypatch):
    from .test_gguf import _add_to_store
    from .test_gguf_fuzz import LLAMA_KV, _write

    gguf = _write(tmp_path / "tiny.gguf", "llama", LLAMA_KV)
    root = tmp_path / "ollama"
    _add_to_store(root, "tiny", gguf)
    _add_to_store(root, "other", gguf)
    monkeypatch.setenv("OLLAMA_MODELS", str(root))
    return root


def test_an_ollama_manifest_linked_out_of_the_store_is_refused_and_not_listed(store, tmp_path):
    from tokenlens.gguf.ollama import local_models, parse_name

    assert {"ollama:tiny:latest", "ollama:other:latest"} <= names()
    manifest = parse_name("other").manifest_path(store)
    moved = tmp_path / "elsewhere.json"
    manifest.rename(moved)
    manifest.symlink_to(moved)
    with pytest.raises(TokenizerFileError, match="manifest .* leads outside the store"):
        resolve("ollama:other")
    assert "other:latest" not in {r.name for r in local_models(store)}
    assert "ollama:other:latest" not in names() and "ollama:tiny:latest" in names()


def test_an_ollama_model_without_its_blob_is_not_listed(store):
    from tokenlens.gguf.ollama import parse_name

    layer = json.loads(parse_name("tiny").manifest_path(store).read_text())["layers"][0]
    manifest = parse_name("other").manifest_path(store)
    data = json.loads(manifest.read_text())
    data["layers"][0] = {**layer, "digest": "sha256:" + "1" * 64}
    manifest.write_text(json.dumps(data))
    with pytest.raises(TokenizerFileError, match="lacks the blob"):
        resolve("ollama:other")
    assert "ollama:other:latest" not in names() and "ollama:tiny:latest" in names()
    assert resolve("ollama:tiny").kind == "gguf"
