"""GGUF metadata that is damaged, hostile or merely odd must fail as a TokenizerFileError that
names the file and says what to do, never as a bare exception, a hang or a memory blow-up.

Real headers are written here with the gguf package's writer (a SentencePiece-style and a
byte-level tokenizer), then mutated byte by byte, cut short, followed by random bytes, or
rebuilt with random fields of every GGUF type. Hand-made cases cover what the fuzzer met or
the issue named: arrays nested 2,000 deep, ``general.alignment = 0``, fields of the wrong type,
counts and lengths no file can hold, and the limits on vocabulary, piece length and merges.
"""

from __future__ import annotations

import functools
import struct
import tempfile
import tracemalloc
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenlens.backends import gguf_backend, open_path
from tokenlens.backends.gguf_backend import GGUFTokenizer, merges_from_scores, read_tokenizer
from tokenlens.core.limits import LIMITS, configure
from tokenlens.errors import TokenizerFileError

from .test_gguf import _write_tokenizer_gguf as _write

#: what loading one fuzzed file of a few kilobytes may allocate in Python objects at most
MEMORY_BOUND = 64 * 1024 * 1024

LLAMA_KV = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab", "\u2581ab", "<0x41>"],
    "tokenizer.ggml.scores": [0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -1.5, -2.5, -0.5, 0.0],
    "tokenizer.ggml.token_type": [2, 3, 3, 1, 1, 1, 1, 1, 1, 6],
    "tokenizer.ggml.bos_token_id": 1,
    "tokenizer.ggml.eos_token_id": 2,
    "tokenizer.ggml.unknown_token_id": 0,
    "tokenizer.ggml.add_bos_token": True,
    "tokenizer.chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
}
GPT2_KV = {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "gpt-2",
    "tokenizer.ggml.tokens": ["a", "b", "\u0120", "ab", "\u0120a", "\u0120ab", "<|endoftext|>"],
    "tokenizer.ggml.token_type": [1, 1, 1, 1, 1, 1, 3],
    "tokenizer.ggml.merges": ["a b", "\u0120 a", "\u0120a b"],
    "tokenizer.ggml.eos_token_id": 6,
}


@functools.cache
def real_header(kind: str) -> bytes:
    """A whole GGUF file (metadata only) as the gguf package writes it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "x.gguf", kind, LLAMA_KV if kind == "llama" else GPT2_KV)
        return path.read_bytes()


def load_bytes(data: bytes) -> None:
    """Load ``data`` as a .gguf file and encode with it; fail the test on anything but success or
    a TokenizerFileError naming the file, or on more Python memory than MEMORY_BOUND."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzzed.gguf"
        path.write_bytes(data)
        tracemalloc.start()
        try:
            backend = open_path("fuzzed", path)
            backend.encode("ab a \u00e9")
        except TokenizerFileError as exc:
            assert str(path) in str(exc) or path.name in str(exc), str(exc)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < MEMORY_BOUND, f"{peak:,} bytes for a {len(data):,}-byte file"


# -- raw GGUF, for what the writer refuses to write ---------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_FMT = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?", U64: "Q", I64: "q", F64: "d"}


def gstr(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def scalar(kind: int, value) -> bytes:
    return struct.pack("<I", kind) + struct.pack("<" + _FMT[kind], value)


def string(value: str) -> bytes:
    return struct.pack("<I", STRING) + gstr(value)


def array(item: int, items: list[bytes], count: int | None = None) -> bytes:
    """An array value whose items are already encoded (without their type)."""
    n = len(items) if count is None else count
    return struct.pack("<IIQ", ARRAY, item, n) + b"".join(items)


def gguf(kvs: dict[str, bytes], n_tensors: int = 0, tail: bytes = b"") -> bytes:
    body = b"".join(gstr(k) + v for k, v in kvs.items())
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs)) + body + tail


def tokens(*pieces: str) -> bytes:
    return array(STRING, [gstr(p) for p in pieces])


def floats(*values: float) -> bytes:
    return array(F32, [struct.pack("<f", v) for v in values])


BASE = {
    "tokenizer.ggml.model": string("llama"),
    "tokenizer.ggml.tokens": tokens("<unk>", "a", "b", "ab"),
    "tokenizer.ggml.scores": floats(0.0, -1.0, -2.0, -0.5),
}


def refused(tmp_path: Path, data: bytes, match: str) -> str:
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    with pytest.raises(TokenizerFileError, match=match) as info:
        open_path("bad", path)
    assert str(path) in str(info.value)
    return str(info.value)


