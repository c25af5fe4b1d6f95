"""What a causal LM does with ids: next-token predictions, generation token by token, and which
embedding rows training moved. Models load from a folder or a %finetune run name, as
safetensors, never with remote code."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from tokenlens.core.api import NO_SANDBOX, Sandbox
from tokenlens.errors import InputError, MissingExtra, ModelFileError, ModelNotFound
from tokenlens.views.display import ShownAsWidget

#: the most next-token candidates a caller may ask for per position
MAX_TOP_K = 50


def require_torch() -> None:
    """torch and transformers, or a message naming the extra that brings them."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise MissingExtra(
            "Next-token predictions need torch and transformers, which are optional:"
            " pip install 'jupyterlab-tokenlens[finetune]' (then restart the kernel or server)."
        ) from None


def _is_model_folder(folder: Path) -> bool:
    return (folder / "config.json").is_file()


def available_models() -> list[str]:
    """Names that load as a model without a path: completed %finetune runs, and folders with a
    config.json in the TOKENLENS_PATH folders and the registry."""
    from tokenlens.core.resolve import _PLAIN_NAME, roots
    from tokenlens.finetune.spec import runs_dir

    names: set[str] = set()
    runs = runs_dir()
    if runs.is_dir():
        names.update(p.name for p in runs.iterdir() if (p / "final").is_dir() and _PLAIN_NAME.match(p.name))
    for _label, root in roots():
        if root.is_dir():
            names.update(
                p.name for p in root.iterdir() if p.is_dir() and _is_model_folder(p) and _PLAIN_NAME.match(p.name)
            )
    return sorted(names)


def model_folder(name_or_folder: str, allow_paths: bool = True) -> Path:
    """A model folder: the final model of a %finetune run of that name, a folder of that name in
    the TOKENLENS_PATH folders or the registry, or (``allow_paths``, not the server's setting) a
    path. The folder is checked: a causal LM config and safetensors weights."""
    if not isinstance(name_or_folder, str) or not name_or_folder.strip():
        raise ModelNotFound(str(name_or_folder), available_models(), detail="The name is empty.")
    name = name_or_folder.strip()
    from tokenlens.core.resolve import _find_in_roots
    from tokenlens.finetune.spec import RunDir, check_name

    found: Path | None = None
    try:
        run = RunDir.named(check_name(name))
    except InputError:
        run = None
    if run is not None and run.final.is_dir():
        found = run.final
    if found is None:
        folder = _find_in_roots(name)
        if folder is not None and _is_model_folder(folder):
            found = folder
    if found is None and allow_paths:
        path = Path(name).expanduser()
        if path.is_dir():
            found = path
    if found is None:
        raise ModelNotFound(name, available_models())
    check_model_folder(found)
    return found


