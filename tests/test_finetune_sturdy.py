"""%finetune's files and processes under faults (issue 15, items 2 and 8): nothing the person had
is lost when a command fails or a process dies mid-way, and a run's liveness is its trainer's
lock, not a PID.

Faults are injected with monkeypatch (a rename that fails, a write that runs out of room) or
made on disk as a crash leaves them; processes are real (stand-ins that hold a run's lock the way
the trainer does, and the real trainer module for the lock it takes).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import tokenlens.finetune as ft
from tokenlens.errors import InputError
from tokenlens.finetune import launcher, lock, swap
from tokenlens.finetune.events import EventWriter, read_events
from tokenlens.finetune.launcher import Run
from tokenlens.finetune.spec import RunDir, RunSpec

from ._run_lock import StandIn, folder_held_elsewhere
from .conftest import flores


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENLENS_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    """A small byte-level BPE trained here on FLORES, saved as a tokenizer folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        flores("eng_Latn")[:200],
        trainers.BpeTrainer(
            vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]
        ),
    )
    folder = tmp_path_factory.mktemp("tok") / "tiny-bpe"
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    fast.save_pretrained(folder)
    return folder


def tiny_model(folder: Path, tok_dir: Path):
    """A one-layer GPT-2 for the tokenizer in ``tok_dir``, saved with it in ``folder``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config

    tok = AutoTokenizer.from_pretrained(tok_dir)
    config = GPT2Config(vocab_size=len(tok), n_positions=16, n_embd=8, n_layer=1, n_head=2)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model, tok


@pytest.fixture
def stand_in():
    s = StandIn()
    yield s
    s.end()


def write_run(base: Path, name: str, status: str | None = "completed") -> RunDir:
    """A run folder as a finished trainer leaves it: spec, events, a complete checkpoint, final/."""
    rd = RunDir(base / name)
    rd.write_spec(RunSpec(name=name, data=["train.txt"], model="gpt2"))
    w = EventWriter(rd.events_file)
    w.write("start", max_steps=4)
    w.write("log", step=2, loss=3.0)
    ckpt = rd.checkpoints / "checkpoint-2"
    ckpt.mkdir(parents=True)
    (ckpt / "model.safetensors").write_bytes(b"weights-2")
    (ckpt / "COMPLETE").write_text("1")
    w.write("checkpoint", step=2, path=str(ckpt), reason="steps")
    if status == "completed":
        rd.final.mkdir()
        (rd.final / "model.safetensors").write_bytes(b"final weights")
        w.write("end", status="completed", step=4, final=str(rd.final))
    return rd


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden(base: Path) -> list[str]:
    if not base.is_dir():
        return []
    # .prepared is the cache of tokenized data a trainer fills (finetune/prepare.py), not a leftover
    return sorted(p.name for p in base.iterdir() if p.name.startswith(".") and p.name not in (".lock", ".prepared"))


# -- one vocabulary for the magic and the Python API ------------------------------------------


def test_every_option_is_one_name_with_one_default(shell):
    """Each RunSpec option is the magic's --flag of the same name; an unset flag passes nothing,
    so the default is RunSpec's own."""
    from tokenlens.finetune.spec import options
    from tokenlens.magics.finetune import FinetuneMagics

    parser = FinetuneMagics.finetune.parser
    flags = parser._option_string_actions
    for f in options():
        flag = "--" + f.name.replace("_", "-")
        assert flag in flags and flags[flag].dest == f.name, flag
    assert not any(hasattr(parser.parse_argstring(""), f.name) for f in options())
    for old in ("--field", "--n-layer", "--validation-split", "--warmup-ratio"):
        assert old not in flags


def test_old_keywords_warn_and_unknown_ones_are_refused(runs, tmp_path):
    from tokenlens.finetune.spec import spec_options

    old = {"n_layer": 2, "n_embd": 64, "n_head": 2, "validation_split": 0.2, "warmup_ratio": 0.1}
    with pytest.warns(DeprecationWarning) as caught:
        assert spec_options(old) == {"layers": 2, "width": 64, "heads": 2, "validation": 0.2, "warmup": 0.1}
    assert len(caught) == 5 and "finetune(..., n_layer=) is now layers=" in str(caught[0].message)
    data = tmp_path / "t.txt"
    data.write_text("hello world\n" * 20)
    with pytest.raises(InputError, match=r"'n_layers' is not an option of a run\. Did you mean layers"):
        ft.finetune(str(data), "typo", model="gpt2", n_layers=2)
    assert not (runs / "typo").exists() and hidden(runs) == []


