"""The engine against the reference tokenizers: ids, spans, decoding, resolution and errors."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenlens
from tokenlens.core.resolve import clear_cache
from tokenlens.errors import InputError, TokenizerFileError, TokenizerNotFound

from .conftest import TOKENIZERS, flores

REFERENCE = {
    "gpt2": [40, 1842, 399, 19930],
    "bert-base-uncased": [101, 1045, 2293, 17953, 2361, 102],
    "llama-2": [1, 306, 5360, 405, 13208],
}
ALL = ["gpt2", "cl100k_base", "o200k_base", "bert-base-uncased", "llama-2"]
LOSSLESS = ["gpt2", "cl100k_base", "o200k_base", "llama-2"]


@pytest.mark.parametrize("name,ids", REFERENCE.items())
def test_reference_ids(name, ids):
    assert tokenlens.tokenize("I love NLP", name).ids == ids


def test_display_tokens_and_pieces():
    gpt2 = tokenlens.tokenize("I love NLP", "gpt2")
    assert gpt2.tokens == ["I", " love", " N", "LP"]
    assert gpt2.pieces == ["I", "Ġlove", "ĠN", "LP"]
    bert = tokenlens.tokenize("I love NLP", "bert-base-uncased")
    assert bert.tokens == ["[CLS]", "i", "love", "nl", "##p", "[SEP]"]
    assert bert.special == [True, False, False, False, False, True]
    assert bert.spans == [(0, 0), (0, 1), (2, 6), (7, 9), (9, 10), (10, 10)]
    llama = tokenlens.tokenize("I love NLP", "llama-2")
    assert llama.pieces == ["<s>", "▁I", "▁love", "▁N", "LP"]
    assert llama.special[0] and not any(llama.special[1:])


def test_without_special_tokens():
    assert tokenlens.tokenize("I love NLP", "bert-base-uncased", add_special_tokens=False).ids == [
        1045,
        2293,
        17953,
        2361,
    ]
    assert tokenlens.tokenize("I love NLP", "llama-2", add_special_tokens=False).ids == [306, 5360, 405, 13208]


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "o200k_base", "llama-2"])
def test_decode_round_trip(name):
    text = "I love NLP. ଓଡ଼ିଆ ଭାଷା 🙂 中文"
    ids = tokenlens.tokenize(text, name, add_special_tokens=False).ids
    assert tokenlens.decode(ids, name) == text


def test_decode_refuses_ids_out_of_range():
    with pytest.raises(InputError, match=r"outside gpt2's vocabulary \(valid ids: 0 to 50256\)"):
        tokenlens.decode([40, 99999], "gpt2")
    with pytest.raises(InputError, match="whole numbers"):
        tokenlens.decode(["forty"], "gpt2")


def test_ids_no_token_has_are_refused_clearly():
    """cl100k_base's ids run to 100255, its special tokens start at 100257: 100256 is no token."""
    backend = tokenlens.load("cl100k_base")
    for call in (
        lambda: tokenlens.decode([100256], "cl100k_base"),
        lambda: backend.explain(100256),
        lambda: backend.from_ids([40, 100256]),
    ):
        with pytest.raises(InputError, match=r"\[100256\] are not used by cl100k_base"):
            call()
    assert tokenlens.decode([100257], "cl100k_base") == "<|endoftext|>"


def assert_spans_partition(result, lossless: bool):
    """Spans are ordered and disjoint; with the gaps they rebuild the text exactly."""
    text = result.text
    pieces, pos = [], 0
    gaps = dict(result.gaps)
    for s, e in result.spans:
        assert 0 <= s <= e <= len(text)
        if s == e:
            continue
        if pos in gaps:
            pieces.append(text[pos : gaps[pos]])
            pos = gaps[pos]
        assert s == pos, (result.tokenizer, result.spans)
        pieces.append(text[s:e])
        pos = e
    if pos in gaps:
        pieces.append(text[pos : gaps[pos]])
    assert "".join(pieces) == text
    if lossless:
        assert result.gaps == []
    assert len(result.ids) == len(result.tokens) == len(result.pieces) == len(result.spans) == len(result.special)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_spans_cover_any_unicode(name, text):
    result = tokenlens.tokenize(text, name)
    assert_spans_partition(result, lossless=name in LOSSLESS)
    if name == "bert-base-uncased":
        # BERT only drops whitespace, control characters and the combining marks it strips
        for s, e in result.gaps:
            assert all(
                c.isspace() or not c.isprintable() or c == "\ufffd" or unicodedata.category(c).startswith("M")
                for c in text[s:e]
            ), repr(text[s:e])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("lang", ["ory_Orya", "hin_Deva", "zho_Hans", "arb_Arab", "tam_Taml"])
