"""A tiny causal LM for the prediction tests, made in the test, not downloaded: a 2-layer GPT-2
with the shared GPT-2 tokenizer whose weights are set by hand to a bigram model of a few
sentences. Its blocks add nothing (zero output projections, zero position embeddings), so the
last hidden state of token k is its embedding row h_k: zero-mean, orthogonal ±1 patterns
(Hadamard rows), unchanged by the final LayerNorm. The untied output rows are
``sum_k (SCALE + log P(v | k)) * h_k / DIM`` over the pairs seen, so the logit of v after k is
``SCALE + log P(v | k)`` when the pair was seen, else 0: the model spreads its probability like
the bigram counts, and the probabilities are known in closed form (see :func:`expected_prob`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .conftest import TOKENIZERS

DIM = 64
SCALE = 16.0
EOS = 50256


def gpt2_tokenizer():
    """The shared GPT-2 rank file as a transformers fast tokenizer (no download)."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    from tokenlens.core.resolve import resolve

    pattern = resolve("gpt2").encoding._pat_str
    converted = TikTokenConverter(
        vocab_file=str(TOKENIZERS / "gpt2" / "r50k_base.tiktoken"),
        pattern=pattern,
        extra_special_tokens={"<|endoftext|>": EOS},
    ).converted()
    return PreTrainedTokenizerFast(tokenizer_object=converted, eos_token="<|endoftext|>", bos_token="<|endoftext|>")


def bigrams(tok, texts: list[str]) -> dict[int, Counter]:
    follows: dict[int, Counter] = defaultdict(Counter)
    for text in texts:
        ids = tok(text)["input_ids"] + [EOS]
        for a, b in zip(ids, ids[1:]):
            follows[a][b] += 1
    return follows


def build_bigram_lm(folder: Path, texts: list[str]) -> dict[int, Counter]:
    """Save the hand-set model and its tokenizer in ``folder`` (safetensors); return the bigram counts."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config

    tok = gpt2_tokenizer()
    follows = bigrams(tok, texts)
    vocab = len(tok)
    config = GPT2Config(
        vocab_size=vocab,
        n_positions=64,
        n_embd=DIM,
        n_layer=2,
        n_head=2,
        bos_token_id=EOS,
        eos_token_id=EOS,
        tie_word_embeddings=False,
    )
    model = AutoModelForCausalLM.from_config(config)
    hadamard = np.array([[1.0]])
    while hadamard.shape[0] < DIM:
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    patterns = torch.tensor(hadamard[1:], dtype=torch.float32)  # row 0 is all ones: not zero-mean
    seen = sorted(set(follows) | {b for c in follows.values() for b in c})
    assert len(seen) < len(patterns), "too many distinct tokens for the hand-set model"
    with torch.no_grad():
        wte = model.transformer.wte.weight
        wte.zero_()
        wte[:] = patterns[-1]  # tokens never seen all share one pattern, followed by nothing
        for k, token in enumerate(seen):
            wte[token] = patterns[k]
        model.transformer.wpe.weight.zero_()
        for block in model.transformer.h:
            block.attn.c_proj.weight.zero_()
            block.attn.c_proj.bias.zero_()
            block.mlp.c_proj.weight.zero_()
            block.mlp.c_proj.bias.zero_()
        head = model.lm_head.weight
        head.zero_()
        for a, counts in follows.items():
            total = sum(counts.values())
            for b, n in counts.items():
                head[b] += (SCALE + float(np.log(n / total))) * wte[a] / DIM
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return follows


def expected_prob(follows: dict[int, Counter], vocab: int, a: int, b: int) -> float:
    """P(b | a) of the hand-set model: softmax over logits SCALE * P_bigram(v | a)."""
    counts = follows.get(a, Counter())
    total = sum(counts.values()) or 1
    logits = {v: SCALE + float(np.log(n / total)) for v, n in counts.items()}
    z = sum(np.exp(x) for x in logits.values()) + (vocab - len(logits))
    return float(np.exp(logits.get(b, 0.0)) / z)
