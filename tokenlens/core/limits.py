"""The library's limits, in one place: how much one call may read, build, keep or compute.

Each limit has a default that suits a laptop. In a kernel, change one with
``tokenlens.core.limits.configure(name=value)``; the Jupyter server sets them from its
``TokenLens`` options (``--TokenLens.<name>=…``, see README "Limits and settings") when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from tokenlens.errors import InputError


@dataclass
class Limits:
    #: memory (bytes, estimated) the loaded-tokenizer cache may keep; least recently used go first
    tokenizer_cache_bytes: int = 512 * 1024 * 1024
    #: characters (bytes in byte-level BPE) of a word the training report builds merge by merge; longer words are cut
    report_word_chars: int = 64
    #: seconds a launched trainer may take to start (hold its run's lock) before the launch is undone
    finetune_start_seconds: int = 300
    #: tokens one GGUF vocabulary may hold (the largest published ones hold about 262,000)
    gguf_vocab_tokens: int = 1_000_000
    #: characters in one GGUF vocabulary piece (GPT-4o's and Llama 3's longest have 128)
    gguf_piece_chars: int = 1024
    #: merges a GGUF tokenizer may have, read from the file or derived from its scores
    gguf_merges: int = 4_000_000
    #: characters in all of a GGUF tokenizer's merges together, which the engine copies
    gguf_merge_chars: int = 32_000_000
    #: largest file one tokenizer download from the Hugging Face hub may fetch (bytes; checked before fetching)
    hub_download_bytes: int = 128 * 1024 * 1024
    #: memory (bytes of weights) the loaded-model cache of next_tokens/generate may keep; least recently used go first
    model_cache_bytes: int = 2 * 1024 * 1024 * 1024
    #: memory (bytes) one chunk of next-token scores may take (positions × vocabulary × 16); longer texts go chunk by chunk
    predict_chunk_bytes: int = 256 * 1024 * 1024
    #: most tokens one generate() call may add
    generate_tokens: int = 512
    #: most characters a chat template may render (its output, and any one string it builds)
    chat_template_chars: int = 1_000_000
    #: milliseconds a chat template may take to render
    chat_template_ms: int = 2000
    #: tokens an n-gram model (ngram_lm) may count from its texts; its tables grow with them
    ngram_tokens: int = 10_000_000
    #: largest tokenizer file (bytes) sent to a web page to count in (rank table or tokenizer.json); larger ones count on the server
    page_file_bytes: int = 64 * 1024 * 1024
    #: texts whose token counts stats() keeps one by one (Stats.token_counts, 8 bytes each); beyond, a bounded summary
    stats_row_counts: int = 1_000_000


LIMITS = Limits()


def raise_hint(name: str) -> str:
    """How a person raises the limit ``name``, said the same way in every error message."""
    return (
        f"If it is genuine, raise {name} (tokenlens.core.limits.configure({name}=...) in a kernel,"
        f" --TokenLens.{name}=... on the Jupyter server)."
    )


def configure(**values: int) -> Limits:
    """Change limits by name (``configure(tokenizer_cache_bytes=2**28)``); returns the limits now in force."""
    known = {f.name for f in fields(Limits)}
    for name, value in values.items():
        if name not in known:
            raise InputError(f"No limit named {name!r}. Known limits: {', '.join(sorted(known))}.")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(f"Limit {name!r} takes a whole number of 0 or more, not {value!r}.")
        setattr(LIMITS, name, value)
    return LIMITS
