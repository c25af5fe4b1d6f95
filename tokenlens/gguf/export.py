"""``export_gguf``: a trained model and its tokenizer as one GGUF file, plus an Ollama Modelfile.

The model folder is what ``%finetune`` leaves in ``final/`` (or any ``save_pretrained`` folder):
config.json, safetensors weights, tokenizer.json and tokenizer_config.json. Tensors are renamed
with the gguf package's ``TensorNameMap`` and laid out as llama.cpp expects (GPT-2's Conv1D
weights transposed, Llama's query and key rows permuted for its rotary layout); the tokenizer is
written as ``tokenizer.ggml.*`` metadata — byte-level BPE as ``gpt2`` with its pre-tokenizer
name, SentencePiece-style BPE as ``llama`` with scores and merges — so tokenlens, transformers
(``gguf_file=``), llama.cpp and Ollama read the same ids.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError

#: transformers ``model_type`` → GGUF ``general.architecture``
ARCHITECTURES = {"gpt2": "gpt2", "llama": "llama", "mistral": "llama", "qwen2": "qwen2"}
DTYPES = ("f16", "q8_0", "f32")

_BYTE_PIECE_FMT = "<0x{:02X}>"


@dataclass
class Export:
    """What ``export_gguf`` wrote."""

    gguf: Path
    modelfile: Path
    architecture: str
    dtype: str
    tokenizer_model: str
    pre: str | None
    n_tensors: int
    size: int
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"<Export {self.gguf.name}: {self.architecture}, {self.dtype}, {self.n_tensors} tensors,"
            f" {self.size / 2**20:.1f} MiB; tokenizer {self.tokenizer_model}"
            f"{'/' + self.pre if self.pre else ''}; Modelfile beside it>"
        )

    def _repr_markdown_(self) -> str:
        notes = "".join(f"\n- {n}" for n in self.notes)
        return (
            f"Wrote **{self.gguf}** ({self.architecture}, {self.dtype}, {self.size / 2**20:.1f} MiB)"
            f" and **{self.modelfile}**.\n\n`ollama create my-model -f {self.modelfile}`{notes}"
        )


# -- the tokenizer ---------------------------------------------------------------------------------


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def _known_split(pattern: str) -> str | None:
    from tokenlens.backends.gguf_backend import PRE_TOKENIZERS

    for name in ("gpt-2", "llama-bpe", "qwen2", "gpt-4o"):  # canonical names first
        if PRE_TOKENIZERS[name].splits == (pattern,):
            return name
    return None


def _byte_level_pre(spec: dict) -> str:
    """The ``tokenizer.ggml.pre`` name for a byte-level tokenizer.json's pre-tokenizer."""
    pre = spec.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers") if pre.get("type") == "Sequence" else [pre]
    steps = [s for s in steps or [] if s]
    kinds = [s.get("type") for s in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True) and not steps[0].get("add_prefix_space"):
        return "gpt-2"
    if kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        split = steps[0]
        pattern = (split.get("pattern") or {}).get("Regex")
        if split.get("behavior") == "Isolated" and not split.get("invert") and pattern:
            name = _known_split(pattern)
            if name:
                return name
    raise InputError(
        "The tokenizer's pre-tokenizer has no GGUF name that llama.cpp knows, so it cannot be"
        f" exported faithfully ({json.dumps(pre)[:200]}). Exportable: a plain ByteLevel (GPT-2) or a"
        " Split with the Llama 3, Qwen2 or GPT-4o pattern followed by ByteLevel(use_regex=false)."
    )


def _llama_space_prefix(spec: dict) -> bool:
    """Whether a SentencePiece-style tokenizer.json puts ``▁`` before the text."""
    norm = spec.get("normalizer") or {}
    norms = norm.get("normalizers") if norm.get("type") == "Sequence" else [norm]
    if any(n and n.get("type") == "Prepend" for n in norms or []):
        return True
    pre = spec.get("pre_tokenizer") or {}
    pres = pre.get("pretokenizers") if pre.get("type") == "Sequence" else [pre]
    for p in pres or []:
        if p and p.get("type") == "Metaspace":
            return p.get("prepend_scheme", "always") != "never" and p.get("add_prefix_space", True) is not False
    return False


def _is_sentencepiece_style(spec: dict) -> bool:
    text = json.dumps({k: spec.get(k) for k in ("normalizer", "pre_tokenizer", "decoder")})
    return "Metaspace" in text or "\\u2581" in text or "\u2581" in text


