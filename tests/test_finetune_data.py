"""%finetune's data prepared once: tokenized and packed with `datasets`, kept under the runs
folder by the content of the texts, the tokenizer and the packing, reused by the next run, never
reused half-made."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

import tokenlens.finetune as ft
from tokenlens.finetune import prepare as prep
from tokenlens.finetune.models import load_tokenizer

from .conftest import flores

TEXTS = flores("ory_Orya")[:120]
SPLITS = {"train": TEXTS[:100], "validation": TEXTS[100:]}


@pytest.fixture(scope="module")
def tok_folder(tmp_path_factory):
    """An Odia byte-level BPE with an end-of-text token, as %train_tokenizer makes one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("tok") / "odia-bpe"
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]
    )
    tok.train_from_iterator(flores("ory_Orya"), trainer)
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    return folder


def tokenizer(folder, add_tokens=()):
    """The tokenizer the trainer loads for ``--tokenizer folder``."""
    return load_tokenizer(SimpleNamespace(tokenizer=str(folder), model=None, add_tokens=list(add_tokens)))


@pytest.fixture
def counted(monkeypatch, tok_folder):
    """The tokenizer, and how many times it was asked to tokenize."""
    tok = tokenizer(tok_folder)
    calls = []
    real = type(tok).__call__

    def counting(self, *a, **k):
        calls.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(type(tok), "__call__", counting)
    return tok, calls


def todays_blocks(token_lists, eos_id, context):
    """The packing the trainer did before the data was prepared once (verbatim), the reference."""
    buffer: list[int] = []
    for ids in token_lists:
        buffer.extend(ids)
        if eos_id is not None:
            buffer.append(eos_id)
        while len(buffer) >= context:
            yield buffer[:context]
            buffer = buffer[context:]
    if len(buffer) > 1:
        yield buffer


def test_second_prepare_reuses_without_tokenizing(tmp_path, counted):
    tok, calls = counted
    first = prep.prepare(SPLITS, tok, context=32, packing=True, runs_root=tmp_path)
    assert not first.reused and calls and len(first.train) > 50 and len(first.validation) > 2
    assert first.path == tmp_path / ".prepared" / first.key
    calls.clear()
    second = prep.prepare(SPLITS, tok, context=32, packing=True, runs_root=tmp_path)
    assert second.reused and not calls and second.key == first.key
    assert list(second.train) == list(first.train) and list(second.validation) == list(first.validation)
    assert sorted(p.name for p in (tmp_path / ".prepared").iterdir()) == [first.key]  # no leftovers


@pytest.mark.parametrize("packing,context", [(True, 32), (True, 7), (False, 16)])
def test_blocks_are_todays_packing(tmp_path, tok_folder, packing, context):
    tok = tokenizer(tok_folder)
    got = prep.prepare(SPLITS, tok, context=context, packing=packing, runs_root=tmp_path)
    for split, texts in SPLITS.items():
        ids = tok(texts, add_special_tokens=False)["input_ids"]
        want = list(todays_blocks(ids, tok.eos_token_id, context)) if packing else [x[:context] for x in ids if x]
        assert list(getattr(got, split)) == want, split


def test_several_processes_pack_the_same_blocks(tmp_path, tok_folder):
    tok = tokenizer(tok_folder)
    texts = TEXTS * 30  # enough rows that each process gets batches of its own
    one = prep.prepare({"train": texts}, tok, context=32, packing=True, runs_root=tmp_path / "a", num_proc=1)
    two = prep.prepare({"train": texts}, tok, context=32, packing=True, runs_root=tmp_path / "b", num_proc=2)
    assert one.key == two.key and list(one.train) == list(two.train)
    assert prep.processes_for(10) == 1 and prep.processes_for(10**9) == (os.cpu_count() or 1)


def test_a_change_of_data_tokenizer_or_packing_prepares_again(tmp_path, tok_folder):
    tok = tokenizer(tok_folder)
    base = prep.prepare(SPLITS, tok, context=32, packing=True, runs_root=tmp_path)
    edited = {"train": [TEXTS[0] + "।", *TEXTS[1:100]], "validation": TEXTS[100:]}
    moved = {"train": TEXTS[:99], "validation": TEXTS[99:]}  # another validation split, same texts
    changes = [
        (edited, tok, 32, True),
        (moved, tok, 32, True),
        (SPLITS, tokenizer(tok_folder, add_tokens=["ଓଡ଼ିଆ"]), 32, True),
        (SPLITS, tok, 33, True),
        (SPLITS, tok, 32, False),
    ]
    keys = {base.key}
    for splits, t, context, packing in changes:
        again = prep.prepare(splits, t, context=context, packing=packing, runs_root=tmp_path)
        assert not again.reused and again.key not in keys
        keys.add(again.key)
    assert prep.prepare(SPLITS, tokenizer(tok_folder), context=32, packing=True, runs_root=tmp_path).reused