@pytest.fixture
def limits():
    """Set limits for one test and put the defaults back after it."""
    saved = {k: getattr(LIMITS, k) for k in vars(LIMITS)}
    yield configure
    configure(**saved)


# -- the cases the issue names --------------------------------------------------------------------


def test_the_base_file_loads(tmp_path):
    path = tmp_path / "ok.gguf"
    path.write_bytes(gguf(BASE))
    assert open_path("ok", path).encode("ab", add_special_tokens=False).ids == [3]


def test_arrays_nested_2000_deep(tmp_path):
    nested = struct.pack("<I", ARRAY) + struct.pack("<IQ", ARRAY, 1) * 2000 + struct.pack("<IQ", U8, 0)
    refused(tmp_path, gguf({**BASE, "x.nested": nested}), "damaged GGUF file.*nested.*Download or export it again")


@pytest.mark.parametrize(
    "value", [scalar(U32, 0), scalar(U32, 24), string("32"), scalar(F32, 32.0)], ids=["0", "24", "text", "float"]
)
def test_general_alignment_must_be_a_power_of_two(tmp_path, value):
    refused(tmp_path, gguf({**BASE, "general.alignment": value}), "general.alignment .* not a power of two")


@pytest.mark.parametrize(
    "key,value,what",
    [
        ("tokenizer.ggml.model", scalar(U32, 1), "UTF-8 text"),
        ("tokenizer.ggml.tokens", string("a b ab"), "a list of strings"),
        ("tokenizer.ggml.tokens", array(U32, [struct.pack("<I", 1)] * 4), "a list of strings"),
        ("tokenizer.ggml.tokens", array(STRING, [gstr("a"), gstr(b"\xff\xfe"), gstr("b"), gstr("ab")]), "item 1"),
        ("tokenizer.ggml.scores", tokens("x", "y", "z", "w"), "a list of numbers"),
        ("tokenizer.ggml.scores", floats(0.0, 1.0), "4 items, one per token"),
        ("tokenizer.ggml.token_type", floats(1.0, 1.0, 1.0, 1.0), "whole numbers"),
        ("tokenizer.ggml.merges", array(U8, [b"\x01"]), "a list of strings"),
        ("tokenizer.ggml.bos_token_id", scalar(F32, float("nan")), "a token id"),
        ("tokenizer.ggml.bos_token_id", string("1"), "a token id"),
        ("tokenizer.ggml.add_bos_token", string("yes"), "true or false"),
        ("tokenizer.ggml.pre", tokens("gpt-2"), "UTF-8 text"),
        ("general.architecture", scalar(U8, 3), "UTF-8 text"),
    ],
    ids=lambda v: v if isinstance(v, str) and "." in v else "",
)
def test_a_field_of_the_wrong_type_is_named(tmp_path, key, value, what):
    message = refused(tmp_path, gguf({**BASE, key: value}), "metadata field")
    assert key in message and what in message and "export it again" in message


def test_special_ids_outside_the_vocabulary_are_ignored_as_llama_cpp_does(tmp_path):
    path = tmp_path / "ids.gguf"
    path.write_bytes(gguf({**BASE, "tokenizer.ggml.bos_token_id": scalar(U32, 99)}))
    assert open_path("ids", path).encode("ab").ids == [3]


@pytest.mark.parametrize(
    "data",
    [
        gguf(BASE)[:-3],  # cut inside the last score
        b"GGUF" + struct.pack("<IQQ", 3, 0, 2**62),  # more fields than bytes
        gguf({**BASE, "x": array(U64, [], count=2**61)}),  # an array no file can hold
        gguf({**BASE, "x": array(STRING, [], count=2**40)}),
        gguf({**BASE, "x": struct.pack("<I", STRING) + struct.pack("<Q", 2**63)}),  # a string longer than the file
        gguf({**BASE, "x": struct.pack("<I", 77) + b"\0" * 8}),  # a type that does not exist
        gguf(BASE, n_tensors=1, tail=gstr("t") + struct.pack("<I", 2**31) + b"\0" * 64),  # absurd dimensions
        gguf(BASE, n_tensors=1, tail=gstr("t") + struct.pack("<IQQIQ", 2, 4, 4, 999, 0)),  # unknown tensor type
        gguf(BASE, n_tensors=1, tail=gstr("t") + struct.pack("<IQIQ", 1, 2**60, 0, 0)),  # data past the end
    ],
    ids=["cut", "fields", "u64-array", "string-array", "string", "type", "dims", "tensor-type", "tensor-end"],
)
def test_counts_lengths_and_cuts_no_file_can_hold(tmp_path, data):
    message = refused(tmp_path, data, "cut short|damaged")
    assert "again" in message


