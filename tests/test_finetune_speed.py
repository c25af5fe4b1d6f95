"""%finetune's speed switches on CPU: packed documents do not see each other (the loss of a
packed block is the loss of its documents trained alone), the switches reach the trainer and each
turns off, compilation works or falls back with a notice, events.jsonl records the switches."""

from __future__ import annotations

import json

import pytest
import torch

import tokenlens.finetune as ft
from tokenlens.finetune import speed
from tokenlens.finetune.events import fold, read_events
from tokenlens.finetune.spec import RunSpec

from .test_finetune import runs, workdir  # noqa: F401  (fixtures)

EOS = 0


def tiny_model(arch: str, attention: str):
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    torch.manual_seed(0)
    if arch == "gpt2":
        config = GPT2Config(vocab_size=50, n_positions=64, n_embd=32, n_layer=2, n_head=2)
    else:
        config = LlamaConfig(
            vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=64,
        )  # fmt: skip
    model = AutoModelForCausalLM.from_config(config)
    model.set_attn_implementation(attention)
    return model.eval()  # no dropout: the two sides must see the same network


DOCS = [[5, 9, 13, 2], [7, 7, 30, 41, 8, 3, 11], [19, 4, 6]]


def test_positions_restart_after_each_document_and_first_tokens_have_no_label():
    block = [5, 9, EOS, 7, 30, EOS, 19]
    assert speed.positions(block, EOS) == [0, 1, 2, 0, 1, 2, 0]
    batch = speed.PackedCollator(pad_id=1)(
        [
            {"input_ids": block, "position_ids": speed.positions(block, EOS)},
            {"input_ids": [4, 6], "position_ids": [0, 1]},
        ]
    )
    assert batch["labels"][0].tolist() == [-100, 9, EOS, -100, 30, EOS, -100]
    # the short row's padding is a segment of its own (positions from 0) with no labels
    assert batch["input_ids"][1].tolist() == [4, 6, 1, 1, 1, 1, 1]
    assert batch["position_ids"][1].tolist() == [0, 1, 0, 1, 2, 3, 4]
    assert batch["labels"][1].tolist() == [-100, 6, -100, -100, -100, -100, -100]
    assert (
        batch["use_cache"] is False and "attention_mask" not in batch
    )  # a mask would stop the model reading segments from the positions


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_packed_loss_equals_the_documents_trained_alone(arch, attention):
    model = tiny_model(arch, attention)
    block = [t for d in DOCS for t in d + [EOS]]
    batch = speed.PackedCollator(pad_id=1)([{"input_ids": block, "position_ids": speed.positions(block, EOS)}])
    with torch.no_grad():
        packed = model(**batch)
        n_packed = int((batch["labels"][0, 1:] != -100).sum())
        alone_sum, n_alone = 0.0, 0
        for d in DOCS:
            ids = torch.tensor([d + [EOS]])
            alone_sum += float(model(input_ids=ids, labels=ids).loss) * (ids.shape[1] - 1)
            n_alone += ids.shape[1] - 1
        plain = model(input_ids=batch["input_ids"], labels=batch["labels"])  # packed, documents see each other
    assert n_packed == n_alone
    assert float(packed.loss) == pytest.approx(alone_sum / n_alone, rel=1e-5)
    assert abs(float(plain.loss) - alone_sum / n_alone) > 1e-3  # the positions are what keep documents apart
    # each document's logits are its logits alone
    start = 0
    for d in DOCS:
        with torch.no_grad():
            alone = model(input_ids=torch.tensor([d + [EOS]])).logits[0]
        assert torch.allclose(packed.logits[0, start : start + len(d) + 1], alone, atol=1e-5)
        start += len(d) + 1


def test_plan_on_cuda_turns_every_switch_on_and_each_flag_turns_one_off():
    base = dict(name="r", data=["x"], from_scratch=True, tokenizer="gpt2")
    on = speed.plan(RunSpec(**base), cuda=True)
    assert on["compile"] and on["fused_adamw"] and on["batch_probe"] and on["packed_attention"]
    assert on["attention"] == ("flash_attention_2" if speed.installed("flash_attn") else "sdpa")
    assert on["liger"] == speed.installed("liger_kernel")
    assert speed.training_args(on) == {"optim": "adamw_torch_fused", "use_liger_kernel": on["liger"]}
    off = speed.plan(
        RunSpec(**base, compile=False, fused_adamw=False, liger=False, batch_probe=False, packed_attention=False,
                attention="eager"),
        cuda=True,
    )  # fmt: skip
    assert off["attention"] == "eager"
    for name, flag in [("compile", "--no-compile"), ("fused_adamw", "--no-fused-adamw"), ("liger", "--no-liger"),
                       ("batch_probe", "--no-batch-probe"), ("packed_attention", "--no-packed-attention")]:  # fmt: skip
        assert off[name] is False and off["off"][name] == f"{flag} given"
    assert speed.training_args(off) == {"optim": "adamw_torch", "use_liger_kernel": False}
    assert speed.plan(RunSpec(**base, attention="flash"), cuda=True)["attention"] == "flash_attention_2"
    cpu = speed.plan(RunSpec(**base), cuda=False)
    assert not cpu["compile"] and cpu["off"]["compile"] == "on CUDA only" and cpu["attention"] == "sdpa"
    assert not speed.plan(RunSpec(**base, packing=False), cuda=True)["packed_attention"]


