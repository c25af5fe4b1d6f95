"""The trainer process: ``python -m tokenlens.finetune.trainer RUN_DIR [--resume]``.

Started by the launcher (plain Python, ``accelerate launch`` or ``torchrun``) in its own process
session, never in the kernel. It trains with the transformers Trainer (TRL's SFTTrainer for
prompt/completion and chat rows, loss on the answers only), reports to events.jsonl, saves
checkpoints that are marked complete only once fully written, stops (after saving) when the
run folder holds a STOP file, and resumes from the newest complete checkpoint.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from tokenlens.finetune import lock, speed, swap
from tokenlens.finetune.data import read_rows, render_row, split
from tokenlens.finetune.events import EventWriter, killed_message, perplexity, signal_name
from tokenlens.finetune.models import load_model, load_tokenizer, tokenizer_hash
from tokenlens.finetune.spec import RunDir, RunSpec


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _world() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


class _Quiet:
    """A writer for ranks other than 0: only rank 0 reports."""

    def write(self, *_a, **_k):
        return {}


def _precision(spec: RunSpec) -> dict:
    import torch

    cuda = torch.cuda.is_available() and spec.device != "cpu"
    if spec.precision == "bf16" or (spec.precision == "auto" and cuda and torch.cuda.is_bf16_supported()):
        return {"bf16": True}
    if spec.precision == "fp16":
        if not cuda:
            raise SystemExit("fp16 needs a CUDA GPU; use --precision fp32 or bf16 on this machine.")
        return {"fp16": True}
    return {}


class _Blocks:
    """Token blocks as a map-style dataset (all the Trainer needs; no extra library)."""

    def __init__(self, blocks: list[list[int]], eos_id: int | None = None, packed: bool = False):
        self.blocks = blocks
        self.eos_id = eos_id
        self.packed = packed

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict:
        if self.packed:
            return {"input_ids": self.blocks[i], "position_ids": speed.positions(self.blocks[i], self.eos_id)}
        return {"input_ids": self.blocks[i]}


def _text_datasets(spec, tok, train_rows, val_rows, packed: bool, runs_root: Path):
    """Token blocks, tokenized and packed once per data, tokenizer and packing (finetune/prepare.py)."""
    from tokenlens.finetune.prepare import prepare

    splits = {"train": [render_row(r, tok) for r in train_rows], "validation": [render_row(r, tok) for r in val_rows]}
    prepared = prepare(splits, tok, context=spec.context, packing=spec.packing, runs_root=runs_root)
    print(f"prepared data: {'reused from' if prepared.reused else 'made as'} {prepared.key}", flush=True)

    def blocks(split):
        return _Blocks(split, tok.eos_token_id, packed) if split else None

    return blocks(prepared.train), blocks(prepared.validation)


def _sft_rows(rows, tok):
    """prompt/completion and chat rows as TRL's conversational prompt/completion rows."""
    out = []
    for r in rows:
        if "messages" in r:
            msgs = r["messages"]
            last = (
                max(i for i, m in enumerate(msgs) if m["role"] == "assistant")
                if any(m["role"] == "assistant" for m in msgs)
                else None
            )
            if last is None:
                continue
            out.append({"prompt": msgs[:last], "completion": [msgs[last]]})
        else:
            out.append({"prompt": r["prompt"], "completion": r["completion"]})
    return out


