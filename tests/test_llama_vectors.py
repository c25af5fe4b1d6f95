"""llama.cpp's own tokenizer test vectors: every vocabulary it ships a test for gives its ids exactly.

The vectors (``ggml-vocab-<name>.gguf`` with ``.inp`` texts and ``.out`` ids, from the pinned
llama-cpp-python sdist) are fetched once into a cache outside the checkout by
tests/fetch_llama_vectors.py, which ``make test`` runs first. Like llama.cpp's
tests/test-tokenizer-0.cpp, each text is tokenized without the bos/eos tokens.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest

from tokenlens.backends.gguf_backend import GGUFBackend, check_supported, read_tokenizer
from tokenlens.errors import TokenizerFileError

from .fetch_llama_vectors import VERSION, fetched, vectors_dir

FOLDER = fetched()
NOT_FETCHED = (
    f"llama.cpp's tokenizer vectors (llama-cpp-python {VERSION}) are not in {vectors_dir()}; fetch them"
    " with `make test` or `.venv/bin/python tests/fetch_llama_vectors.py` (needs PyPI, about 75 MB)"
)
#: the vocabularies llama-cpp-python 0.3.36 ships vectors for; all must be read, none skipped
EXPECTED = {
    "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe",
    "llama-spm", "mpt", "phi-3", "qwen2", "qwen35", "refact", "starcoder",
}  # fmt: skip
_SEPARATOR = "\n__ggml_vocab_test__\n"


def _vocabularies(with_vectors: bool) -> list[str]:
    if FOLDER is None:
        return []
    names = sorted(p.name[len("ggml-vocab-") : -len(".gguf")] for p in FOLDER.glob("ggml-vocab-*.gguf"))
    return [n for n in names if (FOLDER / f"ggml-vocab-{n}.gguf.inp").is_file() == with_vectors]


def read_vectors(gguf: Path) -> list[tuple[str, list[int]]]:
    """The (text, ids) pairs of a vocabulary, read as test-tokenizer-0.cpp reads them."""
    raw = Path(f"{gguf}.inp").read_bytes().decode("utf-8")
    texts, pos = [], 0
    while pos < len(raw):
        end = raw.find(_SEPARATOR, pos)
        if end < 0:
            texts.append(raw[pos:])
            break
        texts.append(raw[pos:end])
        pos = end + len(_SEPARATOR)
    lines = Path(f"{gguf}.out").read_bytes().decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line; it starts no test
    assert len(texts) == len(lines), f"{gguf.name}: {len(texts)} texts but {len(lines)} lines of ids"
    return [(text, [int(t) for t in line.split()]) for text, line in zip(texts, lines)]


@functools.cache
def load(name: str) -> GGUFBackend:
    """One backend per vocabulary for the whole module (Gemma 4's takes seconds to build)."""
    return GGUFBackend.from_file(name, FOLDER / f"ggml-vocab-{name}.gguf")


@pytest.fixture(scope="module", autouse=True)
def _need_vectors():
    if FOLDER is None:
        pytest.skip(NOT_FETCHED)


def test_every_shipped_vocabulary_has_vectors_here():
    assert set(_vocabularies(with_vectors=True)) == EXPECTED


@pytest.mark.parametrize("name", _vocabularies(with_vectors=True) or ["(not fetched)"])
def test_vocabulary_gives_llama_cpp_ids(name):
    gguf = FOLDER / f"ggml-vocab-{name}.gguf"
    backend = load(name)
    wrong = []
    for text, want in read_vectors(gguf):
        got = [int(i) for i in backend.encode(text, add_special_tokens=False).ids]
        if got != want:
            wrong.append(f"{text!r:.60}: llama.cpp {want[:12]}, tokenlens {got[:12]}")
    assert not wrong, f"{name}: {len(wrong)} texts differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", _vocabularies(with_vectors=False) or ["(not fetched)"])
def test_vocabularies_without_vectors_load_or_are_refused_by_name(name):
    """The vocabulary files llama.cpp ships without vectors: a kind tokenlens does not read is named."""
    gguf = FOLDER / f"ggml-vocab-{name}.gguf"
    info = read_tokenizer(gguf)
    try:
        backend = GGUFBackend(name, info)
    except TokenizerFileError as err:
        assert f"tokenizer.ggml.model = {info.model!r}" in str(err) and "is not supported" in str(err)
        return
    assert len(backend.encode("Hello world", add_special_tokens=False).ids) > 0


def test_unknown_pre_tokenizer_is_refused_by_name():
    info = load("gpt-2").info
    with pytest.raises(TokenizerFileError, match=r"'viking'\) is not supported.*deepseek-llm.*falcon.*qwen35"):
        check_supported(dataclasses.replace(info, pre="viking"))


def test_wordpiece_adds_cls_and_sep_and_decodes_words():
    """bert-bge as llama.cpp gives it with its special tokens: [CLS] text [SEP], pieces rejoined."""
    backend = load("bert-bge")
    toks = backend.encode("Unaffable Größe!", add_special_tokens=True)
    ids = [int(i) for i in toks.ids]
    assert ids[0] == 101 and ids[-1] == 102  # llama.cpp's [CLS] (bos) and [SEP]
    assert backend.decode(ids[1:-1]) == "unaffable große!"  # accents stripped (ö), ß is already lowercase
    assert backend.unk_id == 100
    # llama.cpp covers a word of any length; tokenizers' WordPiece gives [UNK] past 100 characters
    long_word = backend.encode("ab" * 80, add_special_tokens=False)
    assert 100 not in [int(i) for i in long_word.ids] and backend.decode(list(long_word.ids)) == "ab" * 80


def test_gemma4_adds_bos_and_keeps_newline_runs_whole():
    """llama.cpp always adds Gemma 4's bos, and takes a run of newlines that is a token whole."""
    backend = load("gemma-4")
    assert int(backend.encode("Hi", add_special_tokens=True).ids[0]) == backend.info.bos_id
    ids = {t: i for i, t in enumerate(backend.info.tokens)}
    for k in range(1, 40):
        run = "\n" * k
        if run in ids:
            assert [int(i) for i in backend.encode(f"a{run}b", add_special_tokens=False).ids][1:-1] == [ids[run]]
    assert backend.decode([int(i) for i in backend.encode("a  b\n\nc", add_special_tokens=False).ids]) == "a  b\n\nc"