def test_limits_on_vocabulary_pieces_and_merges(tmp_path, limits):
    limits(gguf_vocab_tokens=3)
    refused(tmp_path, gguf(BASE), "4 tokens, more than the 3.*raise gguf_vocab_tokens.*configure")
    limits(gguf_vocab_tokens=10, gguf_piece_chars=1)
    refused(tmp_path, gguf(BASE), "token 0 .* 5 characters long.*raise gguf_piece_chars")
    limits(gguf_piece_chars=100, gguf_merges=0)
    refused(tmp_path, gguf(BASE), "more than 0 merges.*raise gguf_merges")
    limits(gguf_merges=10, gguf_merge_chars=1)
    refused(tmp_path, gguf(BASE), "merges hold more than 1 characters.*raise gguf_merge_chars")
    merges = {**BASE, "tokenizer.ggml.merges": tokens("a b")}
    refused(tmp_path, gguf(merges), "raise gguf_merge_chars")  # merges read from the file count too
    limits(gguf_merge_chars=100, gguf_merges=0)
    refused(tmp_path, gguf(merges), "raise gguf_merges")
    limits(gguf_merges=4, gguf_vocab_tokens=4)
    message = refused(tmp_path, gguf({**BASE, "x": tokens(*"abcde")}), "'x' is an array of 5 items")
    assert "gguf_vocab_tokens" in message


def test_only_gguf_names_and_ollama_blobs_are_read_as_gguf(tmp_path):
    """A tokenizer.json that happens to begin with the bytes GGUF is a broken tokenizer.json."""
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_bytes(gguf(BASE))
    with pytest.raises(TokenizerFileError, match="not a readable tokenizer.json"):
        open_path("tok", folder)
    blob = tmp_path / ("sha256-" + "0" * 64)
    blob.write_bytes(gguf(BASE))
    assert open_path("blob", blob).kind == "gguf"
    other = tmp_path / "sha256-notadigest"
    other.write_bytes(gguf(BASE))
    with pytest.raises(TokenizerFileError, match="unknown tokenizer format"):
        open_path("other", other)


# -- merges from scores ------------------------------------------------------------------------------


def slow_merges_from_scores(info: GGUFTokenizer) -> list[tuple[str, str]]:
    """The textbook definition: every cut of every piece, both halves looked up."""
    ids: dict[str, int] = {}
    for i, tok in enumerate(info.tokens):
        ids.setdefault(tok, i)
    scores = info.scores or [0.0] * len(info.tokens)
    ranked = []
    for i, piece in enumerate(info.tokens):
        if info.type_of(i) not in (1, 4) or ids[piece] != i:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in ids and right in ids:
                ranked.append((-float(scores[i]), i, ids[left], ids[right], left, right))
    ranked.sort(key=lambda r: r[:4])
    return [(r[4], r[5]) for r in ranked]


@settings(max_examples=300, deadline=None)
@given(
    vocab=st.lists(st.text(alphabet="ab\u2581c", min_size=0, max_size=7), min_size=1, max_size=40),
    short=st.sampled_from([0, 3, 24]),
    data=st.data(),
)
def test_merges_from_scores_equal_the_textbook_definition(vocab, short, data):
    """Both ways of finding splits: every cut of a short piece, the two stacks for a long one."""
    n = len(vocab)
    scores = data.draw(st.lists(st.integers(-5, 5).map(float), min_size=n, max_size=n))
    types = data.draw(st.lists(st.sampled_from([1, 1, 1, 3, 4, 6]), min_size=n, max_size=n))
    info = GGUFTokenizer("x.gguf", "llama", vocab, scores=scores, token_types=types)
    with mock.patch.object(gguf_backend, "_SHORT_PIECE", short):
        assert merges_from_scores(info) == slow_merges_from_scores(info)


def test_merges_from_scores_keep_the_vocabulary_strings(limits):
    """Pieces a, aa, …, a×300 have 44,850 splits. Each merge must share the vocabulary's own
    strings: cutting new ones, as before, held 9 million characters (cubic in the length)."""
    limits(gguf_merge_chars=10**9)
    pieces = ["a" * n for n in range(1, 301)]
    info = GGUFTokenizer("a.gguf", "llama", pieces, scores=[-float(n) for n in range(300)])
    tracemalloc.start()
    merges = merges_from_scores(info)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(merges) == 300 * 299 // 2
    assert all(left is pieces[len(left) - 1] for left, _right in merges[:1000])
    assert peak < 200 * len(merges), f"{peak:,} bytes for {len(merges):,} merges"