def _callbacks(spec: RunSpec, run: RunDir, events, tok, tokens_per_step: int, flops: float | None = None):
    import torch
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        """Progress, evaluations, samples and complete checkpoints into events.jsonl."""

        def __init__(self):
            self.reason = "steps"
            self.last_time = None
            self.last_step = 0
            self.last_save = time.time()
            self.model = None

        def on_train_begin(self, args, state, control, model=None, **kw):
            self.model = model
            self.last_time, self.last_step = time.time(), state.global_step
            _STEP[0] = state.global_step
            events.write("status", status="running", step=state.global_step)

        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            now = time.time()
            if "loss" in logs:
                steps = state.global_step - self.last_step
                rate = tokens_per_step * steps / (now - self.last_time) if steps and now > self.last_time else None
                self.last_time, self.last_step = now, state.global_step
                # allocator counters, read on the host: no wait for the GPU
                mem = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
                events.write(
                    "log",
                    step=state.global_step,
                    epoch=state.epoch,
                    loss=logs["loss"],
                    perplexity=perplexity(logs["loss"]),
                    lr=logs.get("learning_rate"),
                    grad_norm=logs.get("grad_norm"),
                    tokens_per_s=rate,
                    mfu=rate * flops if rate and flops else None,
                    gpu_mem_gb=mem,
                )

        def on_evaluate(self, args, state, control, metrics=None, model=None, **kw):
            loss = (metrics or {}).get("eval_loss")
            events.write("eval", step=state.global_step, eval_loss=loss, perplexity=perplexity(loss))
            if _rank() == 0 and model is not None and spec.sample_tokens > 0:
                prompt = spec.sample_prompt or ""
                try:
                    events.write(
                        "sample", step=state.global_step, prompt=prompt, text=_sample(model, tok, prompt, spec)
                    )
                except Exception as exc:
                    events.write("sample", step=state.global_step, prompt=prompt, text=f"(no sample: {exc})")

        def on_step_end(self, args, state, control, **kw):
            _STEP[0] = state.global_step
            stop = run.stop_file.exists()
            if state.global_step % max(args.logging_steps, 1) == 0:
                # processes agree through the GPU, which waits for it: only on logging steps
                stop = _agree(stop, args)
            elif _world() > 1:
                stop = False
            if stop:
                events.write("status", status="stopping", step=state.global_step)
                control.should_save = True
                control.should_training_stop = True
            elif spec.save_minutes and time.time() - self.last_save > spec.save_minutes * 60:
                control.should_save = True
                self.reason = "time"

        def on_save(self, args, state, control, **kw):
            self.last_save = time.time()
            if _rank() != 0:
                return
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if path.is_dir():
                # everything is on disk now: only a marked checkpoint is ever resumed from
                (path / "COMPLETE").write_text(str(time.time()))
                reason = "stop" if run.stop_file.exists() else self.reason
                self.reason = "steps"
                events.write("checkpoint", step=state.global_step, path=str(path), reason=reason)
                run.prune_checkpoints(spec.keep)

    return [Report()]


def _set_attention(model, spec: RunSpec, switches: dict) -> None:
    """The attention kernel of the plan; with ``--attention auto`` a model that has no such
    kernel keeps its own, and the plan says so."""
    kernel = switches["attention"]
    speed.check_attention(kernel)
    try:
        model.set_attn_implementation(kernel)
    except (ValueError, ImportError) as exc:
        if spec.attention != "auto":
            raise SystemExit(f"--attention {spec.attention}: {exc} Use --attention auto or eager.") from None
        switches["attention"] = model.config._attn_implementation
        switches["off"]["attention"] = f"{kernel} not supported by this model"


