"""What a causal LM does with ids: next-token predictions, generation token by token, and which
embedding rows training moved. Models load from a folder or a %finetune run name, as
safetensors, never with remote code."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from .errors import InputError

_models: dict[str, tuple[Any, Any]] = {}
_lock = threading.Lock()


def model_folder(name_or_folder: str) -> Path:
    """A model folder: a path, or the final model of a %finetune run of that name."""
    path = Path(name_or_folder).expanduser()
    if path.is_dir():
        return path
    from .finetune.spec import RunDir, check_name

    try:
        run = RunDir.named(check_name(str(name_or_folder)))
    except InputError:
        run = None
    if run is not None and run.final.is_dir():
        return run.final
    raise InputError(
        f"No model at {name_or_folder!r}: give a folder saved with save_pretrained() or the name of a"
        " completed %finetune run."
    )


def load_lm(name_or_folder: str):
    """(model, tokenizer), cached; safetensors only, no remote code."""
    folder = model_folder(name_or_folder)
    key = str(folder.resolve())
    with _lock:
        if key in _models:
            return _models[key]
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=False, use_safetensors=True)
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder} does not load as a causal LM with safetensors weights: {str(exc)[:300]}") from None
    model.eval()
    with _lock:
        _models[key] = (model, tok)
    return model, tok


def _display(tok, token_id: int) -> str:
    from .tokenized import display_bytes

    piece = tok.convert_ids_to_tokens(int(token_id))
    text = tok.convert_tokens_to_string([piece])
    if "\ufffd" in text:  # a piece of a character: its bytes, never U+FFFD
        from .backends.tiktoken_backend import UNICODE_TO_BYTE

        if all(c in UNICODE_TO_BYTE for c in piece):
            return display_bytes(bytes(UNICODE_TO_BYTE[c] for c in piece))
        return piece
    return text


@dataclass
class Position:
    index: int
    id: int
    token: str
    #: (id, display, probability) of the most likely next tokens, best first
    top: list[tuple[int, str, float]]
    #: probability the model gave this position's actual next token (None at the end)
    actual_next_prob: float | None = None


@dataclass
class Predictions:
    """Next-token predictions after every position of a text."""

    text: str
    model: str
    positions: list[Position] = field(default_factory=list)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([
            {"position": p.index, "id": p.id, "token": p.token,
             **{f"top{k + 1}": f"{t!r} {prob:.3f}" for k, (_, t, prob) in enumerate(p.top)},
             "p(actual next)": p.actual_next_prob}
            for p in self.positions
        ]).set_index("position")

    def _repr_html_(self) -> str:
        from .html import token_hue

        def chip(token_id: int, text: str, extra: str = "") -> str:
            return (f'<span style="background:hsla({token_hue(token_id)},70%,60%,.35);border-radius:3px;'
                    f'padding:0 3px;font-family:monospace" title="id {token_id}">{escape(text)}{extra}</span>')

        rows = "".join(
            f"<tr><td>{chip(p.id, p.token)}</td><td>"
            + " ".join(chip(i, t, f" <small>{prob:.0%}</small>") for i, t, prob in p.top)
            + f"</td><td>{'' if p.actual_next_prob is None else f'{p.actual_next_prob:.1%}'}</td></tr>"
            for p in self.positions
        )
        return (f"<div><b>{escape(self.model)}</b>: what comes next after each token</div>"
                f"<table><tr><th>token</th><th>most likely next</th><th>p(actual next)</th></tr>{rows}</table>")


def next_tokens(text: str, model: str, top_k: int = 5) -> Predictions:
    """After each token of ``text``, the model's ``top_k`` next tokens with probabilities."""
    import torch

    lm, tok = load_lm(model)
    ids = tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    if ids.shape[1] == 0:
        raise InputError("The text is empty: nothing to predict from.")
    limit = getattr(lm.config, "n_positions", None) or getattr(lm.config, "max_position_embeddings", None)
    if limit and ids.shape[1] > limit:
        raise InputError(f"The text is {ids.shape[1]} tokens; this model reads at most {limit}.")
    with torch.no_grad():
        probs = torch.softmax(lm(ids).logits[0].float(), dim=-1)
    top = torch.topk(probs, k=min(top_k, probs.shape[-1]), dim=-1)
    seq = ids[0].tolist()
    out = Predictions(text, str(model))
    for i, token_id in enumerate(seq):
        out.positions.append(Position(
            i, token_id, _display(tok, token_id),
            [(int(t), _display(tok, int(t)), float(p)) for t, p in zip(top.indices[i], top.values[i])],
            float(probs[i, seq[i + 1]]) if i + 1 < len(seq) else None,
        ))
    return out


@dataclass
class Generation:
    """A continuation decoded token by token."""

    prompt: str
    text: str
    steps: list[dict] = field(default_factory=list)

    def _repr_html_(self) -> str:
        from .html import token_hue

        chips = "".join(
            f'<span style="background:hsla({token_hue(s["id"])},70%,60%,.35);border-radius:3px;margin:0 1px;'
            f'font-family:monospace" title="id {s["id"]}, p={s["prob"]:.3f}">{escape(s["token"])}</span>'
            for s in self.steps
        )
        return f"<div>{escape(self.prompt)}{chips}</div><div><small>{escape(self.text)!r}</small></div>"


def generate(prompt: str, model: str, max_new_tokens: int = 20, greedy: bool = True,
             temperature: float = 1.0, seed: int | None = None) -> Generation:
    """Continue ``prompt`` one token at a time (greedy or sampled), keeping each choice."""
    import torch

    lm, tok = load_lm(model)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    if ids.shape[1] == 0:
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        ids = torch.tensor([[start]])
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    steps = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = lm(ids).logits[0, -1].float() / max(temperature, 1e-5)
            probs = torch.softmax(logits, dim=-1)
            nxt = int(torch.argmax(probs)) if greedy else int(torch.multinomial(probs, 1, generator=generator))
            steps.append({"id": nxt, "token": _display(tok, nxt), "prob": float(probs[nxt])})
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
            if nxt == tok.eos_token_id:
                break
    return Generation(prompt, tok.decode([s["id"] for s in steps], skip_special_tokens=True), steps)


def embedding_drift(run_name: str, top: int = 20) -> list[dict]:
    """The token rows of the input embeddings that training moved most (L2 distance)."""
    import torch
    from safetensors.torch import load_file

    from .finetune.spec import RunDir

    run = RunDir.named(run_name)
    start_file = run.path / "embeddings_start.safetensors"
    if not start_file.is_file() or not run.final.is_dir():
        raise InputError(f"Run {run_name!r} has no start embeddings or no final model (is it completed?).")
    before = load_file(str(start_file))["embeddings"].float()
    lm, tok = load_lm(str(run.final))
    after = lm.get_input_embeddings().weight.detach().float()
    rows = min(before.shape[0], after.shape[0])
    moved = torch.linalg.vector_norm(after[:rows] - before[:rows], dim=1)
    cos = torch.nn.functional.cosine_similarity(after[:rows], before[:rows], dim=1)
    order = torch.argsort(moved, descending=True)[:top]
    return [{"id": int(i), "token": _display(tok, int(i)), "moved": round(float(moved[i]), 4),
             "cosine": round(float(cos[i]), 4)} for i in order]