def test_the_file_of_the_issue_is_refused_quickly_by_the_merge_budget(tmp_path):
    """a, aa, …, a×1000 (509 KB) took 5.7 s and 1.5 GiB; its merges hold 333 million characters."""
    path = _write(
        tmp_path / "aaa.gguf",
        "llama",
        {
            "tokenizer.ggml.model": "llama",
            "tokenizer.ggml.tokens": ["a" * n for n in range(1, 1001)],
            "tokenizer.ggml.scores": [-float(n) for n in range(1, 1001)],
        },
    )
    tracemalloc.start()
    with pytest.raises(TokenizerFileError, match="raise gguf_merge_chars"):
        open_path("aaa", path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


def test_scores_path_builds_a_working_tokenizer_from_a_real_header(tmp_path):
    info = read_tokenizer(_write(tmp_path / "l.gguf", "llama", LLAMA_KV))
    assert ("\u2581a", "b") in merges_from_scores(info)


# -- fuzzing ---------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    kind=st.sampled_from(["llama", "gpt2"]),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    cut=st.none() | st.integers(4, 10**6),
)
def test_fuzz_mutated_real_headers(kind, edits, cut):
    data = bytearray(real_header(kind))
    for pos, byte in edits:
        data[4 + pos % (len(data) - 4)] = byte  # keep the magic: everything after it is fair game
    if cut is not None:
        data = data[: max(4, cut % (len(data) + 1))]
    load_bytes(bytes(data))


@FUZZ
@given(tail=st.binary(max_size=600))
def test_fuzz_random_bytes_after_the_magic(tail):
    load_bytes(b"GGUF" + tail)
    load_bytes(b"GGUF" + struct.pack("<I", 3) + tail)


KEYS = [
    "tokenizer.ggml.model",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.scores",
    "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.pre",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.add_bos_token",
    "tokenizer.ggml.add_eos_token",
    "tokenizer.ggml.add_space_prefix",
    "tokenizer.chat_template",
    "general.alignment",
    "general.architecture",
]
PIECES = st.text(alphabet="ab \u2581\u0120<>0x\u00e9", max_size=6)


def _scalar_values():
    ints = st.integers(-(2**63), 2**64 - 1)
    return st.one_of(
        st.tuples(st.sampled_from([U8, I8, U16, I16, U32, I32, U64, I64]), ints).map(
            lambda t: struct.pack("<I", t[0]) + _pack_int(t[0], t[1])
        ),
        st.floats(allow_nan=True, allow_infinity=True, width=32).map(lambda v: scalar(F32, v)),
        st.floats(allow_nan=True).map(lambda v: scalar(F64, v)),
        st.booleans().map(lambda v: scalar(BOOL, v)),
        st.sampled_from(["llama", "gpt2", "t5", "gpt-2", "llama-bpe", "qwen2", ""]).map(string),
        st.binary(max_size=12).map(lambda b: struct.pack("<I", STRING) + gstr(b)),
    )


def _pack_int(kind: int, value: int) -> bytes:
    size = struct.calcsize(_FMT[kind])
    return (value % 2 ** (8 * size)).to_bytes(size, "little")


def _array_values():
    return st.one_of(
        st.lists(PIECES, max_size=12).map(lambda ps: tokens(*ps)),
        st.lists(st.floats(width=32, allow_nan=True), max_size=12).map(lambda vs: floats(*vs)),
        st.lists(st.integers(0, 7), max_size=12).map(lambda vs: array(I32, [struct.pack("<i", v) for v in vs])),
        st.lists(st.tuples(PIECES, PIECES), max_size=8).map(lambda ms: tokens(*(f"{a} {b}" for a, b in ms))),
        st.lists(st.binary(max_size=4), max_size=4).map(lambda bs: array(STRING, [gstr(b) for b in bs])),
        st.tuples(st.integers(0, 12), st.integers(0, 2**64 - 1)).map(
            lambda t: struct.pack("<IIQ", ARRAY, t[0], t[1])  # a count with nothing behind it
        ),
    )


@FUZZ
@given(
    fields=st.dictionaries(st.sampled_from(KEYS), st.one_of(_scalar_values(), _array_values()), max_size=10),
    keep_base=st.booleans(),
)
def test_fuzz_well_formed_files_with_random_fields(fields, keep_base):
    load_bytes(gguf({**BASE, **fields} if keep_base else fields))