def check_model_folder(folder: Path) -> None:
    """Refuse, with what to do, a folder that is not a causal LM saved as safetensors."""
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ModelFileError(
            f"{folder.name!r} has no config.json, so it is no model saved with save_pretrained()."
            " Save the model with model.save_pretrained(folder) (safetensors) and name that folder."
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        model_type = config["model_type"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelFileError(
            f"{folder.name!r}: config.json is not a readable model configuration with a model_type."
        ) from None
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ModelFileError(
            f"{folder.name!r} is a {model_type} model, which is not a causal language model: it does not"
            " predict the next token. Use a causal LM such as GPT-2, Llama or Qwen, or a %finetune run."
        )
    if not any(folder.glob("*.safetensors")):
        raise ModelFileError(
            f"{folder.name!r} has no .safetensors weights; only safetensors are loaded (pickled .bin"
            " files can run code). Re-save it with model.save_pretrained(folder, safe_serialization=True)."
        )


def load_lm(name_or_folder: str, allow_paths: bool = True):
    """(model, tokenizer), cached while its files stay as they are; safetensors only, no remote code."""
    from tokenlens.learn.model_cache import models

    require_torch()
    folder = model_folder(name_or_folder, allow_paths=allow_paths)
    return models.get(folder, lambda: _load_folder(folder))


def _load_folder(folder: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=False, use_safetensors=True)
    except (OSError, ValueError) as exc:
        raise ModelFileError(
            f"{folder.name!r} does not load as a causal LM with safetensors weights: {str(exc)[:300]}"
        ) from None
    try:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelFileError(
            f"{folder.name!r} has no tokenizer that loads ({str(exc)[:200]}). Save the tokenizer beside"
            " the model with tokenizer.save_pretrained(folder)."
        ) from None
    model.eval()
    return model, tok


def _display(tok, token_id: int) -> str:
    from tokenlens.core.tokenized import display_bytes

    piece = tok.convert_ids_to_tokens(int(token_id))
    text = tok.convert_tokens_to_string([piece])
    if "\ufffd" in text:  # a piece of a character: its bytes, never U+FFFD
        from tokenlens.backends.tiktoken_backend import UNICODE_TO_BYTE

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
    #: that token's rank among all the model's choices (1 = its top choice; None at the end)
    actual_next_rank: int | None = None
    #: the characters [start, end) of the text this token belongs to (code points); the byte
    #: tokens of one character share its span, so a view can draw them under that character
    span: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "token": self.token,
            "top": [{"id": i, "token": t, "prob": p} for i, t, p in self.top],
            "actual_next_prob": self.actual_next_prob,
            "actual_next_rank": self.actual_next_rank,
            "span": list(self.span) if self.span is not None else None,
        }


@dataclass
class Predictions(ShownAsWidget):
    """Next-token predictions after every position of a text (and, optionally, a continuation)."""

    _widget_class = "tokenlens.views.learning:PredictWidget"

    text: str
    model: str
    positions: list[Position] = field(default_factory=list)
    top_k: int = 5
    generation: Generation | None = None
    #: what continues ``text`` for the model that made these predictions (its ``generate``, a
    #: transformer's or an n-gram model's): ``generator(prompt, max_new_tokens=…, greedy=…,
    #: seed=…) -> Generation``; not part of the saved state
    generator: Callable[..., Generation] | None = field(default=None, repr=False, compare=False)

    def continue_text(self, max_new_tokens: int = 20, greedy: bool = True, seed: int | None = None) -> Generation:
        """Continue the text with the model that made these predictions (by its name when they
        were made without one, e.g. rebuilt from a saved dict)."""
        make = self.generator or functools.partial(generate, model=self.model)
        return make(self.text, max_new_tokens=max_new_tokens, greedy=greedy, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "model": self.model,
            "top_k": self.top_k,
            "positions": [p.to_dict() for p in self.positions],
            "generation": self.generation.to_dict() if self.generation is not None else None,
        }

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "position": p.index,
                    "id": p.id,
                    "token": p.token,
                    **{f"top{k + 1}": f"{t!r} {prob:.3f}" for k, (_, t, prob) in enumerate(p.top)},
                    "p(actual next)": p.actual_next_prob,
                }
                for p in self.positions
            ]
        ).set_index("position")

    def __repr__(self) -> str:
        more = f", continued by {len(self.generation.steps)} tokens" if self.generation else ""
        return f"Predictions of {self.model!r} after each of {len(self.positions)} tokens (top {self.top_k}){more}"

    def _repr_html_(self) -> str:
        from tokenlens.views.html import chip_html

        rows = "".join(
            f"<tr><td>{chip_html(p.id, p.token)}</td><td>"
            + " ".join(chip_html(i, t, extra=f" <small>{prob:.0%}</small>") for i, t, prob in p.top)
            + f"</td><td>{'' if p.actual_next_prob is None else f'{p.actual_next_prob:.1%}'}</td></tr>"
            for p in self.positions
        )
        out = (
            f"<div><b>{escape(self.model)}</b>: what comes next after each token ({len(self.positions)} tokens)</div>"
            f"<table><tr><th>token</th><th>most likely next</th><th>p(actual next)</th></tr>{rows}</table>"
        )
        if self.generation is not None:
            out += self.generation._repr_html_()
        return out


def _check_top_k(top_k: Any) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"top_k must be a whole number from 1 to {MAX_TOP_K}, not {top_k!r}.")
    return top_k


def _check_new_tokens(n: Any) -> int:
    from tokenlens.core.limits import LIMITS, raise_hint

    most = LIMITS.generate_tokens
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= most:
        raise InputError(
            f"The continuation length must be a whole number from 0 to {most} tokens, not {n!r}."
            + (f" {raise_hint('generate_tokens')}" if isinstance(n, int) and n > most else "")
        )
    return n