def test_an_interrupted_prepare_leaves_nothing_reusable(tmp_path, counted, monkeypatch):
    from datasets.arrow_writer import ArrowWriter

    tok, calls = counted
    real = ArrowWriter.write_batch

    def interrupted(self, *a, **k):
        real(self, *a, **k)
        raise KeyboardInterrupt  # Ctrl-C after the first blocks were written

    monkeypatch.setattr(ArrowWriter, "write_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prep.prepare(SPLITS, tok, context=32, packing=True, runs_root=tmp_path)
    assert list((tmp_path / ".prepared").iterdir()) == []
    monkeypatch.setattr(ArrowWriter, "write_batch", real)
    calls.clear()
    again = prep.prepare(SPLITS, tok, context=32, packing=True, runs_root=tmp_path)
    assert not again.reused and calls


KILLED = r"""
import os, sys
from types import SimpleNamespace
from datasets.arrow_writer import ArrowWriter
from tokenlens.finetune import prepare as prep
from tokenlens.finetune.models import load_tokenizer

real = ArrowWriter.write_batch
def killed(self, *a, **k):
    real(self, *a, **k)
    os._exit(9)  # as a kill -9 would: no cleanup runs
ArrowWriter.write_batch = killed
tok = load_tokenizer(SimpleNamespace(tokenizer=sys.argv[1], model=None, add_tokens=[]))
texts = [line for line in open(sys.argv[3], encoding="utf-8").read().split("\n") if line]
prep.prepare({"train": texts}, tok, context=32, packing=True, runs_root=sys.argv[2])
"""


def test_a_killed_prepare_is_never_reused_and_is_tidied(tmp_path, tok_folder):
    (tmp_path / "texts.txt").write_text("\n".join(SPLITS["train"]), encoding="utf-8")
    args = [str(tok_folder), str(tmp_path / "runs"), str(tmp_path / "texts.txt")]
    done = subprocess.run([sys.executable, "-c", KILLED, *args], env=os.environ, capture_output=True, text=True)
    assert done.returncode == 9, done.stderr[-2000:]
    left = list((tmp_path / "runs" / ".prepared").iterdir())
    assert len(left) == 1 and left[0].name.startswith(".tmp-")  # what the killed process left
    tok = tokenizer(tok_folder)
    again = prep.prepare({"train": SPLITS["train"]}, tok, context=32, packing=True, runs_root=tmp_path / "runs")
    assert not again.reused
    assert [p.name for p in (tmp_path / "runs" / ".prepared").iterdir()] == [again.key]


def test_dry_run_says_whether_prepared_data_is_reused(tmp_path, tok_folder, monkeypatch):
    from tokenlens.finetune.data import render_row, split

    monkeypatch.setenv("TOKENLENS_RUNS", str(tmp_path / "runs"))
    options = dict(from_scratch=True, tokenizer=str(tok_folder), context=32, validation=0.1, seed=3)
    report = ft.dry_run(TEXTS, **options)
    assert report.prepared == f"will prepare: {len(TEXTS)} texts, ~{report.tokens:,} tokens"
    assert report.prepared in str(report)
    # what the trainer prepares for these rows: the same split, rendered, with the run's tokenizer
    train, val = split([{"text": t} for t in TEXTS], 0.1, 3)
    tok = tokenizer(tok_folder)
    splits = {"train": [render_row(r, tok) for r in train], "validation": [render_row(r, tok) for r in val]}
    made = prep.prepare(splits, tok, context=32, packing=True, runs_root=tmp_path / "runs")
    report = ft.dry_run(TEXTS, **options)
    assert report.prepared == f"prepared data: reused from {made.key}" and report.prepared in str(report)
    assert ft.dry_run(TEXTS, **{**options, "context": 64}).prepared.startswith("will prepare:")
