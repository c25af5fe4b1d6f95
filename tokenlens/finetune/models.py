"""Tokenizer and model for a run, loaded the same way in the kernel (dry run) and the trainer.

No code from a model repository ever runs (``trust_remote_code=False``) and weights load as
safetensors only, or from a GGUF file (``--model file.gguf`` / ``ollama:NAME``): both formats are
plain tensors, never pickles.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tokenlens.errors import InputError


def tokenizer_hash(tokenizer) -> str:
    """A fingerprint of what decides ids: model (vocab, merges), added tokens, normaliser,
    pre-tokeniser. Equal before and after training: training never changes a tokenizer."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    kept = {k: spec.get(k) for k in ("model", "added_tokens", "normalizer", "pre_tokenizer", "post_processor")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def gguf_model_file(name: str | None) -> Path | None:
    """The GGUF file a ``--model`` names (``ollama:NAME[:TAG]`` or a ``.gguf`` path), else None."""
    if not name:
        return None
    if name.startswith("ollama:"):
        from tokenlens.gguf.ollama import resolve_gguf

        return resolve_gguf(name)
    if name.lower().endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise InputError(f"No GGUF file at {path}.")
        return path.absolute()
    return None


def _gguf_tokenizer(backend):
    """A transformers fast tokenizer from a GGUF file's tokenizer, with its special tokens and chat
    template (the same pipeline tokenlens shows, so ids agree)."""
    from transformers import PreTrainedTokenizerFast

    info = backend.info
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend.tokenizer,
        bos_token=info.token(info.bos_id),
        eos_token=info.token(info.eos_id),
        unk_token=info.token(info.unk_id) if info.model == "llama" else None,
        pad_token=info.token(info.pad_id),
    )
    if info.chat_template:
        tok.chat_template = info.chat_template
    return tok