def _fast_path(spec: RunSpec, run: RunDir, model, switches: dict, events) -> tuple[int, int]:
    """On CUDA: the micro-batch probe, then compilation tried on one step of that size.
    Returns the micro-batch and gradient-accumulation steps."""
    import torch

    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.cuda.set_device(device)
    if not getattr(model, "is_quantized", False):  # 4-bit weights are placed on loading and cannot move
        model.to(device)
    total = spec.batch_size * spec.grad_accum
    vocab = model.get_input_embeddings().weight.shape[0]
    bf16 = bool(_precision(spec).get("bf16"))

    def step(m: int) -> None:
        ids = torch.randint(0, vocab, (m, spec.context), device=device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        model.zero_grad(set_to_none=True)

    def fits(m: int) -> bool:
        torch.cuda.reset_peak_memory_stats()
        try:
            step(m)
        except torch.OutOfMemoryError:
            model.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()
            return False
        # AdamW keeps two fp32 values per trained weight, not allocated yet
        states = 8 * sum(p.numel() for p in model.parameters() if p.requires_grad)
        return torch.cuda.max_memory_allocated() + states < 0.9 * torch.cuda.get_device_properties(0).total_memory

    micro = speed.probe_batch(run.path, total, fits) if switches["batch_probe"] else spec.batch_size
    micro = micro if total % micro == 0 else spec.batch_size
    if switches["compile"]:

        def say(line: str) -> None:
            print(line, file=sys.stderr)
            events.write("status", status="running", message=line)
            switches["compile"] = False
            switches["off"]["compile"] = line

        ids = torch.randint(0, model.get_input_embeddings().weight.shape[0], (micro, spec.context), device=device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            speed.compile_model(model, {"input_ids": ids, "labels": ids}, say)
    torch.cuda.reset_peak_memory_stats()
    return micro, total // micro


def _agree(flag: bool, args) -> bool:
    """All processes stop together: rank 0's view of the STOP file decides."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    import torch

    t = torch.tensor([1 if flag else 0], device=args.device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def _sample(model, tok, prompt: str, spec: RunSpec) -> str:
    import torch

    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"] if prompt else None
    if ids is None or ids.shape[1] == 0:
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        ids = torch.tensor([[start]])
    ids = ids.to(model.device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=spec.sample_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    if was_training:
        model.train()
    return tok.decode(out[0][ids.shape[1] :], skip_special_tokens=True)


class _Signalled(BaseException):
    """A signal that ends the trainer, raised where it was running so the end is reported."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_on_signal(signum, _frame):
    raise _Signalled(signum)


def main(argv: list[str]) -> int:
    run = RunDir(argv[0])
    resume = "--resume" in argv[1:]
    if _rank() == 0 and not lock.acquire(run.lock_file):
        # another trainer has this run: write no event, so its state stays its own
        holder = lock.holder(run.lock_file) or {}
        print(
            f"Run {run.path.name!r} is being trained by process {holder.get('pid', '?')}; a run trains in one"
            " process at a time, so this one stops.",
            file=sys.stderr,
        )
        return 75
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _raise_on_signal)
    spec = run.spec()
    events = EventWriter(run.events_file) if _rank() == 0 else _Quiet()
    try:
        if _rank() == 0:
            swap.recover(run.final)  # a final model moved aside by a trainer that died mid-swap
            run.prune_checkpoints(spec.keep)  # saves cut short by that death
        return _train(spec, run, events, resume)
    except _Signalled as sig:
        name = signal_name(sig.signum)
        events.write("end", status="killed", signal=name, step=_STEP[0], message=killed_message(name, step=_STEP[0]))
        return 128 + sig.signum
    except Exception as exc:
        traceback.print_exc()
        events.write("error", message=_explain_failure(exc, run))
        events.write("end", status="failed")
        return 1


#: the last step the trainer reported, for the end event of a signalled run
_STEP = [0]


def _explain_failure(exc: BaseException, run: RunDir) -> str:
    kept = run.latest_checkpoint()
    keep = f" The last complete checkpoint ({kept.name}) is kept; resume from it." if kept else ""
    name = type(exc).__name__
    if name == "OutOfMemoryError" or "out of memory" in str(exc).lower():
        return (
            "Out of memory. Lower --batch-size, add --gradient-checkpointing or --auto-batch-size,"
            " or use --lora-r 8." + keep
        )
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"The disk is full while writing {getattr(exc, 'filename', '') or 'a checkpoint'}. Free space." + keep
    return f"{name}: {exc}"[:2000] + keep


def _train(spec: RunSpec, run: RunDir, events, resume: bool) -> int:
    import torch
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments, set_seed

    set_seed(spec.seed)
    if run.stop_file.exists():
        run.stop_file.unlink()
    tok = load_tokenizer(spec)
    hash_before = tokenizer_hash(tok)
    rows = read_rows(spec.data, spec.text_field).check(spec.bad_rows)
    train_rows, val_rows = split(rows.rows, spec.validation, spec.seed)
    model = load_model(spec, tok)
    cpu = spec.device == "cpu" or not torch.cuda.is_available()
    switches = speed.plan(spec, cuda=not cpu)
    _set_attention(model, spec, switches)
    if spec.lora_r > 0 or spec.qlora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(
            model,
            LoraConfig(
                r=spec.lora_r or 16,
                lora_alpha=spec.lora_alpha,
                lora_dropout=spec.lora_dropout,
                target_modules=spec.lora_targets or "all-linear",
                task_type="CAUSAL_LM",
            ),
        )
    micro, accum = spec.batch_size, spec.grad_accum
    if not cpu:
        micro, accum = _fast_path(spec, run, model, switches, events)
    common = dict(
        output_dir=str(run.checkpoints),
        per_device_train_batch_size=micro,
        per_device_eval_batch_size=micro,
        gradient_accumulation_steps=accum,
        num_train_epochs=spec.epochs,
        max_steps=spec.max_steps,
        learning_rate=spec.lr,
        # warmup_steps below 1 is a share of the steps
        warmup_steps=spec.warmup,
        weight_decay=spec.weight_decay,
        logging_steps=spec.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if val_rows else "no",
        eval_steps=spec.eval_steps,
        save_strategy="steps",
        save_steps=spec.save_steps,
        save_total_limit=None,
        gradient_checkpointing=spec.gradient_checkpointing,
        auto_find_batch_size=spec.auto_batch_size,
        report_to=[],
        seed=spec.seed,
        use_cpu=cpu,
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_backend="gloo" if cpu and _world() > 1 else None,
        **_precision(spec),
        **speed.training_args(switches),
    )
    world = _world()
    tokens_per_step = spec.batch_size * spec.grad_accum * world * spec.context
    peak = None if cpu else speed.peak_flops(torch.cuda.get_device_name(0))
    flops = speed.flops_per_token(model, spec.context) / (peak * world) if peak else None
    if rows.kind == "text":
        packed = switches["packed_attention"]
        args = TrainingArguments(**common)
        # rank 0 prepares the data while the others wait, then they read what it kept
        with args.main_process_first(local=False, desc="preparing the data"):
            train_ds, val_ds = _text_datasets(spec, tok, train_rows, val_rows, packed, run.path.parent)
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        if train_ds is None:
            raise ValueError("The training rows hold no tokens after tokenisation.")
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train_ds,
            eval_dataset=val_ds,
            data_collator=speed.PackedCollator(pad) if packed else DataCollatorForLanguageModeling(tok, mlm=False),
            processing_class=tok,
            callbacks=_callbacks(spec, run, events, tok, tokens_per_step, flops),
        )
    else:
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer

        config = SFTConfig(**common, max_length=spec.context, completion_only_loss=True, packing=False)
        val = _sft_rows(val_rows, tok)
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(_sft_rows(train_rows, tok)),
            eval_dataset=Dataset.from_list(val) if val else None,
            processing_class=tok,
            callbacks=_callbacks(spec, run, events, tok, tokens_per_step, flops),
        )
    if rows.kind != "text" and len(trainer.train_dataset) == 0:
        raise ValueError(
            f"No row has an answer token left within the context of {spec.context} tokens (the prompts"
            " fill it), so there is nothing to learn: raise --context or shorten the prompts"
            " (--dry-run counts the rows that do not fit)."
        )
    n_params = sum(p.numel() for p in model.parameters())
    checkpoint = run.latest_checkpoint() if resume else None
    start_file = run.path / "embeddings_start.safetensors"
    if _rank() == 0 and not start_file.exists():
        # the rows before training, so a drift table can show which tokens moved most
        from safetensors.torch import save_file

        emb = model.get_input_embeddings().weight.detach().to("cpu", torch.float16).contiguous()
        save_file({"embeddings": emb}, str(start_file))
    events.write(
        "start",
        max_steps=trainer.args.max_steps if trainer.args.max_steps > 0 else None,
        model=spec.model or f"{spec.arch} from scratch",
        params=n_params,
        world_size=world,
        tokens_per_step=tokens_per_step,
        tokenizer_hash=hash_before,
        vocab=len(tok),
        resumed_from=str(checkpoint) if checkpoint else None,
        kind=rows.kind,
        train_rows=len(train_rows),
        val_rows=len(val_rows),
        skipped_rows=len(rows.bad),
        device="cpu" if cpu else torch.cuda.get_device_name(0),
        speed=switches,
        micro_batch=micro,
        grad_accum=accum,
    )
    if resume and checkpoint is None:
        events.write("status", status="running", message="no complete checkpoint yet: starting from the beginning")
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    stopped = run.stop_file.exists()
    if stopped:
        run.stop_file.unlink(missing_ok=True)
        events.write("end", status="stopped", step=trainer.state.global_step, tokenizer_hash_after=hash_before)
        return 0
    last_eval = trainer.evaluate() if val_rows else {}  # every process takes part
    if _rank() == 0:
        final = run.final
        hash_after = save_final(model, tok, final)
        if spec.export == "gguf":
            _export_gguf(spec, final, events)
        events.write(
            "end",
            status="completed",
            step=trainer.state.global_step,
            final=str(final),
            train_runtime=output.metrics.get("train_runtime"),
            tokenizer_hash_after=hash_after,
            eval_loss=last_eval.get("eval_loss"),
            perplexity=perplexity(last_eval.get("eval_loss")) if last_eval else None,
        )
    return 0


