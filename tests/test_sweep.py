"""tokenlens.sweep: BPE, WordPiece and Unigram at several sizes on one corpus, beside GPT-2, BERT and
Llama 2, and train_tokenizer(save=False) under it."""

from __future__ import annotations

import pandas as pd
import pytest

import tokenlens
from tests.conftest import flores
from tokenlens.core.resolve import registry_dir
from tokenlens.errors import InputError, TokenlensError
from tokenlens.vocab.sweep import MAX_RUNS, sweep
from tokenlens.vocab.train import train_tokenizer

REFS = ("gpt2", "bert-base-uncased", "llama-2")


def _registry_names() -> set[str]:
    reg = registry_dir()
    return {p.name for p in reg.iterdir() if p.is_dir()} if reg.is_dir() else set()


@pytest.fixture(scope="module")
def english_sweep():
    return sweep(flores("eng_Latn")[:400], vocab_sizes=(300, 800), reference=REFS)


def test_sweep_trains_every_algorithm_at_every_size_and_saves_nothing(english_sweep):
    s = english_sweep
    assert [(r.algorithm, r.vocab_size) for r in s.rows[:6]] == [
        (a, n) for a in ("bpe", "wordpiece", "unigram") for n in (300, 800)
    ]
    assert [r.tokenizer for r in s.rows[6:]] == list(REFS)
    assert all(r.algorithm == "reference" for r in s.rows[6:])
    assert set(s.results) == {r.tokenizer for r in s.rows[:6]}
    assert all(res.path is None and res.algorithm == name.split("-")[1] for name, res in s.results.items())
    assert _registry_names() == set()
    assert "40 held-out lines of 400" in s.measured_on


def test_sweep_numbers_are_those_stats_and_the_tokenizer_give(english_sweep):
    s = english_sweep
    lines = flores("eng_Latn")[:400]
    held = [ln for ln in lines if ln.strip()]
    import random

    random.Random(0).shuffle(held)
    held_text = "\n".join(held[:40]) + "\n"
    for name in ("gpt2", "llama-2"):
        row = s[name]
        assert row.fertility == pytest.approx(tokenlens.stats(held_text, name, progress=False).fertility)
        backend = tokenlens.load(name)
        ids = [i for ln in held[:40] for i in backend.encode(ln, add_special_tokens=False).ids]
        assert row.used == len(set(ids)) and row.vocab_size == backend.vocab_size
        uses = pd.Series(ids).value_counts().sort_index()
        # Spearman: Pearson's correlation of the average ranks
        ranks_id = pd.Series(uses.index.to_numpy(), dtype=float).rank()
        ranks_use = pd.Series(uses.to_numpy(), dtype=float).rank()
        expected = ranks_id.corr(ranks_use)
        assert row.id_frequency_correlation == pytest.approx(expected)
    trained = s["sweep-bpe-800"]
    tok = s.results["sweep-bpe-800"].tokenizer
    assert trained.vocab_size == tok.get_vocab_size(with_added_tokens=True)
    # a larger vocabulary keeps more words whole
    for a in ("bpe", "wordpiece", "unigram"):
        assert s[f"sweep-{a}-800"].fertility < s[f"sweep-{a}-300"].fertility


def test_sweep_shows_a_table_and_charts_with_the_references(english_sweep):
    html = english_sweep._repr_html_()
    assert html.count("<svg") == 2 + 3 + 3  # two charts against size, an id panel per algorithm and reference
    for name in (*REFS, "sweep-unigram-800", "Fertility against vocabulary size", "Share of the vocabulary used"):
        assert name in html
    frame = english_sweep.to_pandas()
    assert list(frame.index) == [r.tokenizer for r in english_sweep.rows]
    assert "sweep-wordpiece-300" in repr(english_sweep)


def test_sweep_saves_when_asked_and_never_over_a_kept_tokenizer():
    lines = flores("eng_Latn")[:60]
    s = sweep(lines, algorithms=("bpe",), vocab_sizes=(300,), reference=(), save=True, prefix="mine")
    assert _registry_names() == {"mine-bpe-300"}
    assert (
        tokenlens.load("mine-bpe-300").encode("a house").ids == s.results["mine-bpe-300"].load().encode("a house").ids
    )
    before = (registry_dir() / "mine-bpe-300" / "tokenizer.json").read_bytes()
    with pytest.raises(TokenlensError, match="named 'mine-bpe-300' exists already"):
        sweep(lines[:30], algorithms=("bpe",), vocab_sizes=(300,), reference=(), save=True, prefix="mine")
    assert (registry_dir() / "mine-bpe-300" / "tokenizer.json").read_bytes() == before


def test_train_tokenizer_save_false_keeps_it_in_memory_only():
    result = train_tokenizer(flores("eng_Latn")[:50], name="kept-here", vocab_size=300, progress=False, save=False)
    assert result.path is None and "not saved" in repr(result)
    assert result.tokenizer.get_vocab_size() > 0
    assert _registry_names() == set()


def test_a_small_corpus_is_measured_on_itself():
    s = sweep(["low lower lowest", "new newer newest", "wide wider widest"], vocab_sizes=(300,), reference=("gpt2",))
    assert "training text itself" in s.measured_on
    assert len(s.rows) == 4


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"algorithms": ("bpe", "sentencepiece")}, "Algorithms to sweep are"),
        ({"vocab_sizes": (300, 0)}, "vocab_sizes must be whole numbers"),
        ({"vocab_sizes": tuple(range(300, 300 + MAX_RUNS))}, f"a sweep runs at most {MAX_RUNS}"),
        ({"holdout": 1.5}, "holdout is a share"),
        ({"name": "x"}, "sets name itself"),
    ],
)
def test_bad_options_are_refused_before_any_training(kwargs, says):
    with pytest.raises(InputError, match=says):
        sweep(["some text here"], reference=(), **kwargs)
    assert _registry_names() == set()


def test_bad_corpora_are_refused():
    with pytest.raises(InputError, match="iterator can be read only once"):
        sweep(iter(["a b c"]), reference=())
    with pytest.raises(InputError, match="corpus is empty"):
        sweep(["", "  "], reference=())
    with pytest.raises(InputError, match="must be a string, a list of strings"):
        sweep(42, reference=())


def test_the_magic_sweeps_the_cell_body_and_saves_nothing(shell):
    shell.user_ns["lines"] = flores("eng_Latn")[:120]
    out = shell.run_cell("%train_tokenizer --var lines --sweep 300,500 --compare gpt2 --out swept")
    out.raise_error()
    s = shell.user_ns["swept"]
    assert [r.tokenizer for r in s.rows] == [
        *(f"sweep-{a}-{n}" for a in ("bpe", "wordpiece", "unigram") for n in (300, 500)),
        "gpt2",
    ]
    assert "12 held-out lines of 120" in s.measured_on and _registry_names() == set()


def test_the_magic_says_how_to_write_sizes(shell):
    shell.user_ns["lines"] = ["a few words"]
    out = shell.run_cell("%train_tokenizer --var lines --sweep 300;500")
    assert "--sweep takes vocabulary sizes joined by commas" in str(out.error_in_exec)