def load_tokenizer(spec):
    """A transformers fast tokenizer for the run: a tokenlens name, else the model's own."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if not spec.tokenizer and gguf_model_file(spec.model) is not None:
        from tokenlens.backends.gguf_backend import GGUFBackend

        tok = _gguf_tokenizer(GGUFBackend.from_file(spec.model, gguf_model_file(spec.model)))
    elif spec.tokenizer:
        from tokenlens.backends.gguf_backend import GGUFBackend
        from tokenlens.backends.hf import HFBackend
        from tokenlens.backends.sentencepiece_backend import SentencePieceBackend
        from tokenlens.core.resolve import resolve

        backend = resolve(spec.tokenizer)
        source = Path(backend.source)
        folder = source if source.is_dir() else source.parent
        if isinstance(backend, GGUFBackend):
            tok = _gguf_tokenizer(backend)
        elif isinstance(backend, HFBackend) and (folder / "tokenizer_config.json").is_file():
            tok = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
        elif isinstance(backend, HFBackend) and source.name == "tokenizer.json":
            tok = PreTrainedTokenizerFast(tokenizer_file=str(source))
        elif isinstance(backend, HFBackend):
            tok = PreTrainedTokenizerFast(tokenizer_object=backend.tokenizer)
        elif isinstance(backend, SentencePieceBackend):
            from transformers import LlamaTokenizerFast

            tok = LlamaTokenizerFast(vocab_file=str(source))
        else:
            raise InputError(
                f"{spec.tokenizer} is a {backend.kind} tokenizer, which transformers cannot train"
                " with directly; use the model's own tokenizer (leave out --tokenizer) or a"
                " tokenizer.json (e.g. one made with %train_tokenizer)."
            )
    elif spec.model:
        try:
            tok = AutoTokenizer.from_pretrained(spec.model, trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"Could not load the tokenizer of {spec.model!r}: {exc}") from None
    else:
        raise InputError("No tokenizer: give --tokenizer NAME or --model.")
    _ensure_special_tokens(tok)
    if spec.add_tokens:
        tok.add_tokens(list(spec.add_tokens))
    return tok


def _ensure_special_tokens(tok) -> None:
    """Causal LM training needs an end-of-text token and a padding token."""
    if tok.eos_token is None:
        vocab = tok.get_vocab()
        for candidate in ("<|endoftext|>", "</s>", "<eos>", "[SEP]", "<|im_end|>"):
            if candidate in vocab:
                tok.eos_token = candidate
                break
        else:
            tok.add_special_tokens({"eos_token": "<|endoftext|>"})
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token


def scratch_config(spec, tok):
    """A small GPT-2 or Llama architecture sized to the tokenizer's vocabulary."""
    common = dict(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id or tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    if spec.arch == "gpt2":
        from transformers import GPT2Config

        return GPT2Config(n_positions=spec.context, n_embd=spec.width, n_layer=spec.layers, n_head=spec.heads, **common)
    from transformers import LlamaConfig

    return LlamaConfig(
        hidden_size=spec.width,
        intermediate_size=int(spec.width * 8 / 3 // 64 * 64) or 4 * spec.width,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.heads,
        max_position_embeddings=spec.context,
        tie_word_embeddings=True,
        **common,
    )


def _gguf_config(name: str, path: Path):
    """The transformers config of a GGUF model, or a clear refusal for architectures transformers
    cannot rebuild from GGUF."""
    from transformers import AutoConfig

    from tokenlens.gguf.metadata import read_metadata

    meta = read_metadata(path, tensors=False)
    arch = meta.architecture
    try:
        config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name, trust_remote_code=False)
    except Exception as exc:
        raise InputError(
            f"{name} is a GGUF model of architecture {arch!r}, which transformers cannot load from GGUF"
            f" ({type(exc).__name__}: {str(exc)[:200]}). Fine-tune its Hugging Face original instead"
            f" (--model with its hub id), or a GGUF of an architecture transformers reads: {_gguf_archs()}."
        ) from None
    if arch == "gpt2" and meta.get("gpt2.context_length"):
        # as in load_gguf_model: the position table is sized by n_positions, which GGUF leaves unset
        config.n_positions = int(meta.get("gpt2.context_length"))
    return config


def _gguf_archs() -> str:
    names: set[str] = set()
    try:
        from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

        names.update(GGUF_SUPPORTED_ARCHITECTURES)
    except ImportError:
        pass
    try:
        from transformers.integrations.gguf import GGUF_ARCHS

        names.update(GGUF_ARCHS)
    except ImportError:
        pass
    names.discard("general")
    names.discard("tokenizer")
    return ", ".join(sorted(names)) or "see the transformers GGUF documentation"


def check_causal_lm(name: str):
    """The model's config, refused with a clear message when it is no causal language model."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    gguf = gguf_model_file(name)
    try:
        config = _gguf_config(name, gguf) if gguf else AutoConfig.from_pretrained(name, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"Could not load the model {name!r}: {str(exc)[:300]}") from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise InputError(
            f"{name!r} is a {config.model_type} model, which is not a causal language model"
            f" (next-token prediction); %finetune trains causal LMs such as GPT-2, Llama, Qwen."
        )
    return config


def check_vocab(spec, tok, config) -> None:
    """A tokenizer whose ids the model has no rows for is refused unless rows are added; so is a
    tokenizer that is not the model's own, whose ids would each read another token's row."""
    if spec.from_scratch:
        return
    if len(tok) > config.vocab_size and not spec.add_tokens:
        raise InputError(
            f"The tokenizer has {len(tok):,} tokens but {spec.model} has embeddings for"
            f" {config.vocab_size:,}: its ids would point past the model's rows. Use the model's own"
            " tokenizer, --add-tokens to grow the embeddings, or --from-scratch."
        )
    if spec.tokenizer:
        check_own_tokenizer(spec, tok)


_REMEDY = (
    "Use the model's own tokenizer (leave out --tokenizer), --add-tokens to give that tokenizer new"
    " tokens with new trained rows, or --from-scratch to train a new model on {tokenizer}."
)


def check_own_tokenizer(spec, tok) -> None:
    """``tok`` must be the model's own tokenizer: the same tokens at the same ids (plus the
    --add-tokens). The model learned one row per id of its tokenizer; with another tokenizer each
    id would read another token's row, even where the two vocabularies are the same size."""
    own = _own_tokenizer(spec)
    remedy = _REMEDY.format(tokenizer=spec.tokenizer)
    if own is None:
        raise InputError(
            f"{spec.model} has no tokenizer saved with it, so tokenlens cannot check that"
            f" {spec.tokenizer}'s ids are the ones it was trained with. Save the tokenizer it was"
            f" trained with beside it (tokenizer.save_pretrained(folder)). {remedy}"
        )
    own_vocab, run_vocab = own.get_vocab(), tok.get_vocab()
    moved = [t for t, i in own_vocab.items() if run_vocab.get(t) != i]
    extra = sorted(set(run_vocab) - set(own_vocab) - set(spec.add_tokens), key=run_vocab.get)
    if not moved and not extra:
        return
    if moved:
        # a token both have, at two ids, shows the point best
        t = _readable(sorted(moved, key=lambda t: (t not in run_vocab, own_vocab[t])), own)
        where = f"id {run_vocab[t]}" if t in run_vocab else "no id at all"
        example = f"{_shown(t, own)} is id {own_vocab[t]} in the model's tokenizer but {where} in {spec.tokenizer}"
    else:
        t = _readable(extra, tok)
        example = f"{_shown(t, tok)} (id {run_vocab[t]}) is not in the model's tokenizer"
    raise InputError(
        f"{spec.tokenizer} ({len(tok):,} tokens) is not {spec.model}'s own tokenizer ({len(own):,} tokens):"
        f" {len(moved):,} of the model's tokens have another id (or none) in it and {len(extra):,} of its"
        f" tokens are not the model's ({example}). The model learned one vector per id of its own"
        f" tokenizer, so with these ids every token would read another token's row. {remedy}"
    )