def tokenizer_metadata(folder: Path, n_vocab: int | None = None) -> dict[str, Any]:
    """The ``tokenizer.*`` metadata of a saved Hugging Face tokenizer (tokenizer.json folder)."""
    from tokenizers import Tokenizer

    from tokenlens.backends.gguf_backend import BYTE, CONTROL, NORMAL, UNKNOWN, UNUSED, USER_DEFINED

    tok_file = folder / "tokenizer.json"
    if not tok_file.is_file():
        raise InputError(
            f"{folder} has no tokenizer.json; export needs the fast tokenizer that %finetune saves"
            " (tok.save_pretrained(folder) with a transformers fast tokenizer)."
        )
    tok = Tokenizer.from_file(str(tok_file))
    spec = json.loads(tok.to_str())
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise InputError(
            f"The tokenizer is a {model.get('type')} model; GGUF export supports BPE tokenizers"
            " (byte-level like GPT-2/Llama 3/Qwen2, or SentencePiece-style like Llama 2)."
        )
    config = _read_json(folder / "tokenizer_config.json")
    special_map = _read_json(folder / "special_tokens_map.json")

    vocab = tok.get_vocab(with_added_tokens=True)
    size = max(max(vocab.values()) + 1, n_vocab or 0)
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [UNUSED] * size
    for piece, i in vocab.items():
        tokens[i], types[i] = piece, NORMAL
    added = {t["id"]: t for t in spec.get("added_tokens") or []}
    for i, t in added.items():
        types[i] = CONTROL if t.get("special") else USER_DEFINED

    def special_id(key: str) -> int | None:
        text = _token_text(config.get(key)) or _token_text(special_map.get(key))
        return vocab.get(text) if text is not None else None

    ids = {k: special_id(k) for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
    raw_merges = model.get("merges") or []
    merges = [m if isinstance(m, str) else " ".join(m) for m in raw_merges]
    meta: dict[str, Any] = {}
    byte_level = "ByteLevel" in json.dumps({k: spec.get(k) for k in ("pre_tokenizer", "decoder")})
    if byte_level:
        meta["tokenizer.ggml.model"] = "gpt2"
        meta["tokenizer.ggml.pre"] = _byte_level_pre(spec)
        norm = spec.get("normalizer")
        if norm and norm.get("type") not in ("NFC",):
            raise InputError(f"The tokenizer normalises text ({norm.get('type')}), which GGUF cannot record.")
    elif _is_sentencepiece_style(spec):
        meta["tokenizer.ggml.model"] = "llama"
        meta["tokenizer.ggml.add_space_prefix"] = _llama_space_prefix(spec)
        # llama.cpp merges by score: a piece made by an earlier merge scores higher
        scores = [0.0] * size
        for rank, merge in enumerate(merges):
            i = vocab.get(merge.replace(" ", "", 1))
            if i is not None and scores[i] == 0.0:
                scores[i] = -float(rank + 1)
        meta["tokenizer.ggml.scores"] = scores
        unk = model.get("unk_token")
        if unk in vocab:
            types[vocab[unk]] = UNKNOWN
            ids["unk_token"] = vocab[unk]
        if model.get("byte_fallback"):
            for b in range(256):
                i = vocab.get(_BYTE_PIECE_FMT.format(b))
                if i is not None:
                    types[i] = BYTE
    else:
        raise InputError(
            "The tokenizer is neither byte-level (GPT-2 style) nor SentencePiece-style (▁ for"
            " spaces), the two kinds GGUF tokenizers describe."
        )
    meta["tokenizer.ggml.tokens"] = tokens
    meta["tokenizer.ggml.token_type"] = types
    meta["tokenizer.ggml.merges"] = merges
    for key, gguf_key in (
        ("bos_token", "bos_token_id"),
        ("eos_token", "eos_token_id"),
        ("unk_token", "unknown_token_id"),
        ("pad_token", "padding_token_id"),
    ):
        if ids[key] is not None:
            meta[f"tokenizer.ggml.{gguf_key}"] = ids[key]
    with_special = tok.encode("a", add_special_tokens=True).ids
    plain = tok.encode("a", add_special_tokens=False).ids
    meta["tokenizer.ggml.add_bos_token"] = bool(
        ids["bos_token"] is not None and len(with_special) > len(plain) and with_special[0] == ids["bos_token"]
    )
    meta["tokenizer.ggml.add_eos_token"] = bool(
        ids["eos_token"] is not None and len(with_special) > len(plain) and with_special[-1] == ids["eos_token"]
    )
    from tokenlens.core.chat_template import find_chat_template

    template, _ = find_chat_template(str(folder))
    if template:
        meta["tokenizer.chat_template"] = template
    return meta


# -- the weights -----------------------------------------------------------------------------------


def _load_weights(folder: Path) -> dict[str, Any]:
    """Every tensor of the folder's safetensors files as float32 numpy arrays."""
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise InputError(f"{folder} holds no .safetensors weights; save the model with save_pretrained().")
    out = {}
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            for key in st.keys():  # noqa: SIM118 - safe_open is not iterable
                out[key] = st.get_tensor(key).float().numpy()
    return out


def _permute(w, n_head: int):
    """Query/key rows from Hugging Face's rotary layout to llama.cpp's (interleaved pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _rope_theta(config: dict) -> float:
    params = config.get("rope_parameters") or {}
    scaling = config.get("rope_scaling") or {}
    kind = params.get("rope_type") or scaling.get("rope_type") or scaling.get("type") or "default"
    if kind != "default":
        raise InputError(
            f"The model uses {kind!r} rotary scaling, which this exporter does not write yet; models"
            " with plain rotary embeddings (rope_type 'default') export."
        )
    return float(params.get("rope_theta") or config.get("rope_theta") or 10000.0)


def _hparams(arch: str, config: dict, writer) -> None:
    if arch == "gpt2":
        n_embd = config["n_embd"]
        writer.add_context_length(config.get("n_positions") or config.get("n_ctx") or 1024)
        writer.add_embedding_length(n_embd)
        writer.add_feed_forward_length(config.get("n_inner") or 4 * n_embd)
        writer.add_block_count(config["n_layer"])
        writer.add_head_count(config["n_head"])
        writer.add_layer_norm_eps(config.get("layer_norm_epsilon", 1e-5))
        return
    if (config.get("attention_bias") and arch == "llama") or config.get("mlp_bias"):
        raise InputError("Llama models with attention or MLP biases are not exported yet.")
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    writer.add_context_length(config.get("max_position_embeddings", 2048))
    writer.add_embedding_length(hidden)
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(config.get("rms_norm_eps", 1e-6))
    if head_dim != hidden // heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)


def _tensors(arch: str, config: dict, weights: dict, n_vocab: int):
    """(GGUF name, array) pairs in llama.cpp's layout."""
    import gguf
    import numpy as np

    arch_enum = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[arch]
    n_layer = config.get("n_layer") or config.get("num_hidden_layers")
    names = gguf.get_tensor_name_map(arch_enum, n_layer)
    heads = config.get("num_attention_heads") or config.get("n_head")
    kv_heads = config.get("num_key_value_heads") or heads
    out: list[tuple[str, Any]] = []
    skipped = []
    for key, w in weights.items():
        if key.endswith((".attn.bias", ".attn.masked_bias", "rotary_emb.inv_freq")):
            continue  # buffers, not weights
        name = names.get_name(key, try_suffixes=(".weight", ".bias"))
        if name is None:
            skipped.append(key)
            continue
        if arch == "gpt2" and key.endswith(
            (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")
        ):
            w = w.T  # Conv1D keeps (in, out); llama.cpp wants (out, in)
        if arch == "llama" and key.endswith("q_proj.weight"):
            w = _permute(w, heads)
        elif arch == "llama" and key.endswith("k_proj.weight"):
            w = _permute(w, kv_heads)
        if name in ("token_embd.weight", "output.weight") and w.shape[0] < n_vocab:
            w = np.concatenate([w, np.zeros((n_vocab - w.shape[0], w.shape[1]), dtype=w.dtype)])
        out.append((name, np.ascontiguousarray(w)))
    if skipped:
        raise InputError(
            f"These weights have no GGUF name for a {arch} model: {', '.join(skipped[:5])}; the model"
            " is not the plain architecture its config names (a merged adapter, an extra head?)."
        )
    have = {n for n, _ in out}
    if arch == "gpt2" and "output.weight" not in have:
        # GPT-2 ties its output to the embeddings; llama.cpp's converter writes both
        out.append(("output.weight", dict(out)["token_embd.weight"]))
    return out


def _encode_tensor(name: str, w, dtype: str):
    import gguf
    import numpy as np

    if w.ndim <= 1 or dtype == "f32" or name == "position_embd.weight":
        return w.astype(np.float32), None
    if dtype == "q8_0" and w.shape[-1] % 32 == 0:
        kind = gguf.GGMLQuantizationType.Q8_0
        return gguf.quants.quantize(w.astype(np.float32), kind), kind
    return w.astype(np.float16), None


def _resolve_folder(run_or_folder: Any) -> Path:
    """A model folder from a run (name, ``Run``, ``RunDir``) or a path."""
    from tokenlens.finetune.spec import RunDir, runs_dir

    if hasattr(run_or_folder, "dir") and isinstance(run_or_folder.dir, RunDir):
        run_or_folder = run_or_folder.dir
    if isinstance(run_or_folder, RunDir):
        folder = run_or_folder.final
    else:
        path = Path(str(run_or_folder)).expanduser()
        if (path / "config.json").is_file():
            folder = path
        elif (path / "final" / "config.json").is_file():
            folder = path / "final"
        elif "/" not in str(run_or_folder) and (runs_dir() / str(run_or_folder) / "spec.json").is_file():
            folder = runs_dir() / str(run_or_folder) / "final"
        else:
            folder = path
    if not (folder / "config.json").is_file():
        raise InputError(
            f"No trained model at {folder}: give a run name whose run has completed (its final/ folder),"
            " a run folder, or a folder saved with save_pretrained() holding config.json."
        )
    return folder


def export_gguf(
    run_or_folder: Any, out: str | Path | None = None, dtype: str = "f16", name: str | None = None
) -> Export:
    """Write the model and tokenizer of a run (or a ``save_pretrained`` folder) as one GGUF file
    plus an Ollama ``Modelfile`` beside it.

    ``dtype``: ``"f16"`` (default), ``"q8_0"`` (8-bit, about half the size) or ``"f32"``.
    ``out``: the .gguf path, or a folder for ``model-<dtype>.gguf``; default: the model folder.
    """
    import gguf

    if dtype not in DTYPES:
        raise InputError(f"dtype {dtype!r}: choose one of {', '.join(DTYPES)}.")
    folder = _resolve_folder(run_or_folder)
    config = _read_json(folder / "config.json")
    model_type = config.get("model_type")
    arch = ARCHITECTURES.get(model_type)
    if arch is None:
        raise InputError(
            f"{folder} holds a {model_type!r} model; GGUF export supports"
            f" {', '.join(sorted(ARCHITECTURES))} (GPT-2 and Llama-family architectures)."
        )
    target = Path(out).expanduser() if out else folder / f"model-{dtype}.gguf"
    if target.suffix != ".gguf":
        target = target / f"model-{dtype}.gguf"
    target.parent.mkdir(parents=True, exist_ok=True)

    weights = _load_weights(folder)
    embed = next((w for k, w in weights.items() if k.endswith(("wte.weight", "embed_tokens.weight"))), None)
    n_vocab = max(config.get("vocab_size") or 0, embed.shape[0] if embed is not None else 0)
    tok_meta = tokenizer_metadata(folder, n_vocab)
    n_vocab = len(tok_meta["tokenizer.ggml.tokens"])
    tensors = [(n, *_encode_tensor(n, w, dtype)) for n, w in _tensors(arch, config, weights, n_vocab)]
    del weights

    tmp = target.with_name(target.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)
    writer.add_name(name or folder.parent.name if folder.name == "final" else (name or folder.name))
    writer.add_file_type(
        {
            "f32": gguf.LlamaFileType.ALL_F32,
            "f16": gguf.LlamaFileType.MOSTLY_F16,
            "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
        }[dtype]
    )
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    if arch != "gpt2":
        writer.add_vocab_size(n_vocab)
    _hparams(arch, config, writer)
    for key, value in tok_meta.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        elif key == "tokenizer.ggml.scores":
            writer.add_token_scores(value)
        elif key == "tokenizer.ggml.token_type":
            writer.add_token_types(value)
        else:
            writer.add_array(key, value)
    for tname, data, raw_dtype in tensors:
        writer.add_tensor(tname, data, raw_dtype=raw_dtype)
    try:
        try:
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a cut-short write leaves no file of gigabytes behind
        raise

    tokens = tok_meta["tokenizer.ggml.tokens"]
    eos = tok_meta.get("tokenizer.ggml.eos_token_id")
    bos = tok_meta.get("tokenizer.ggml.bos_token_id")
    controls = [t for t, k in zip(tokens, tok_meta["tokenizer.ggml.token_type"]) if k == 3]
    template = tok_meta.get("tokenizer.chat_template")
    from tokenlens.gguf.modelfile import modelfile

    config_tokens = {
        "bos_token": tokens[bos] if bos is not None else "",
        "eos_token": tokens[eos] if eos is not None else "",
    }
    text = modelfile(
        target.name,
        template,
        config_tokens,
        stop=[tokens[eos]] if eos is not None else [],
        bos=tokens[bos] if bos is not None and tok_meta.get("tokenizer.ggml.add_bos_token") else None,
        control_tokens=controls,
    )
    mf = target.parent / "Modelfile"
    mf.write_text(text, encoding="utf-8")
    notes = []
    if template and "TEMPLATE" not in text:
        notes.append("The chat template was left to Ollama (it reads it from the GGUF file).")
    return Export(
        target,
        mf,
        arch,
        dtype,
        tok_meta["tokenizer.ggml.model"],
        tok_meta.get("tokenizer.ggml.pre"),
        len(tensors),
        target.stat().st_size,
        notes,
    )


__all__ = ["ARCHITECTURES", "DTYPES", "Export", "export_gguf", "tokenizer_metadata"]
