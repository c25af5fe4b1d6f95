"""Names a trained tokenizer may not take because they already name a tokenizer elsewhere.

Trained tokenizers are looked up before tiktoken's encodings and the Hugging Face hub (see
``tokenlens.core.resolve``), so one saved as ``gpt2`` would silently take GPT-2's place in every
cell, in the side panel and in the server. :func:`shadowed` says what a name would hide;
:func:`free_name` offers one that hides nothing.
"""

from __future__ import annotations

#: Hub models whose id has no owner: the hub's first models, kept under their old names. New
#: repositories always have an owner ("owner/name", which a trained name cannot have), so this
#: list is closed.
OWNERLESS_HUB_IDS = frozenset(
    {
        *(f"albert-{size}-v{v}" for size in ("base", "large", "xlarge", "xxlarge") for v in (1, 2)),
        "bert-base-uncased",
        "bert-large-uncased",
        "bert-base-cased",
        "bert-large-cased",
        "bert-base-multilingual-uncased",
        "bert-base-multilingual-cased",
        "bert-base-chinese",
        "bert-base-german-cased",
        "bert-base-german-dbmdz-cased",
        "bert-base-german-dbmdz-uncased",
        "bert-base-cased-finetuned-mrpc",
        "bert-large-uncased-whole-word-masking",
        "bert-large-cased-whole-word-masking",
        "bert-large-uncased-whole-word-masking-finetuned-squad",
        "bert-large-cased-whole-word-masking-finetuned-squad",
        "camembert-base",
        "ctrl",
        "distilbert-base-uncased",
        "distilbert-base-uncased-distilled-squad",
        "distilbert-base-uncased-finetuned-sst-2-english",
        "distilbert-base-cased",
        "distilbert-base-cased-distilled-squad",
        "distilbert-base-german-cased",
        "distilbert-base-multilingual-cased",
        "distilgpt2",
        "distilroberta-base",
        "gpt2",
        "gpt2-medium",
        "gpt2-large",
        "gpt2-xl",
        "openai-gpt",
        "roberta-base",
        "roberta-large",
        "roberta-large-mnli",
        "roberta-base-openai-detector",
        "roberta-large-openai-detector",
        "t5-small",
        "t5-base",
        "t5-large",
        "t5-3b",
        "t5-11b",
        "transfo-xl-wt103",
        "xlm-mlm-en-2048",
        "xlm-mlm-ende-1024",
        "xlm-mlm-enfr-1024",
        "xlm-mlm-enro-1024",
        "xlm-mlm-tlm-xnli15-1024",
        "xlm-mlm-xnli15-1024",
        "xlm-clm-enfr-1024",
        "xlm-clm-ende-1024",
        "xlm-mlm-17-1280",
        "xlm-mlm-100-1280",
        "xlm-roberta-base",
        "xlm-roberta-large",
        "xlm-roberta-large-finetuned-conll02-dutch",
        "xlm-roberta-large-finetuned-conll02-spanish",
        "xlm-roberta-large-finetuned-conll03-english",
        "xlm-roberta-large-finetuned-conll03-german",
        "xlnet-base-cased",
        "xlnet-large-cased",
    }
)


def shadowed(name: str) -> str | None:
    """What a trained tokenizer called ``name`` would hide from ``tokenlens.load``, or None."""
    from tokenlens.backends.tiktoken_backend import KNOWN_ENCODINGS

    folded = name.lower()  # the hub answers to an id in any case; tiktoken's names are lower case
    if folded in KNOWN_ENCODINGS:
        return f"tiktoken's {folded} encoding"
    if folded in OWNERLESS_HUB_IDS:
        return f"the Hugging Face hub model {folded!r}"
    if folded in _cached_hub_ids():
        return f"the Hugging Face hub model {name!r} in this machine's hub cache"
    return None


def _cached_hub_ids() -> set[str]:
    from tokenlens.core.resolve import available

    return {e.name.lower() for e in available() if e.source == "hub-cache"}


def free_name(name: str) -> str:
    """A name like ``name`` that hides nothing and is not taken (``gpt2`` → ``gpt2-trained``)."""
    from tokenlens.core.resolve import _PLAIN_NAME, registry_dir, search_path

    roots = [*search_path(), registry_dir()]
    stem = name[:100]
    for candidate in (f"{stem}-trained", f"my-{stem}", *(f"{stem}-trained-{k}" for k in range(2, 100))):
        if (
            _PLAIN_NAME.match(candidate)
            and shadowed(candidate) is None
            and not any((root / candidate).exists() for root in roots)
        ):
            return candidate
    return "my-tokenizer"


__all__ = ["OWNERLESS_HUB_IDS", "free_name", "shadowed"]