def _context_limit(lm) -> int | None:
    return getattr(lm.config, "n_positions", None) or getattr(lm.config, "max_position_embeddings", None)


def _logits_in_chunks(lm, ids, past=None):
    """The model's logits for ``ids``, a chunk of positions at a time: each chunk reads the
    positions before it from the KV cache, so the scores are the one-pass scores while only one
    chunk's positions × vocabulary is ever in memory (``Limits.predict_chunk_bytes``).
    Yields (first position, logits of the chunk, cache)."""
    from tokenlens.core.limits import LIMITS

    head = lm.get_output_embeddings()
    vocab = getattr(head, "out_features", None) or lm.config.vocab_size
    # 16 bytes per score: the logits, their float32 copy, the probabilities and a comparison mask
    size = max(1, LIMITS.predict_chunk_bytes // (16 * vocab))
    # transformers 5.25 renamed past_key_values to cache; the versions before know only the old name
    name = "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
    for start in range(0, ids.shape[1], size):
        out = lm(ids[:, start : start + size], use_cache=True, **{name: past})
        past = out.get(name)
        yield start, out.logits[0], past


def _last_logits(lm, ids, cache):
    """The logits after the last of ``ids`` (read after ``cache``), and the cache with them added."""
    last = None
    for _, logits, cache_after in _logits_in_chunks(lm, ids, cache):
        last = (logits[-1], cache_after)
    return last


def next_tokens(text: str, model: str, top_k: int = 5, *, sandbox: Sandbox = NO_SANDBOX) -> Predictions:
    """After each token of ``text``, the model's ``top_k`` next tokens with probabilities
    (``sandbox.allow_paths=False``: the model by name only, never a path)."""
    from tokenlens.core.api import check_text

    text = check_text(text)
    top_k = _check_top_k(top_k)
    if not text:
        raise InputError("The text is empty: write a few words for the model to continue.")
    lm, tok = load_lm(model, allow_paths=sandbox.allow_paths)
    import torch

    # One encode: the ids, and (fast tokenizers) each token's characters for the view's grouping.
    fast = bool(getattr(tok, "is_fast", False))
    enc = tok(text, return_tensors="pt", add_special_tokens=False, return_offsets_mapping=fast)
    ids = enc["input_ids"]
    spans: list[tuple[int, int] | None] = [None] * ids.shape[1]
    if fast:
        spans = [(int(a), int(b)) for a, b in enc["offset_mapping"][0].tolist()]
    if ids.shape[1] == 0:
        raise InputError("The text gives no tokens: nothing to predict from.")
    limit = _context_limit(lm)
    if limit and ids.shape[1] > limit:
        raise InputError(f"The text is {ids.shape[1]} tokens; this model reads at most {limit}. Shorten the text.")
    seq = ids[0].tolist()
    out = Predictions(
        text, str(model), top_k=top_k, generator=functools.partial(generate, model=model, sandbox=sandbox)
    )
    with torch.no_grad():
        for start, logits, _ in _logits_in_chunks(lm, ids):
            probs = torch.softmax(logits.float(), dim=-1)
            del logits
            top = torch.topk(probs, k=min(top_k, probs.shape[-1]), dim=-1)
            # the token that follows each position of the chunk (none after the last one)
            follows = torch.tensor(seq[start + 1 : start + 1 + probs.shape[0]], dtype=torch.long)
            actual = probs[torch.arange(len(follows)), follows]
            ranks = (probs[: len(follows)] > actual[:, None]).sum(dim=1) + 1
            for k in range(probs.shape[0]):
                i = start + k
                out.positions.append(
                    Position(
                        i,
                        seq[i],
                        _display(tok, seq[i]),
                        [(int(t), _display(tok, int(t)), float(p)) for t, p in zip(top.indices[k], top.values[k])],
                        float(actual[k]) if k < len(follows) else None,
                        int(ranks[k]) if k < len(follows) else None,
                        spans[i],
                    )
                )
            del probs
    return out


@dataclass
class Generation(ShownAsWidget):
    """A continuation decoded token by token."""

    _widget_class = "tokenlens.views.learning:PredictWidget"

    prompt: str
    text: str
    steps: list[dict] = field(default_factory=list)
    model: str = ""
    greedy: bool = True
    #: why it stopped: "length", "eos" (the model's end token) or "context" (the model's limit)
    stopped: str = "length"
    #: what made it (as ``Predictions.generator``), so its view can continue the prompt again
    generator: Callable[..., Generation] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "text": self.text,
            "steps": self.steps,
            "model": self.model,
            "greedy": self.greedy,
            "stopped": self.stopped,
        }

    def __repr__(self) -> str:
        return f"Generation of {len(self.steps)} tokens by {self.model!r}: {self.text!r}"

    def _repr_html_(self) -> str:
        from tokenlens.views.html import chip_html

        chips = "".join(
            chip_html(s["id"], s["token"], title=f"step {k + 1}: id {s['id']}, p={s['prob']:.3f}")
            for k, s in enumerate(self.steps)
        )
        how = "greedy: the most likely token each time" if self.greedy else "sampled"
        return (
            f"<div><b>continuation</b> ({how}, {len(self.steps)} tokens)</div>"
            f"<div>{escape(self.prompt)}{chips}</div><div><small>{escape(self.text)!r}</small></div>"
        )