def save_final(model, tok, final: Path) -> str:
    """Save the model and tokenizer as ``final/``; returns the tokenizer's hash as saved.

    They are written beside it first, then swapped in by renames: a final model saved earlier
    (a completed run resumed) stays whole until the new one is in its place."""
    tmp = final.with_name("final.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    to_save = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    to_save.save_pretrained(str(tmp), safe_serialization=True)
    tok.save_pretrained(str(tmp))
    hash_after = tokenizer_hash(load_tokenizer_from(tmp))
    swap.replace_dir(tmp, final)
    return hash_after


def _export_gguf(spec: RunSpec, final: Path, events) -> None:
    """The trained model as one GGUF file plus a Modelfile; a failure leaves the run completed."""
    from tokenlens.gguf.export import export_gguf

    try:
        done = export_gguf(final, dtype=spec.export_dtype, name=spec.name)
    except Exception as exc:
        traceback.print_exc()
        events.write(
            "export",
            error=f"GGUF export failed ({type(exc).__name__}: {exc}); the trained model"
            f" is saved in {final}. Retry with %finetune --export-gguf {spec.name}.",
        )
        return
    events.write("export", path=str(done.gguf), modelfile=str(done.modelfile), dtype=done.dtype, size=done.size)


def load_tokenizer_from(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)


if __name__ == "__main__":  # pragma: no cover - run as a process
    sys.exit(main(sys.argv[1:]))