def test_a_spec_saved_before_the_rename_keeps_its_settings(tmp_path):
    old = {"name": "old", "data": ["a.txt"], "n_layer": 2, "n_embd": 64, "n_head": 2, "validation_split": 0.0}
    spec = RunSpec.from_json(json.dumps({**old, "warmup_ratio": 0.25}))
    assert (spec.layers, spec.width, spec.heads, spec.validation, spec.warmup) == (2, 64, 2, 0.0, 0.25)


# -- states that say what happened -------------------------------------------------------------


def test_status_words_name_the_signal_and_the_checkpoint(runs):
    rd = write_run(runs, "sig", status=None)
    EventWriter(rd.events_file).write("end", status="killed", signal="SIGTERM", step=3)
    state = Run(rd).poll()
    assert state.status == "killed" and state.signal == "SIGTERM"
    assert "ended by SIGTERM at step 3" in state.error
    assert repr(Run(rd)).startswith("<Run 'sig' killed (SIGTERM); resumable from checkpoint-2, step 3/4")
    shutil_rm(rd.checkpoints)
    assert "killed (SIGTERM); no complete checkpoint (Resume starts over)" in repr(Run(rd))


def shutil_rm(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


def test_list_runs_shows_each_state(runs):
    write_run(runs, "a-done")
    rd = write_run(runs, "b-stopped", status=None)
    EventWriter(rd.events_file).write("end", status="stopped", step=2)
    write_run(runs, "c-gone", status=None).pid_file.write_text("999999999")
    listed = ft.list_runs()
    assert [r.name for r in listed] == ["a-done", "b-stopped", "c-gone"]
    text = repr(listed)
    assert "completed" in text.splitlines()[0]
    assert "stopped; resumable from checkpoint-2" in text.splitlines()[1]
    assert "killed (no final event); resumable from checkpoint-2" in text.splitlines()[2]
    assert "<table>" in listed._repr_html_() and "c-gone" in listed._repr_html_()


def test_magic_list_returns_the_runs_with_states(shell, runs):
    write_run(runs, "shown")
    result = shell.run_cell("%finetune --list").result
    assert [r.name for r in result] == ["shown"] and "completed" in repr(result)


# -- liveness is the lock ----------------------------------------------------------------------


def test_a_reused_pid_does_not_keep_a_run_alive_nor_get_killed(runs):
    """The pid file names a live process that is not the trainer (the PID was reused)."""
    rd = write_run(runs, "reused", status=None)
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        rd.pid_file.write_text(str(other.pid))
        run = Run(rd)
        assert not run.alive()
        assert run.poll().status == "killed"
        assert run.kill() is False
        assert other.poll() is None  # the unrelated process lives on
    finally:
        other.kill()
        other.wait()


def test_kill_only_the_process_group_that_holds_the_lock(runs, stand_in):
    rd = write_run(runs, "held", status=None)
    holder = stand_in.hold(rd.lock_file)
    assert holder.answer == "held"
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        rd.pid_file.write_text(str(other.pid))  # a pid file that does not match the lock's holder
        run = Run(rd)
        assert run.alive()
        with pytest.raises(InputError, match=rf"trained by process group {holder.pid}, not {other.pid}"):
            run.kill()
        assert other.poll() is None and holder.poll() is None
        rd.pid_file.write_text(str(holder.pid))
        assert run.kill() is True
        assert holder.wait(timeout=10) == -signal.SIGKILL
        state = run.poll()
        assert not run.alive() and state.status == "killed" and state.signal == "SIGKILL"
        assert [e for e in read_events(rd.events_file)[0] if e["event"] == "exit"][-1]["by"] == "Run.kill()"
    finally:
        other.kill()
        other.wait()


def test_resume_is_refused_while_a_trainer_holds_the_lock(runs, stand_in):
    rd = write_run(runs, "busy", status=None)
    EventWriter(rd.events_file).write("end", status="stopped", step=2)
    holder = stand_in.hold(rd.lock_file)
    with pytest.raises(InputError, match=rf"is running \(trainer process {holder.pid}\), so it cannot be resumed"):
        ft.attach("busy").resume()
    assert not rd.command_file.exists()  # nothing was launched


def test_a_second_trainer_of_one_run_stops_without_writing(runs, stand_in):
    """Two kernels resumed one run at once: the trainer that finds the lock taken leaves."""
    rd = write_run(runs, "twice", status=None)
    holder = stand_in.hold(rd.lock_file)
    before = rd.events_file.read_bytes()
    with pytest.raises(InputError, match="ended before it started") as info:
        launcher.start(rd.spec(), rd, resume=True)
    assert f"being trained by process {holder.pid}" in str(info.value)
    assert rd.events_file.read_bytes() == before  # the running trainer's state is its own
    assert holder.poll() is None


def test_the_trainer_holds_the_lock_for_its_life(runs, stand_in):
    rd = write_run(runs, "mine", status=None)
    code = "import sys; from tokenlens.finetune import lock; from pathlib import Path; print(lock.acquire(Path(sys.argv[1])))"
    out = subprocess.run([sys.executable, "-c", code, str(rd.lock_file)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert lock.holder(rd.lock_file) is None  # its process ended: the lock went with it
    holder = stand_in.hold(rd.lock_file)
    record = lock.holder(rd.lock_file)
    assert record["pid"] == holder.pid == record["pgid"]
    assert stand_in.hold(rd.lock_file).answer == "taken"


# -- --overwrite keeps the old run until the new one has started -------------------------------


def test_overwrite_with_a_typo_keeps_the_old_run(runs):
    """#15 item 2: the old run (final/ and a complete checkpoint) survives a refused overwrite."""
    rd = write_run(runs, "old-run")
    before = snapshot(rd.path)
    with pytest.raises(InputError, match="typo-train.txt"):
        ft.finetune("typo-train.txt", "old-run", overwrite=True, model="gpt2")
    assert snapshot(rd.path) == before
    assert hidden(runs) == []


def test_overwrite_whose_trainer_does_not_start_puts_the_old_run_back(runs, tmp_path, tok_dir, monkeypatch):
    rd = write_run(runs, "old-run")
    before = snapshot(rd.path)
    data = tmp_path / "train.txt"
    data.write_text("hello world\n" * 50)
    monkeypatch.setattr(launcher, "TRAIN_MODULE", "tokenlens.finetune.no_such_trainer")
    with pytest.raises(InputError, match=r"(?s)ended before it started \(exit code 1\).*No module named"):
        ft.finetune(str(data), "old-run", overwrite=True, from_scratch=True, tokenizer=str(tok_dir), device="cpu")
    assert snapshot(rd.path) == before
    assert hidden(runs) == []


def test_overwrite_replaces_the_old_run_once_the_new_trainer_holds_its_lock(runs, tmp_path, tok_dir, monkeypatch):
    rd = write_run(runs, "old-run")
    data = tmp_path / "train.txt"
    data.write_text("hello world\n" * 50)
    seen = {}
    real_start = launcher.start

    def start_and_look(spec, run, resume=False):
        seen["old kept aside"] = [p.name for p in swap.leftovers(run.path)]
        return real_start(spec, run, resume)

    monkeypatch.setattr("tokenlens.finetune.runs.start", start_and_look)
    run = ft.finetune(
        [{"text": "hello world"}] * 40, "old-run", overwrite=True, from_scratch=True, tokenizer=str(tok_dir),
        layers=1, width=16, heads=2, context=16, max_steps=10**6, device="cpu",
    )  # fmt: skip
    try:
        assert len(seen["old kept aside"]) == 1 and seen["old kept aside"][0].startswith(".old-run.old-")
        assert run.alive() and hidden(runs) == []
        assert not rd.final.exists() and not rd.checkpoints.exists()  # the old run is gone now
        spec = rd.spec()
        assert spec.layers == 1 and spec.data == [str(rd.data_dir / "train.jsonl")]
        assert (rd.data_dir / "train.jsonl").read_text().count("hello world") == 40
    finally:
        run.kill()


def test_leftovers_of_a_crash_mid_swap_are_put_back_or_removed(runs):
    """Crashed after moving the old run aside (nothing in its place): it comes back. Crashed
    after the swap: the aside copy goes. A run being prepared when its kernel died: it goes."""
    rd = write_run(runs, "moved")
    before = snapshot(rd.path)
    os.rename(rd.path, runs / ".moved.old-0123abcd")
    write_run(runs, "swapped")
    (runs / ".swapped.old-89abcdef").mkdir()
    (runs / ".half.new-00112233").mkdir()
    assert [r.name for r in ft.list_runs()] == ["moved", "swapped"]
    assert snapshot(rd.path) == before and hidden(runs) == []


def test_listing_leaves_leftovers_alone_while_a_change_is_under_way(runs):
    write_run(runs, "keep")
    (runs / ".keep.old-0123abcd").mkdir()
    with folder_held_elsewhere(runs):
        ft.list_runs()
        assert hidden(runs) == [".keep.old-0123abcd"]
    ft.list_runs()
    assert hidden(runs) == []


# -- the final model, checkpoints, GGUF files, the tokenizer registry --------------------------


def test_a_failed_swap_of_final_keeps_the_old_final(tmp_path, tok_dir, monkeypatch):
    """The trainer's save of final/ (a completed run resumed saves it again): a failure while the
    new one is renamed in leaves the old one whole."""
    from tokenlens.finetune.trainer import save_final

    final = tmp_path / "final"
    final.mkdir()
    (final / "model.safetensors").write_bytes(b"the model trained before")
    model, tok = tiny_model(tmp_path / "source", tok_dir)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name == "final.tmp":
            raise OSError(errno.EIO, "I/O error", str(dst))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="I/O error"):
        save_final(model, tok, final)
    assert (final / "model.safetensors").read_bytes() == b"the model trained before"
    monkeypatch.undo()
    save_final(model, tok, final)
    assert (final / "config.json").is_file() and not swap.leftovers(final)


def test_final_moved_aside_by_a_dead_trainer_comes_back(runs):
    rd = write_run(runs, "crashed")
    os.rename(rd.final, rd.path / ".final.old-0123abcd")
    ft.attach("crashed")
    assert (rd.final / "model.safetensors").read_bytes() == b"final weights" and not swap.leftovers(rd.final)


def test_incomplete_checkpoints_are_pruned_never_the_newest_complete(tmp_path):
    rd = RunDir(tmp_path / "r")
    for step, complete in ((1, False), (2, True), (3, False), (4, True), (5, True), (6, False)):
        c = rd.checkpoints / f"checkpoint-{step}"
        c.mkdir(parents=True)
        if complete:
            (c / "COMPLETE").write_text("1")
    rd.prune_checkpoints(keep=2)
    assert [p.name for p in rd.all_checkpoints()] == ["checkpoint-4", "checkpoint-5"]
    rd.prune_checkpoints(keep=0)
    assert [p.name for p in rd.all_checkpoints()] == ["checkpoint-5"]


def test_a_failed_gguf_export_leaves_no_tmp_file(tmp_path, tok_dir, monkeypatch):
    import gguf

    from tokenlens.gguf.export import export_gguf

    folder = tmp_path / "model"
    tiny_model(folder, tok_dir)
    real = gguf.GGUFWriter.write_tensors_to_file

    def disk_full(self, *a, **k):
        real(self, *a, **k)  # the whole file is on disk: the failure comes at the very end
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_gguf(folder, dtype="f32")
    assert sorted(p.name for p in folder.iterdir() if "gguf" in p.name) == []
    monkeypatch.undo()
    done = export_gguf(folder, dtype="f32")
    assert done.gguf.is_file() and not list(folder.glob("*.tmp"))


def test_registry_leftovers_are_tidied_when_provably_stale(tmp_path, tok_dir):
    """A save that died between its two renames left the old tokenizer aside (nothing in its
    place): it comes back at the next listing. One that died after them left a copy that goes."""
    import tokenlens
    from tokenlens.core.resolve import registry_dir
    from tokenlens.vocab.registry import save_atomically

    reg = registry_dir()
    reg.mkdir(parents=True, exist_ok=True)
    tok_json = (tok_dir / "tokenizer.json").read_text()
    save_atomically("mine-a", {"tokenizer.json": tok_json})
    save_atomically("mine-b", {"tokenizer.json": tok_json})
    os.rename(reg / "mine-a", reg / ".old-mine-a-0123abcd")  # died between its renames
    (reg / ".old-mine-b-89abcdef").mkdir()  # died after them
    (reg / ".tmp-mine-c-ab_cd12x").mkdir()  # died while writing
    with folder_held_elsewhere(reg):  # a save under way elsewhere
        names = {e.name for e in tokenlens.available(include_hub_cache=False)}
        assert "mine-a" not in names and (reg / ".old-mine-a-0123abcd").is_dir()  # not touched meanwhile
    names = {e.name for e in tokenlens.available(include_hub_cache=False)}
    assert {"mine-a", "mine-b"} <= names
    assert (reg / "mine-a" / "tokenizer.json").read_text() == tok_json
    assert sorted(p.name for p in reg.iterdir() if p.name.startswith(".") and p.name != ".lock") == []