def _shown(token: str, tok) -> str:
    """A token as text (byte-level pieces such as 'Ġthe' read ' the'), quoted."""
    return repr(tok.convert_tokens_to_string([token]))


def _readable(tokens: list[str], tok) -> str:
    """The first of ``tokens`` that is whole text (not a piece of a character), else the first."""
    return next((t for t in tokens[:2000] if "\ufffd" not in tok.convert_tokens_to_string([t])), tokens[0])


def _own_tokenizer(spec):
    """The tokenizer saved with the model (GGUF: the file's), or None where it has none."""
    from dataclasses import replace

    try:
        return load_tokenizer(replace(spec, tokenizer=None, add_tokens=[]))
    except (InputError, OSError, ValueError, TypeError):
        return None


def context_limit(config) -> int | None:
    """How many positions the model was made for (its position table, or RoPE's trained length)."""
    return getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)


def check_context(spec, config, given: bool = True) -> None:
    """A pretrained model's own limit is the default context where it is shorter than the
    default; a longer --context is refused (past the table, a position has no row: IndexError)."""
    limit = context_limit(config)
    if spec.from_scratch or not limit or spec.context <= limit:
        return
    if not given:
        spec.context = limit
        return
    raise InputError(
        f"--context {spec.context} is longer than {spec.model} can read: it has positions for"
        f" {limit} tokens. Use --context {limit} or less (or leave --context out: a pretrained"
        " model's own limit is then the default where it is shorter)."
    )


def load_model(spec, tok):
    """The model to train: from a config (``from_scratch``) or a hub id / folder."""
    from transformers import AutoModelForCausalLM

    if spec.from_scratch:
        return AutoModelForCausalLM.from_config(scratch_config(spec, tok))
    config = check_causal_lm(spec.model)
    check_context(spec, config)
    check_vocab(spec, tok, config)
    gguf = gguf_model_file(spec.model)
    if gguf is not None:
        if spec.qlora:
            raise InputError(
                "--qlora loads 4-bit weights from safetensors; a GGUF model is loaded dequantised. Use --lora-r alone."
            )
        model = load_gguf_model(gguf)
        if len(tok) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tok))
        return model
    extra = {}
    if spec.qlora:
        import torch
        from transformers import BitsAndBytesConfig

        check_qlora(spec)
        extra["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        )
    try:
        model = AutoModelForCausalLM.from_pretrained(spec.model, trust_remote_code=False, use_safetensors=True, **extra)
    except OSError as exc:
        raise InputError(
            f"Could not load {spec.model!r} as safetensors ({str(exc)[:200]}); tokenlens loads"
            " weights from .safetensors files only."
        ) from None
    if len(tok) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tok))
    if spec.qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=spec.gradient_checkpointing)
    return model


def check_qlora(spec) -> None:
    """QLoRA keeps 4-bit base weights with bitsandbytes, which needs a CUDA GPU."""
    if not spec.qlora:
        return
    if spec.from_scratch:
        raise InputError(
            "--qlora adapts an existing model's frozen 4-bit weights; it does not apply to --from-scratch."
        )
    import importlib.util

    import torch

    if spec.device == "cpu" or not torch.cuda.is_available():
        raise InputError("--qlora needs a CUDA GPU (bitsandbytes 4-bit weights); on this machine use --lora-r 8 alone.")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise InputError("--qlora needs the bitsandbytes package: pip install bitsandbytes.")


def load_gguf_model(path: Path, dtype=None):
    """A dense, trainable model from a GGUF file: every weight dequantised (to float32)."""
    import torch
    from transformers import AutoModelForCausalLM, GgufConfig

    from tokenlens.gguf.metadata import read_metadata

    meta = read_metadata(path, tensors=False)
    fixes = {}
    if meta.architecture == "gpt2" and meta.get("gpt2.context_length"):
        # transformers reads GPT-2's context length into n_ctx; the model sizes itself by n_positions
        fixes["n_positions"] = int(meta.get("gpt2.context_length"))
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent),
        gguf_file=path.name,
        dtype=dtype or torch.float32,
        trust_remote_code=False,
        quantization_config=GgufConfig(dequantize=True),
        **fixes,
    )
    # what is trained and saved is a plain model: nothing of the GGUF loading stays in its config
    for obj in (model, model.config):
        for attr in ("quantization_config", "hf_quantizer"):
            if hasattr(obj, attr):
                try:
                    delattr(obj, attr)
                except AttributeError:
                    setattr(obj, attr, None)
    model.is_quantized = False
    return model
