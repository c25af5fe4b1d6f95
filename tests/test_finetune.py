"""%finetune on CPU with tiny real training runs: loss falls, stop saves, a killed run resumes,
two processes train through the launcher, bad input is refused before anything starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tokenlens.finetune as ft
from tokenlens.errors import InputError
from tokenlens.finetune.events import read_events

from .conftest import flores

pytestmark = pytest.mark.slow
TINY = dict(
    from_scratch=True,
    layers=2,
    width=64,
    heads=2,
    context=64,
    batch_size=8,
    device="cpu",
    sample_prompt="ଓଡ଼ିଆ",
    sample_tokens=8,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Odia FLORES text and an Odia byte-level BPE trained here, as %train_tokenizer would."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    root = tmp_path_factory.mktemp("ft")
    lines = flores("ory_Orya")
    (root / "odia.txt").write_text("\n".join(lines[:400]), encoding="utf-8")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]
    )
    tok.train_from_iterator(lines, trainer)
    (root / "odia-bpe").mkdir()
    tok.save(str(root / "odia-bpe" / "tokenizer.json"))
    return root


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENLENS_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def events_of(run) -> list[dict]:
    return read_events(run.dir.events_file)[0]


def wait_for(predicate, timeout=300, poll=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError("condition not reached")


def test_from_scratch_loss_falls_and_tokenizer_is_unchanged(workdir, runs):
    run = ft.finetune(
        str(workdir / "odia.txt"),
        "odia-tiny",
        tokenizer=str(workdir / "odia-bpe"),
        max_steps=80,
        lr=3e-3,
        eval_steps=40,
        save_steps=40,
        **TINY,
    )
    state = run.wait(timeout=900)
    assert state.status == "completed", run.log_tail()
    losses = [v for _, v in state.loss]
    assert len(losses) >= 60
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 1.5, (first, last)  # clearly learning, not noise
    assert state.eval_loss and state.eval_loss[-1][1] < first
    assert state.tokenizer_hash and state.tokenizer_hash == state.tokenizer_hash_after
    kinds = [e["event"] for e in events_of(run)]
    assert {"start", "log", "eval", "sample", "checkpoint", "end"} <= set(kinds)
    # the result is a standard folder: from_pretrained loads it, safetensors only
    from transformers import AutoModelForCausalLM, AutoTokenizer

    final = run.dir.final
    assert (final / "model.safetensors").is_file() and not list(final.glob("*.bin"))
    model = AutoModelForCausalLM.from_pretrained(final)
    tok = AutoTokenizer.from_pretrained(final)
    assert model.config.vocab_size == len(tok) == 1000
    assert all((c / "COMPLETE").is_file() for c in run.dir.complete_checkpoints())
    # what the model now predicts, token by token, decoded back to text
    import tokenlens

    preds = tokenlens.next_tokens(flores("ory_Orya", "devtest")[0][:40], "odia-tiny", top_k=3)
    assert len(preds.positions) > 3 and all(len(p.top) == 3 for p in preds.positions)
    assert all(0 < p.top[0][2] <= 1 and p.top[0][2] >= p.top[1][2] for p in preds.positions)
    assert "\ufffd" not in preds._repr_html_() and "<script" not in preds._repr_html_()
    gen = tokenlens.generate("ଓଡ଼ିଆ", "odia-tiny", max_new_tokens=5)
    assert 1 <= len(gen.steps) <= 5 and gen.text == tok.decode([s["id"] for s in gen.steps], skip_special_tokens=True)
    drift = tokenlens.embedding_drift("odia-tiny", top=5)
    assert len(drift) == 5 and drift[0]["moved"] >= drift[-1]["moved"] > 0
    # re-attach from another process, as after a kernel restart
    code = "import tokenlens.finetune as ft; print(ft.attach('odia-tiny').state.status)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert out.stdout.strip() == "completed"


def test_stop_saves_then_resume_finishes(workdir, runs):
    run = ft.finetune(
        str(workdir / "odia.txt"),
        "stop-me",
        tokenizer=str(workdir / "odia-bpe"),
        max_steps=400,
        lr=1e-3,
        eval_steps=1000,
        save_steps=1000,
        **TINY,
    )
    wait_for(lambda: run.poll().step >= 5)
    run.stop()
    state = run.wait(timeout=300)
    assert state.status == "stopped", run.log_tail()
    stopped_at = state.step
    saved = [e for e in events_of(run) if e["event"] == "checkpoint"]
    assert saved and saved[-1]["reason"] == "stop" and saved[-1]["step"] == stopped_at
    assert run.dir.latest_checkpoint().name == f"checkpoint-{stopped_at}"
    resumed = run.resume()
    wait_for(lambda: resumed.poll().step > stopped_at)
    resumed.stop()
    state = resumed.wait(timeout=300)
    starts = [e for e in events_of(resumed) if e["event"] == "start"]
    assert starts[-1]["resumed_from"].endswith(f"checkpoint-{stopped_at}")
    assert state.status == "stopped" and state.step > stopped_at


def test_killed_run_resumes_from_last_complete_checkpoint(workdir, runs):
    run = ft.finetune(
        str(workdir / "odia.txt"),
        "kill-me",
        tokenizer=str(workdir / "odia-bpe"),
        max_steps=30,
        lr=1e-3,
        eval_steps=1000,
        save_steps=10,
        **TINY,
    )
    wait_for(lambda: run.dir.latest_checkpoint() is not None and run.poll().step >= 12)
    os.killpg(run.pid(), signal.SIGKILL)
    state = run.wait(timeout=60)
    kept = run.dir.latest_checkpoint()
    # not "stopped" (that is a stop on request): killed, by what, and where Resume continues
    assert kept is not None and state.status == "killed" and state.signal == "SIGKILL"
    assert state.resume_from == str(kept)
    assert f"killed (SIGKILL); resumable from {kept.name}" in repr(run)
    # a save the kill cut short: never resumed from, pruned when the trainer starts again
    torn = run.dir.checkpoints / "checkpoint-29"
    torn.mkdir()
    (torn / "model.safetensors").write_bytes(b"half")
    resumed = run.resume()
    state = resumed.wait(timeout=600)
    assert state.status == "completed", resumed.log_tail()
    assert state.step == 30  # the same step count as an uninterrupted run
    starts = [e for e in events_of(resumed) if e["event"] == "start"]
    assert starts[-1]["resumed_from"] == str(kept)
    assert not torn.exists() and all((c / "COMPLETE").is_file() for c in run.dir.all_checkpoints())


def test_a_signal_reads_killed_with_its_name_not_stopped(workdir, runs):
    run = ft.finetune(
        str(workdir / "odia.txt"),
        "term-me",
        tokenizer=str(workdir / "odia-bpe"),
        max_steps=400,
        eval_steps=1000,
        save_steps=1000,
        **TINY,
    )
    wait_for(lambda: run.poll().step >= 3)
    os.killpg(run.pid(), signal.SIGTERM)
    state = run.wait(timeout=120)
    end = [e for e in events_of(run) if e["event"] == "end"][-1]
    assert end["status"] == "killed" and end["signal"] == "SIGTERM"  # the trainer said so itself
    assert state.status == "killed" and state.signal == "SIGTERM" and "ended by SIGTERM at step" in state.error
    assert state.resume_from is None and "no complete checkpoint (Resume starts over)" in repr(run)
    assert not run.alive() and run.kill() is False


def test_magic_flags_and_python_keywords_make_the_same_run(shell, workdir, runs, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"body": line}) for line in flores("ory_Orya")[:40]), encoding="utf-8")
    tok = workdir / "odia-bpe"
    flags = (
        f"--from-scratch --tokenizer {tok} --arch llama --layers 1 --width 32 --heads 2 --context 32"
        " --text-field body --validation 0.2 --no-packing --warmup 0.1 --add-tokens <a>,<b>"
        " --lora-targets q_proj,v_proj --max-steps 100000 --device cpu --sample-tokens 0"
    )
    magic = shell.run_cell(f"%finetune --data {rows} --name via-magic {flags}").result
    magic.kill()
    python = ft.finetune(
        str(rows), "via-python", from_scratch=True, tokenizer=str(tok), arch="llama", layers=1, width=32, heads=2,
        context=32, text_field="body", validation=0.2, packing=False, warmup=0.1, add_tokens=["<a>", "<b>"],
        lora_targets=["q_proj", "v_proj"], max_steps=100000, device="cpu", sample_tokens=0,
    )  # fmt: skip
    python.kill()
    a, b = json.loads(magic.dir.spec_file.read_text()), json.loads(python.dir.spec_file.read_text())
    assert a.pop("name") == "via-magic" and b.pop("name") == "via-python"
    assert a == b and a["layers"] == 1 and a["packing"] is False and a["add_tokens"] == ["<a>", "<b>"]


def test_two_processes_through_torchrun(workdir, runs):
    run = ft.finetune(
        str(workdir / "odia.txt"),
        "ddp",
        tokenizer=str(workdir / "odia-bpe"),
        launcher="torchrun",
        num_processes=2,
        main_port=29517,
        max_steps=6,
        eval_steps=1000,
        save_steps=1000,
        **TINY,
    )
    assert "torch.distributed.run --nproc_per_node 2" in run.command()
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(60)
    start = [e for e in events_of(run) if e["event"] == "start"][0]
    assert start["world_size"] == 2 and state.step == 6
    # rank 0 prepared the data while rank 1 waited, then rank 1 read what rank 0 kept
    log = run.dir.log_file.read_text(errors="replace")
    assert log.count("prepared data: made as ") == 1 and log.count("prepared data: reused from ") == 1, log[-3000:]
    # the dry run finds what the trainer kept: both compute one key for the same data and settings
    key = log.split("prepared data: made as ", 1)[1].split()[0]
    report = ft.dry_run(str(workdir / "odia.txt"), tokenizer=str(workdir / "odia-bpe"), **TINY)
    assert report.prepared == f"prepared data: reused from {key}"


def test_prompt_completion_rows_train_with_trl(workdir, runs, tmp_path):
    rows = [{"prompt": f"Q: {line[:40]}\nA:", "completion": f" {line[40:80]}"} for line in flores("eng_Latn")[:64]]
    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", encoding="utf-8")
    tok_dir = workdir / "odia-bpe"
    with pytest.raises(InputError, match=r"qa.jsonl, line 65: not JSON"):
        ft.finetune(str(data), "qa", tokenizer=str(tok_dir), bad_rows="fatal", max_steps=3, **TINY)
    assert not (runs / "qa").exists()  # a refused run leaves nothing behind
    run = ft.finetune(str(data), "qa", tokenizer=str(tok_dir), max_steps=4, eval_steps=1000, save_steps=1000, **TINY)
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(60)
    start = [e for e in events_of(run) if e["event"] == "start"][0]
    assert start["kind"] == "prompt_completion" and start["skipped_rows"] == 1


@pytest.fixture(scope="module")
def small_model(workdir):
    """A tiny GPT-2 saved as safetensors, to fine-tune as a local folder."""
    from transformers import AutoModelForCausalLM, GPT2Config, PreTrainedTokenizerFast

    folder = workdir / "tiny-gpt2"
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(workdir / "odia-bpe" / "tokenizer.json"), eos_token="<|endoftext|>"
    )
    eos = tok.eos_token_id
    model = AutoModelForCausalLM.from_config(
        GPT2Config(
            vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=1, n_head=2, bos_token_id=eos, eos_token_id=eos
        )
    )
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_finetune_local_model_with_lora_and_added_tokens(workdir, runs, small_model):
    run = ft.finetune(
        str(workdir / "odia.txt"),
        "lora",
        model=str(small_model),
        lora_r=4,
        add_tokens=["<odia>"],
        max_steps=4,
        eval_steps=1000,
        save_steps=1000,
        context=32,
        batch_size=4,
        device="cpu",
    )
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(60)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(run.dir.final)
    assert model.get_input_embeddings().weight.shape[0] == 1001  # grew by the added token


def test_bad_models_and_names_are_refused(workdir, runs, small_model, tmp_path):
    from transformers import T5Config

    T5Config(vocab_size=100, d_model=32, num_layers=1, num_heads=2, d_ff=32).save_pretrained(tmp_path / "t5")
    data = str(workdir / "odia.txt")
    with pytest.raises(InputError, match="not a causal language model"):
        ft.finetune(data, "b1", model=str(tmp_path / "t5"), tokenizer=str(workdir / "odia-bpe"))
    with pytest.raises(InputError, match="embeddings for"):
        ft.finetune(data, "b2", model=str(small_model), tokenizer="bert-base-uncased")
    with pytest.raises(InputError, match="--qlora needs a CUDA GPU"):
        ft.finetune(data, "q", model=str(small_model), qlora=True, device="cpu")
    with pytest.raises(InputError, match="No file matches"):
        ft.finetune(str(tmp_path / "missing-*.txt"), "b3", model=str(small_model))
    with pytest.raises(InputError, match="not a usable run name"):
        ft.finetune(data, "../escape", model=str(small_model))
    ft.finetune(data, "taken", model=str(small_model), max_steps=1, device="cpu", context=32).wait(timeout=300)
    with pytest.raises(InputError, match="A run named 'taken' exists"):
        ft.finetune(data, "taken", model=str(small_model))
    # #15 item 2: a typo in the data of an overwrite leaves the old run, final model and all
    kept = {p: p.read_bytes() for p in (runs / "taken").rglob("*") if p.is_file()}
    assert any(p.parent.name == "final" for p in kept) and ft.attach("taken").dir.latest_checkpoint()
    with pytest.raises(InputError, match="typo-train.txt"):
        ft.finetune(str(tmp_path / "typo-train.txt"), "taken", overwrite=True, model=str(small_model))
    assert {p: p.read_bytes() for p in (runs / "taken").rglob("*") if p.is_file()} == kept
    # a model whose weights are only a pickle (.bin): never loaded
    import shutil

    shutil.copytree(small_model, tmp_path / "pickled")
    (tmp_path / "pickled" / "model.safetensors").rename(tmp_path / "pickled" / "pytorch_model.bin")
    run = ft.finetune(data, "pickled", model=str(tmp_path / "pickled"), max_steps=1, device="cpu", context=32)
    state = run.wait(timeout=300)
    assert state.status == "failed" and "safetensors" in state.error


def test_magic_dry_run_and_print_command(shell, workdir, runs, capsys):
    tok = workdir / "odia-bpe"
    report = shell.run_cell(
        f"%finetune --from-scratch --tokenizer {tok} --data {workdir / 'odia.txt'} --context 64 --batch-size 8 --dry-run"
    ).result
    assert report.tokens > 10_000 and report.total_steps == report.steps_per_epoch
    assert "training sequences" in str(report)
    shell.run_cell(
        f"%finetune --from-scratch --tokenizer {tok} --data {workdir / 'odia.txt'} --name big --launcher accelerate"
        " --num-processes 8 --num-machines 2 --machine-rank 1 --main-address 10.1.2.3 --print-command"
    )
    out = capsys.readouterr().out
    assert "accelerate.commands.launch --num_processes 16 --num_machines 2 --machine_rank 1" in out
    assert "--main_process_ip 10.1.2.3" in out and "tokenlens.finetune.trainer" in out
    assert not (runs / "big").exists()  # printing starts nothing
    shell.user_ns["texts"] = flores("ory_Orya")[:50]
    report = shell.run_cell(f"%finetune --from-scratch --tokenizer {tok} --data texts --context 32 --dry-run").result
    assert report.rows == 50 and report.kind == "text"


def test_magic_errors(shell, capsys):
    r = shell.run_cell("%finetune --data nothing-here.txt --model x --name a")
    assert not r.success and "No such file or folder: 'nothing-here.txt'" in str(r.error_in_exec)
    r = shell.run_cell("%finetune --attach never-ran")
    assert not r.success and "No run named 'never-ran'" in str(r.error_in_exec)
    capsys.readouterr()
    assert shell.run_cell("%finetune --help").success
    assert "--from-scratch" in capsys.readouterr().out


def test_runs_need_no_kernel(workdir, runs):
    """The trainer is a process of its own session: interrupting the kernel does not touch it."""
    run = ft.finetune(
        str(workdir / "odia.txt"),
        "session",
        tokenizer=str(workdir / "odia-bpe"),
        max_steps=400,
        eval_steps=1000,
        save_steps=1000,
        **TINY,
    )
    try:
        assert os.getpgid(run.pid()) == run.pid() != os.getpgid(0)
    finally:
        assert run.kill() is True
    assert Path(run.dir.pid_file).is_file()


def test_chat_rows_train_through_the_chat_template(workdir, runs, tmp_path):
    """messages rows are rendered with the tokenizer's chat template; the loss is on the answers."""
    import shutil

    tok_dir = tmp_path / "chat-tok"
    shutil.copytree(workdir / "odia-bpe", tok_dir)
    template = (
        "{% for m in messages %}<|endoftext|>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|endoftext|>assistant: {% endif %}"
    )
    (tok_dir / "tokenizer_config.json").write_text(
        json.dumps(
            {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>", "chat_template": template}
        )
    )
    lines = flores("eng_Latn")[:40]
    rows = [
        {"messages": [{"role": "user", "content": a[:50]}, {"role": "assistant", "content": b[:50]}]}
        for a, b in zip(lines[::2], lines[1::2])
    ]
    data = tmp_path / "chat.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    short = ft.finetune(str(data), "chat-short", tokenizer=str(tok_dir), max_steps=3, **{**TINY, "context": 16})
    state = short.wait(timeout=600)
    assert state.status == "failed" and "raise --context" in state.error  # prompts fill 16 tokens
    run = ft.finetune(
        str(data),
        "chat",
        tokenizer=str(tok_dir),
        max_steps=3,
        eval_steps=1000,
        save_steps=1000,
        **{**TINY, "context": 256, "batch_size": 4},
    )
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(60)
    start = [e for e in events_of(run) if e["event"] == "start"][0]
    assert start["kind"] == "messages" and start["train_rows"] + start["val_rows"] == 20


def test_attach_names_the_runs_there_are(workdir, runs, small_model):
    ft.finetune(
        str(workdir / "odia.txt"), "one-run", model=str(small_model), max_steps=1, device="cpu", context=32
    ).wait(timeout=300)
    with pytest.raises(InputError, match="No run named 'other'.*Runs: one-run"):
        ft.attach("other")