def test_attention_choice_is_checked():
    with pytest.raises(ft.InputError, match="choose auto, eager, sdpa or flash"):
        RunSpec(name="r", data=["x"], from_scratch=True, tokenizer="gpt2", attention="flash3").validate()
    if not speed.installed("flash_attn"):
        with pytest.raises(SystemExit, match="pip install flash-attn"):
            speed.check_attention("flash_attention_2")


def test_compile_on_cpu_gives_the_same_loss_or_falls_back_with_one_line():
    model = tiny_model("gpt2", "sdpa").train()
    torch.manual_seed(1)
    ids = torch.randint(0, 50, (2, 16))
    model.eval()
    with torch.no_grad():
        eager = float(model(input_ids=ids, labels=ids).loss)
    said = []
    compiled = speed.compile_model(model, {"input_ids": ids, "labels": ids}, said.append)
    assert all(p.grad is None for p in model.parameters())  # the trial step leaves no gradient behind
    with torch.no_grad():
        again = float(model(input_ids=ids, labels=ids).loss)
    assert again == pytest.approx(eager, rel=1e-4)
    if compiled:
        assert not said and model._compiled_call_impl is not None
    else:
        assert len(said) == 1 and "\n" not in said[0] and said[0].startswith("torch.compile failed")


def test_a_failing_compile_falls_back_to_the_eager_model():
    model = tiny_model("gpt2", "sdpa")
    said = []
    # labels of the wrong shape fail the trial step as a failed compilation does
    ids = torch.zeros(1, 8, dtype=torch.long)
    assert not speed.compile_model(model, {"input_ids": ids, "labels": ids[:, :5]}, said.append)
    assert model._compiled_call_impl is None and len(said) == 1 and "training uncompiled" in said[0]
    ids = torch.randint(0, 50, (1, 8))
    assert torch.isfinite(model(input_ids=ids, labels=ids).loss)


def test_batch_probe_takes_the_largest_divisor_that_fits_once(tmp_path):
    tried = []

    def fits(m):
        tried.append(m)
        return m <= 5

    assert speed.probe_batch(tmp_path, 12, fits) == 4
    assert tried == [12, 6, 4]

    def never(m):
        raise AssertionError("probed twice")

    assert speed.probe_batch(tmp_path, 12, never) == 4  # kept: a resumed run steps the same way
    assert speed.probe_batch(tmp_path, 8, lambda m: m <= 2) == 2  # a new total probes again


def test_magic_flags_turn_switches_off_and_events_record_them(shell, workdir, runs):  # noqa: F811
    flags = (
        f"--data {workdir / 'odia.txt'} --name fast --from-scratch --tokenizer {workdir / 'odia-bpe'}"
        " --layers 1 --width 32 --heads 2 --context 32 --batch-size 4 --max-steps 3 --device cpu"
        " --sample-tokens 0 --validation 0 --no-compile --attention eager --no-liger --no-fused-adamw"
    )
    run = shell.run_cell(f"%finetune {flags}").result
    state = run.wait(timeout=600)
    assert state.status == "completed", run.log_tail(40)
    spec = json.loads(run.dir.spec_file.read_text())
    assert (spec["compile"], spec["attention"], spec["liger"], spec["fused_adamw"]) == (False, "eager", False, False)
    events = read_events(run.dir.events_file)[0]
    start = next(e for e in events if e["event"] == "start")
    sw = start["speed"]
    assert sw["attention"] == "eager" and sw["packed_attention"] is True
    assert sw["off"]["compile"] == "--no-compile given" and sw["off"]["liger"] == "--no-liger given"
    assert sw["off"]["fused_adamw"] == "--no-fused-adamw given"
    assert start["micro_batch"] == 4 and start["grad_accum"] == 1
    logs = [e for e in events if e["event"] == "log"]
    assert logs and all("mfu" in e for e in logs) and all(e["mfu"] is None for e in logs)  # no GPU peak on CPU
    assert fold(events).to_dict()["plan"]["speed"] == sw


def test_the_saved_view_shows_mfu_peak_memory_and_the_switches():
    from tokenlens.views.finetune import summary_html

    switches = speed.plan(RunSpec(name="r", data=["x"], from_scratch=True, tokenizer="gpt2", liger=False), cuda=True)
    state = fold(
        [
            {"event": "start", "time": 1.0, "speed": switches, "max_steps": 10},
            {
                "event": "log",
                "time": 2.0,
                "step": 5,
                "loss": 2.5,
                "tokens_per_s": 250000.0,
                "mfu": 0.412,
                "gpu_mem_gb": 21.5,
            },
        ]
    ).to_dict()
    assert state["mfu"] == 0.412 and state["switches"] == speed.describe(switches)
    page = summary_html("r", state)
    assert "41.2% of the GPU" in page and "21.5 GiB" in page and "250,000" in page
    assert "torch.compile" in page and "Liger kernels: --no-liger given" in page