def generate(
    prompt: str,
    model: str,
    max_new_tokens: int = 20,
    greedy: bool = True,
    temperature: float = 1.0,
    seed: int | None = None,
    *,
    sandbox: Sandbox = NO_SANDBOX,
) -> Generation:
    """Continue ``prompt`` one token at a time (greedy or sampled), keeping each choice: its id,
    how it reads, its probability, and the continuation decoded so far."""
    from tokenlens.core.api import check_text

    prompt = check_text(prompt)
    max_new_tokens = _check_new_tokens(max_new_tokens)
    lm, tok = load_lm(model, allow_paths=sandbox.allow_paths)
    import torch

    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    if ids.shape[1] == 0:
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if start is None:
            raise InputError("The prompt is empty and this model's tokenizer has no start token: write a few words.")
        ids = torch.tensor([[start]])
    limit = _context_limit(lm)
    if limit and ids.shape[1] > limit:
        raise InputError(f"The prompt is {ids.shape[1]} tokens; this model reads at most {limit}. Shorten it.")
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    steps: list[dict] = []
    chosen: list[int] = []
    stopped = "length"
    length, past, feed = ids.shape[1], None, ids
    with torch.no_grad():
        for _ in range(max_new_tokens):
            if limit and length >= limit:
                stopped = "context"
                break
            # Only the tokens the cache has not seen go through the model: the prompt once, then
            # each new token, so a step costs one position, not the whole sequence again.
            last, past = _last_logits(lm, feed, past)
            logits = last.float() / max(temperature, 1e-5)
            probs = torch.softmax(logits, dim=-1)
            nxt = int(torch.argmax(probs)) if greedy else int(torch.multinomial(probs, 1, generator=generator))
            chosen.append(nxt)
            so_far = tok.decode(chosen, skip_special_tokens=True)
            complete = so_far.rstrip("\ufffd")  # a character whose bytes have not all come yet
            steps.append(
                {
                    "id": nxt,
                    "token": _display(tok, nxt),
                    "prob": float(probs[nxt]),
                    "text": complete,
                    "pending": len(so_far) > len(complete),
                }
            )
            feed, length = torch.tensor([[nxt]]), length + 1
            if nxt == tok.eos_token_id:
                stopped = "eos"
                break
    again = functools.partial(generate, model=model, temperature=temperature, sandbox=sandbox)
    text = tok.decode(chosen, skip_special_tokens=True)
    return Generation(prompt, text, steps, str(model), greedy, stopped, generator=again)


def embedding_drift(run_name: str, top: int = 20) -> list[dict]:
    """The token rows of the input embeddings that training moved most (L2 distance)."""
    import torch
    from safetensors.torch import load_file

    from tokenlens.finetune.spec import RunDir

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
    return [
        {
            "id": int(i),
            "token": _display(tok, int(i)),
            "moved": round(float(moved[i]), 4),
            "cosine": round(float(cos[i]), 4),
        }
        for i in order
    ]