def test_flores_lines_never_show_replacement_char(name, lang):
    for line in flores(lang)[:40]:
        result = tokenlens.tokenize(line, name)
        assert not any("\ufffd" in t for t in result.tokens), (name, lang, line)
        assert_spans_partition(result, lossless=name in LOSSLESS)


def test_partial_character_tokens_show_bytes():
    result = tokenlens.tokenize("ଓ", "gpt2")  # U+0B13 is three UTF-8 bytes: E0 AC 93
    assert result.tokens == ["<E0>", "<AC>", "<93>"]
    assert result.spans == [(0, 1), (1, 1), (1, 1)]
    llama = tokenlens.tokenize("ଓ", "llama-2", add_special_tokens=False)
    assert llama.pieces[-3:] == ["<0xE0>", "<0xAC>", "<0x93>"]
    assert llama.spans[-3:] == [(0, 1), (1, 1), (1, 1)]


def test_to_dict_is_the_rest_shape():
    d = tokenlens.tokenize("I love NLP", "gpt2").to_dict()
    assert d["ids"] == REFERENCE["gpt2"]
    assert d["spans"] == [[0, 1], [1, 6], [6, 8], [8, 10]]
    assert (d["n_tokens"], d["n_chars"], d["n_bytes"]) == (4, 10, 10)
    assert d["kind"] == "tiktoken" and d["model"] == "BPE"
    json.dumps(d)


def test_compare_several():
    cmp = tokenlens.compare("I love NLP", list(REFERENCE))
    assert cmp.counts() == {"gpt2": 4, "bert-base-uncased": 6, "llama-2": 5}
    assert cmp["llama-2"].ids == REFERENCE["llama-2"]
    with pytest.raises(InputError):
        tokenlens.compare("x", [])


def test_loaded_tokenizers_are_cached():
    assert tokenlens.load("gpt2") is tokenlens.load("gpt2")


def test_empty_text():
    assert tokenlens.tokenize("", "gpt2").ids == []
    assert tokenlens.tokenize("", "bert-base-uncased").ids == [101, 102]


def test_lone_surrogate_is_refused_clearly():
    with pytest.raises(InputError, match="unpaired surrogate at character 1"):
        tokenlens.tokenize("a\ud800", "gpt2")


def test_megabytes_of_text():
    text = ("ଓଡ଼ିଆ ଭାଷା and English. " * 120_000)[:3_000_000]
    result = tokenlens.tokenize(text, "cl100k_base")
    assert len(result.ids) > 500_000
    assert result.spans[-1][1] == len(text)


# -- resolution and formats --------------------------------------------------------------------


def test_unknown_name_suggests_close_matches():
    with pytest.raises(TokenizerNotFound) as info:
        tokenlens.load("gpt-2")
    assert info.value.suggestions == ["gpt2"]
    assert "did you mean 'gpt2'" in str(info.value)


def test_folder_without_tokenizer(tmp_path):
    (tmp_path / "notes.md").write_text("hello")
    with pytest.raises(TokenizerFileError, match="holds no tokenizer file"):
        tokenlens.load(str(tmp_path))


def test_corrupt_files(tmp_path):
    bad_json = tmp_path / "a" / "tokenizer.json"
    bad_json.parent.mkdir()
    bad_json.write_text('{"model": ')
    with pytest.raises(TokenizerFileError, match="not a readable tokenizer.json"):
        tokenlens.load(str(bad_json))
    bad_model = tmp_path / "b" / "tokenizer.model"
    bad_model.parent.mkdir()
    bad_model.write_bytes(b"\x00not a model")
    with pytest.raises(TokenizerFileError, match="not a readable SentencePiece model"):
        tokenlens.load(str(bad_model))
    bad_ranks = tmp_path / "c" / "cl100k_base.tiktoken"
    bad_ranks.parent.mkdir()
    bad_ranks.write_bytes(b"not base64 at all\n")
    with pytest.raises(TokenizerFileError, match="not the published cl100k_base rank file"):
        tokenlens.load(str(bad_ranks))
    custom = tmp_path / "d" / "mine.tiktoken"
    custom.parent.mkdir()
    shutil.copy(TOKENIZERS / "gpt2" / "r50k_base.tiktoken", custom)
    with pytest.raises(TokenizerFileError, match="named after its encoding"):
        tokenlens.load(str(custom))


