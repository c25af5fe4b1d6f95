"""A pretrained model keeps its own vocabulary and its own length (issue 17 item 1): a tokenizer
that is not the model's own is refused even at the same size, and a model's position table sets
the default context and refuses a longer one. Tiny real models made here, no hub."""

from __future__ import annotations

import json

import pytest

import tokenlens.finetune as ft
from tokenlens.errors import InputError
from tokenlens.finetune.models import load_model, load_tokenizer
from tokenlens.finetune.spec import RunSpec

from .conftest import flores

pytestmark = pytest.mark.slow
SIZE = 600
TINY = dict(layers=1, width=32, heads=2, batch_size=4, max_steps=2, eval_steps=1000, save_steps=1000, device="cpu")


def _bpe(lines: list[str], folder):
    """A byte-level BPE of SIZE tokens trained on ``lines``, saved as folder/tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]
    )
    tok.train_from_iterator(lines, trainer)
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    return folder


@pytest.fixture(scope="module")
def work(tmp_path_factory, request):
    """Odia text, an Odia and an English BPE of the same size, and a model pretrained here on
    the Odia one with --context 64 (a position table of 64)."""
    root = tmp_path_factory.mktemp("ftvocab")
    odia = flores("ory_Orya")
    (root / "odia.txt").write_text("\n".join(odia[:200]), encoding="utf-8")
    _bpe(odia, root / "odia-bpe")
    _bpe(flores("eng_Latn"), root / "english-bpe")
    # the model's own tokens, two of them with their ids swapped: same tokens, same size
    spec = json.loads((root / "odia-bpe" / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    a, b = sorted(vocab, key=vocab.get)[300:302]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    (root / "swapped").mkdir()
    (root / "swapped" / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("TOKENLENS_RUNS", str(root / "runs"))
    request.addfinalizer(mp.undo)
    run = ft.finetune(
        str(root / "odia.txt"), "pre", from_scratch=True, tokenizer=str(root / "odia-bpe"), context=64, **TINY
    )
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(60)
    return root, run.dir.final


def test_tokenizers_of_the_same_size_are_really_different(work):
    root, model = work
    sizes = {len(load_tokenizer(RunSpec(name="x", tokenizer=str(root / n)))) for n in ("english-bpe", "swapped")}
    own = load_tokenizer(RunSpec(name="x", model=str(model)))
    assert sizes == {len(own)}


@pytest.mark.parametrize("other", ["english-bpe", "swapped"])
def test_a_foreign_tokenizer_of_the_same_size_is_refused(work, other):
    root, model = work
    for extra in ({}, {"add_tokens": ["<odia>"]}):  # new tokens do not make a foreign tokenizer fit
        with pytest.raises(InputError, match="not .* own tokenizer") as err:
            ft.finetune(str(root / "odia.txt"), "foreign", model=str(model), tokenizer=str(root / other), **extra)
        message = str(err.value)
        assert "another token's row" in message
        size = SIZE + len(extra.get("add_tokens", []))
        assert f"{other} ({size:,} tokens) is not" in message and f"own tokenizer ({SIZE:,} tokens)" in message
        assert "leave out --tokenizer" in message and "--add-tokens" in message and "--from-scratch" in message
    assert not (root / "runs" / "foreign").exists()
    with pytest.raises(InputError, match="not .* own tokenizer"):
        # the trainer checks too: a run started from print_command's line never went through finetune()
        spec = RunSpec(name="x", model=str(model), tokenizer=str(root / other), context=64)
        load_model(spec, load_tokenizer(spec))


def test_the_models_own_tokenizer_by_name_is_accepted_and_trains(work):
    root, model = work
    run = ft.finetune(
        str(root / "odia.txt"), "own", model=str(model), tokenizer=str(root / "odia-bpe"), add_tokens=["<odia>"], **TINY
    )
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(60)
    assert state.tokenizer_hash == state.tokenizer_hash_after


def test_the_models_position_table_is_the_default_context_and_the_limit(work):
    root, model = work
    data = str(root / "odia.txt")
    with pytest.raises(InputError, match=r"--context 128 is longer than .* positions for 64 tokens"):
        ft.finetune(data, "long", model=str(model), context=128, **TINY)
    assert not (root / "runs" / "long").exists()
    with pytest.raises(InputError, match="positions for 64 tokens"):
        ft.dry_run(data, model=str(model), context=128)
    assert ft.dry_run(data, model=str(model)).context == 64
    with pytest.raises(InputError, match="positions for 64 tokens"):
        spec = RunSpec(name="x", model=str(model), context=128)
        load_model(spec, load_tokenizer(spec))
    # left out, the context is the model's 64 (the default 256 crashed the trainer with IndexError)
    run = ft.finetune(data, "fits", model=str(model), **TINY)
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(60)
    assert run.dir.spec().context == 64
