"""The training report's words and names (issue 15, item 11): the word builder does bounded work
for a very long word and builds only the words it shows; a trained tokenizer never takes the
name of a hub model or a tiktoken encoding."""

from __future__ import annotations

import pytest

import tokenlens
from tokenlens.core.limits import LIMITS, configure
from tokenlens.views.train_report import built_rows
from tokenlens.vocab import merges, result
from tokenlens.vocab.result import example_words
from tokenlens.vocab.train import TrainingError, train_tokenizer

from .conftest import flores

LINES = flores("eng_Latn")[:150] + flores("ory_Orya")[:150]
#: one "word" of about 15,000 letters: the English lines without their spaces and punctuation
LONG_WORD = "".join(ch for ch in " ".join(flores("eng_Latn")[:150]) if ch.isascii() and ch.isalpha())


@pytest.fixture
def trained():
    return train_tokenizer(LINES, name="report-words", vocab_size=800, progress=None)


@pytest.fixture
def word_limit():
    before = LIMITS.report_word_chars
    yield
    configure(report_word_chars=before)


def watch_build_steps(monkeypatch, most_symbols: int | None = None, most_calls: int | None = None) -> list[int]:
    """Record the length of each word ``TrainingResult.build`` builds; fail at once past the bounds
    (the unbounded builder would otherwise run for minutes)."""
    seen: list[int] = []
    real = merges.build_steps

    def counted(symbols, ranks, max_steps=None):
        seen.append(len(symbols))
        assert most_symbols is None or len(symbols) <= most_symbols, f"built a word of {len(symbols)} symbols"
        assert most_calls is None or len(seen) <= most_calls, f"built {len(seen)} words"
        return real(symbols, ranks, max_steps)

    monkeypatch.setattr(result, "build_steps", counted)
    return seen


def test_a_very_long_word_is_built_from_its_start(trained, monkeypatch):
    seen = watch_build_steps(monkeypatch, most_symbols=LIMITS.report_word_chars)
    built = built_rows(trained, LONG_WORD)
    assert seen == [LIMITS.report_word_chars]
    rows = built["rows"]
    start = rows[0]
    assert len(start["ids"]) == LIMITS.report_word_chars and LONG_WORD.startswith(start["text"])
    assert all(len(r["ids"]) <= LIMITS.report_word_chars for r in rows)
    # built on its own, the start ends in the tokenizer's own split of it
    assert rows[-1]["ids"] == tokenlens.tokenize(start["text"], "report-words", add_special_tokens=False).ids
    assert f"A word of {len(LONG_WORD):,} characters" in built["note"] and "report_word_chars" in built["note"]


def test_a_long_word_is_cut_between_characters_never_inside_one(trained, word_limit):
    configure(report_word_chars=65)  # an odd number of bytes: the 33rd two-byte letter must not be split
    built = built_rows(trained, "я" * 1000)
    start = built["rows"][0]
    assert start["text"] == "я" * 32 and len(start["ids"]) == 64
    assert all("\ufffd" not in r["text"] and "\ufffd" not in "".join(r["tokens"]) for r in built["rows"])


def test_only_the_words_shown_are_built(trained, monkeypatch):
    assert trained.build("a b c d e f g h i j", limit=3) == trained.build("a b c")
    assert len(trained.build("a b c d e f g h i j")) == 10  # without a limit: every word
    seen = watch_build_steps(monkeypatch, most_calls=8)
    built = built_rows(trained, " language" * 200_000)
    assert len(seen) == 8
    assert sum(r["tokenizer"].startswith("start") for r in built["rows"]) == 8


def test_a_long_frequent_word_is_no_example_and_costs_little(trained, monkeypatch):
    lookups = 0
    real = merges.build_steps

    class Counted(dict):
        def get(self, key, default=None):
            nonlocal lookups
            lookups += 1
            assert lookups <= 20 * len(LONG_WORD), "the whole long word was built"
            return super().get(key, default)

    monkeypatch.setattr(result, "build_steps", lambda s, r, max_steps=None: real(s, Counted(r), max_steps))
    words = {LONG_WORD: 10_000, "language": 500, "languages": 400}
    examples = example_words(trained, words)
    assert LONG_WORD not in examples and "language" in examples


# -- names ------------------------------------------------------------------------------------------


@pytest.fixture
def off_the_path(tmp_path, monkeypatch):
    """TOKENLENS_PATH without the reference tokenizers: the hub's names are free folders there."""
    empty = tmp_path / "path"
    empty.mkdir()
    monkeypatch.setenv("TOKENLENS_PATH", str(empty))


@pytest.mark.parametrize(
    ("name", "hidden", "instead"),
    [
        ("gpt2", "the Hugging Face hub model 'gpt2'", "gpt2-trained"),
        ("bert-base-uncased", "the Hugging Face hub model 'bert-base-uncased'", "bert-base-uncased-trained"),
        ("XLM-RoBERTa-base", "the Hugging Face hub model 'xlm-roberta-base'", "XLM-RoBERTa-base-trained"),
        ("o200k_base", "tiktoken's o200k_base encoding", "o200k_base-trained"),
    ],
)
def test_a_name_that_would_hide_a_hub_model_or_encoding_is_refused(off_the_path, name, hidden, instead):
    with pytest.raises(TrainingError) as info:
        train_tokenizer(LINES[:40], name=name, vocab_size=300, progress=None)
    message = str(info.value)
    assert f"{name!r} already names {hidden}" in message and f"e.g. {instead!r}" in message
    assert not (tokenlens.core.resolve.registry_dir() / name).exists()
    train_tokenizer(LINES[:40], name=instead, vocab_size=300, progress=None)  # the suggestion is free
    assert tokenlens.load(instead).vocab_size == 300


def test_a_hub_id_with_an_owner_is_refused_as_such(off_the_path):
    with pytest.raises(TrainingError, match="shape of a Hugging Face hub id"):
        train_tokenizer(LINES[:40], name="openai-community/gpt2", vocab_size=300, progress=None)


def test_a_name_in_the_local_hub_cache_is_refused(off_the_path, tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    snap = cache / "models--tiny-odia" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (cache / "models--tiny-odia" / "refs").mkdir()
    (cache / "models--tiny-odia" / "refs" / "main").write_text("0123abcd")
    (snap / "tokenizer.json").write_text("{}")
    # where scan_cache_dir looks (it reads HF_HUB_CACHE once, when huggingface_hub is imported)
    monkeypatch.setattr("huggingface_hub.utils._cache_manager.HF_HUB_CACHE", str(cache))
    with pytest.raises(TrainingError, match="'tiny-odia' in this machine's hub cache"):
        train_tokenizer(LINES[:40], name="tiny-odia", vocab_size=300, progress=None)


def test_the_suggested_name_is_not_taken(off_the_path):
    train_tokenizer(LINES[:40], name="gpt2-trained", vocab_size=300, progress=None)
    with pytest.raises(TrainingError, match="e.g. 'my-gpt2'"):
        train_tokenizer(LINES[:40], name="gpt2", vocab_size=300, progress=None)