def _train_bytelevel(tmp_path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(flores("ory_Orya")[:200] + flores("eng_Latn")[:200], trainer)
    return tok


def test_tokenizer_json_and_vocab_merges(tmp_path):
    tok = _train_bytelevel(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    text = flores("ory_Orya", "devtest")[0]
    ours = tokenlens.tokenize(text, str(folder))
    assert ours.ids == tok.encode(text).ids
    assert_spans_partition(ours, lossless=True)
    assert not any("\ufffd" in t for t in ours.tokens)
    assert tokenlens.decode(ours.ids, str(folder)) == text

    vm = tmp_path / "vm"
    vm.mkdir()
    tok.model.save(str(vm))  # writes vocab.json + merges.txt
    assert tokenlens.tokenize(text, str(vm)).ids == ours.ids
    (vm / "vocab.json").unlink()
    with pytest.raises(TokenizerFileError, match="no vocab.json beside it"):
        tokenlens.load(str(vm / "merges.txt"))


def test_tokenlens_path_folder_name_and_reload(tmp_path, monkeypatch):
    tok = _train_bytelevel(tmp_path)
    root = tmp_path / "root"
    (root / "odia-small").mkdir(parents=True)
    tok.save(str(root / "odia-small" / "tokenizer.json"))
    monkeypatch.setenv("TOKENLENS_PATH", f"{root}:{TOKENIZERS}")
    first = tokenlens.load("odia-small")
    assert first.kind == "hf" and first.vocab_size == tok.get_vocab_size()
    assert "odia-small" in [e.name for e in tokenlens.available()]
    # a retrained tokenizer under the same name is picked up, not served stale from the cache
    from tokenizers import Tokenizer, models, pre_tokenizers

    other = Tokenizer(models.WordLevel({"[UNK]": 0, "x": 1}, unk_token="[UNK]"))
    other.pre_tokenizer = pre_tokenizers.Whitespace()
    other.save(str(root / "odia-small" / "tokenizer.json"))
    second = tokenlens.load("odia-small")
    assert second is not first and second.vocab_size == 2
    clear_cache()


def test_server_style_resolution_refuses_paths(tmp_path):
    from tokenlens.core.resolve import resolve

    tok = _train_bytelevel(tmp_path)
    tok.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(TokenizerNotFound):
        resolve(str(tmp_path), allow_paths=False, allow_hub=False)
    with pytest.raises(TokenizerNotFound):
        resolve("../shared/data/tokenizers/gpt2", allow_paths=False, allow_hub=False)
    assert resolve("gpt2", allow_paths=False, allow_hub=False).name == "gpt2"


def test_link_out_of_root_is_not_followed(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape").symlink_to(TOKENIZERS / "gpt2")
    monkeypatch.setenv("TOKENLENS_PATH", str(root))
    from tokenlens.core.resolve import resolve

    with pytest.raises(TokenizerNotFound):
        resolve("escape", allow_paths=False, allow_hub=False)


def test_hub_offline_says_so():
    with pytest.raises(TokenizerNotFound, match="HF_HUB_OFFLINE"):
        tokenlens.load("someone/never-downloaded-tokenizer")


def test_package_import_is_light():
    import subprocess
    import sys

    code = "import sys, tokenlens; print(sorted(m for m in ('torch','transformers','tokenizers','tiktoken') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sentencepiece_fast_spans_match_the_engines_offsets():
    """Spans from piece lengths equal spans from SentencePiece's own per-piece offsets."""
    from tokenlens.core.tokenized import clamp_spans

    sp = tokenlens.load("llama-2")
    assert sp._bytes_are_text
    # "a▁b": a literal U+2581 in the text is one character but not the bytes of its piece
    lines = ["", " ", "  two  spaces", "a\n\tb", "🙂 ok", "a▁b", " ▁ x", "ଓ▁"] + [
        l for lang in ("ory_Orya", "zho_Hans", "arb_Arab") for l in flores(lang)[:15]
    ]
    for line in lines:
        fast = sp.encode(line, add_special_tokens=False)
        ids, spans = sp._encode_with_offsets(line)
        assert fast.ids == ids
        assert fast.span_array.tolist() == clamp_spans(spans).tolist(), line


# -- long texts: Hugging Face lines encoded in parallel must equal one whole encode ------------


def _whole_hf(backend, text, add_special_tokens):
    """What the engine gives for the text in one piece (spans made disjoint as tokenize does)."""
    from tokenlens.core.tokenized import clamp_spans

    enc = backend.tokenizer.encode(text, add_special_tokens=add_special_tokens)
    return enc.ids, clamp_spans(enc.offsets).tolist(), enc.tokens


def test_bert_cuts_long_texts_at_newlines_and_matches_the_whole_encode(monkeypatch):
    bert = tokenlens.load("bert-base-uncased")
    assert bert._splits_at_newlines()
    lines = [l for lang in ("eng_Latn", "ory_Orya", "zho_Hans", "arb_Arab", "hin_Deva") for l in flores(lang)[:40]]
    # newlines of every kind of neighbourhood: blank lines, CR LF, spaces, combining marks,
    # a special token's text and a word longer than WordPiece's 100-character limit
    text = "\n".join(lines) + "\n\n  \r\n\u0301é\n[SEP]\n[CLS]x\n" + "a" * 150 + "\n \n"
    monkeypatch.setattr(type(bert), "CHUNK_CHARS", 300)
    assert len(bert._line_chunks(text)) > 20
    for special in (True, False):
        result = tokenlens.tokenize(text, bert, add_special_tokens=special)
        ids, spans, pieces = _whole_hf(bert, text, special)
        assert result.ids == ids
        assert result.span_array.tolist() == spans
        assert result.pieces == pieces
    assert_spans_partition(tokenlens.tokenize(text, bert), lossless=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), max_size=12))
def test_bert_chunked_encode_equals_whole_encode_on_any_text(parts, monkeypatch):
    bert = tokenlens.load("bert-base-uncased")
    text = "\n".join(parts)
    monkeypatch.setattr(type(bert), "CHUNK_CHARS", 1)
    for special in (True, False):
        result = tokenlens.tokenize(text, bert, add_special_tokens=special)
        ids, spans, _ = _whole_hf(bert, text, special)
        assert result.ids == ids
        assert result.span_array.tolist() == spans


def test_only_newline_safe_pipelines_are_cut(tmp_path):
    """Byte-level BPE (GPT-2 style) can join whitespace across a newline: never cut."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from tokenlens.backends.hf import HFBackend

    bpe = Tokenizer(models.BPE({"a": 0, "\n": 1, " ": 2}, []))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    assert not HFBackend("bl", bpe)._splits_at_newlines()
    wp = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    assert HFBackend("wp", wp)._splits_at_newlines()
    wp.normalizer = normalizers.Strip()
    assert not HFBackend("wp-strip", wp)._splits_at_newlines()
    wp.normalizer = None
    wp.enable_truncation(8)
    assert not HFBackend("wp-trunc", wp)._splits_at_newlines()


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "o200k_base"])
def test_tiktoken_spans_from_character_counts_equal_the_byte_mapping(name):
    """Spans from characters-per-token equal the exact byte → character mapping."""
    import numpy as np

    from tokenlens.core.tokenized import byte_lengths_to_char_spans

    backend = tokenlens.load(name)
    text = "\n".join(l for lang in ("ory_Orya", "zho_Hans", "arb_Arab", "eng_Latn") for l in flores(lang)[:20])
    text += " <|endoftext|> 🙂 \U0001f468\u200d\U0001f469 a▁b"
    for special in (True, False):
        result = tokenlens.tokenize(text, name, add_special_tokens=special)
        exact = byte_lengths_to_char_spans(text, backend._byte_lengths()[np.asarray(result.ids)])
        assert result.span_array.tolist() == exact.tolist()
