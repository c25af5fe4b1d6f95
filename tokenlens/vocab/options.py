"""The ``tokenizers`` pipeline a training run builds, from options a person can read.

The words are the library's own — normalizer → pre-tokenizer → model → post-processor →
decoder — and the trainers are its trainers:

- ``bpe``: byte-level BPE as in GPT-2 (every byte is in the alphabet, so no text is ever unknown);
- ``char-bpe``: BPE over characters, words marked by ``▁`` as in SentencePiece/Llama (optionally
  with byte fallback for characters it never saw);
- ``wordpiece``: BERT-style WordPiece with ``##`` continuation pieces;
- ``unigram``: SentencePiece-style Unigram language model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from tokenlens.errors import TokenlensError

#: algorithm name → what it is, in words
ALGORITHMS = {
    "bpe": "byte-level BPE (GPT-2 style)",
    "char-bpe": "character BPE (SentencePiece/Llama style)",
    "wordpiece": "WordPiece (BERT style)",
    "unigram": "Unigram (SentencePiece style)",
}

#: pre-tokenizer name → what it does; several may be chained in order
PRE_TOKENIZERS = {
    "byte-level": "GPT-2's split of words, spaces, digits and punctuation, then bytes (bpe only)",
    "gpt2": "GPT-2's regular expression",
    "cl100k": "GPT-4's (cl100k) regular expression: digits in groups of three, case-insensitive contractions",
    "whitespace": "split on spaces and punctuation, dropping the spaces",
    "bert": "BERT's split: spaces, punctuation and CJK characters",
    "metaspace": "spaces become ▁ that start each word (SentencePiece)",
    "digits": "every digit on its own",
}

NORMALIZERS = ("none", "nfc", "nfkc", "nfd", "nfkd")

#: GPT-2's published pattern (the tiktoken one uses possessive quantifiers that the
#: ``tokenizers`` regex engine reads differently; this form splits the same way)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: cl100k's pattern without possessive quantifiers, as Hugging Face's converters write it
CL100K_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

_DEFAULT_PRE = {"bpe": ["byte-level"], "char-bpe": ["metaspace"], "wordpiece": ["bert"], "unigram": ["metaspace"]}
_DEFAULT_SPECIALS = {
    "bpe": ["<|endoftext|>"],
    "char-bpe": ["<unk>", "<s>", "</s>"],
    "wordpiece": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "unigram": ["<unk>", "<s>", "</s>"],
}
_UNK = {"bpe": None, "char-bpe": "<unk>", "wordpiece": "[UNK]", "unigram": "<unk>"}
_BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]


class TrainingError(TokenlensError):
    """Training cannot be done as asked (options, vocabulary size, target name)."""


# -- options ------------------------------------------------------------------------------------
@dataclass
class TrainingOptions:
    """Every choice that shapes the trained tokenizer; checked by :meth:`checked`."""

    algorithm: str = "bpe"
    vocab_size: int = 8000
    min_frequency: int | None = None
    special_tokens: list[str] | None = None
    normalizer: str = "none"
    lowercase: bool = False
    strip_accents: bool = False
    pre_tokenizer: list[str] | None = None
    byte_fallback: bool = False
    limit_alphabet: int | None = None
    continuing_subword_prefix: str | None = None
    seed: int = 0

    def checked(self) -> TrainingOptions:
        a = self.algorithm = str(self.algorithm).lower()
        if a not in ALGORITHMS:
            raise TrainingError(
                f"Unknown algorithm {self.algorithm!r}; choose one of "
                + ", ".join(f"{k} ({v})" for k, v in ALGORITHMS.items())
                + "."
            )
        try:
            self.vocab_size = int(self.vocab_size)
        except (TypeError, ValueError):
            raise TrainingError(f"The vocabulary size must be a whole number, not {self.vocab_size!r}.") from None
        if self.vocab_size < 1:
            raise TrainingError(f"The vocabulary size must be positive, not {self.vocab_size}.")
        self.normalizer = str(self.normalizer or "none").lower()
        if self.normalizer not in NORMALIZERS:
            raise TrainingError(f"Unknown normalizer {self.normalizer!r}; choose one of {', '.join(NORMALIZERS)}.")
        pre = [str(p).lower() for p in (self.pre_tokenizer or _DEFAULT_PRE[a])]
        unknown = [p for p in pre if p not in PRE_TOKENIZERS]
        if unknown:
            raise TrainingError(
                f"Unknown pre-tokenizer {unknown[0]!r}; choose among: "
                + "; ".join(f"{k} ({v})" for k, v in PRE_TOKENIZERS.items())
                + ". Several may be given; they run in order."
            )
        if "byte-level" in pre and (a != "bpe" or pre[-1] != "byte-level"):
            raise TrainingError(
                "The byte-level pre-tokenizer turns text into bytes, so it belongs to --algorithm bpe"
                " and must come last."
            )
        self.pre_tokenizer = pre
        specials = list(self.special_tokens) if self.special_tokens is not None else list(_DEFAULT_SPECIALS[a])
        unk = _UNK[a]
        if unk and unk not in specials:
            specials.insert(0, unk)  # the model needs its unknown token in the vocabulary
        if len(set(specials)) != len(specials) or any(not isinstance(s, str) or not s for s in specials):
            raise TrainingError(f"Special tokens must be distinct, non-empty strings: {specials}.")
        self.special_tokens = specials
        if self.min_frequency is not None:
            if a == "unigram":
                raise TrainingError("Unigram has no minimum pair frequency; leave --min-frequency out.")
            self.min_frequency = int(self.min_frequency)
            if self.min_frequency < 0:
                raise TrainingError("The minimum frequency cannot be negative.")
        if self.byte_fallback and a not in ("char-bpe", "unigram"):
            why = (
                "byte-level BPE already reads every byte, so nothing is ever unknown"
                if a == "bpe"
                else "WordPiece has no byte fallback in the tokenizers library (unknown words become [UNK])"
            )
            raise TrainingError(f"--byte-fallback applies to char-bpe and unigram only: {why}.")
        if self.limit_alphabet is not None:
            if a == "unigram":
                raise TrainingError(
                    "Unigram keeps every character it needs; --limit-alphabet applies to bpe, char-bpe and wordpiece."
                )
            self.limit_alphabet = int(self.limit_alphabet)
            if self.limit_alphabet < 1:
                raise TrainingError("--limit-alphabet must be at least 1.")
        if self.continuing_subword_prefix is not None and a == "unigram":
            raise TrainingError(
                "Unigram pieces carry no continuation prefix; --continuing-subword-prefix applies"
                " to the BPE family and WordPiece."
            )
        if a == "wordpiece" and not self.continuing_subword_prefix:
            self.continuing_subword_prefix = "##"
        floor = self.smallest_vocab()
        if floor is not None and self.vocab_size < floor:
            raise TrainingError(
                f"A vocabulary of {self.vocab_size} is smaller than the alphabet: byte-level BPE"
                f" starts from all 256 bytes plus {len(specials)} special token(s). Ask for at least"
                f" {floor} (e.g. --vocab-size {max(floor, 1000)})."
            )
        return self

    def smallest_vocab(self) -> int | None:
        """The smallest vocabulary size known before reading the corpus (None: depends on it)."""
        specials = len(self.special_tokens or [])
        if self.algorithm == "bpe":
            return 256 + specials + 1
        if self.byte_fallback:
            return 256 + specials + 1
        return None

    @property
    def end_of_word_suffix(self) -> str | None:
        # Classic character BPE marks word ends when the pre-tokenizer drops the spaces.
        pre = self.pre_tokenizer or []
        if self.algorithm == "char-bpe" and {"whitespace", "bert"} & set(pre) and "metaspace" not in pre:
            return "</w>"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "end_of_word_suffix": self.end_of_word_suffix}


def _normalizer(opts: TrainingOptions):
    from tokenizers import normalizers as n

    forms = {"nfc": n.NFC, "nfkc": n.NFKC, "nfd": n.NFD, "nfkd": n.NFKD}
    steps = []
    if opts.strip_accents:
        steps += [n.NFKD() if opts.normalizer.startswith("nfk") else n.NFD(), n.StripAccents()]
        if opts.normalizer in ("nfc", "nfkc"):
            steps.append(n.NFC())
    elif opts.normalizer != "none":
        steps.append(forms[opts.normalizer]())
    if opts.lowercase:
        steps.append(n.Lowercase())
    if not steps:
        return None
    return steps[0] if len(steps) == 1 else n.Sequence(steps)


def _pre_tokenizer(opts: TrainingOptions):
    from tokenizers import Regex
    from tokenizers import pre_tokenizers as p

    parts = []
    for name in opts.pre_tokenizer or []:
        if name == "byte-level":
            parts.append(p.ByteLevel(add_prefix_space=False, use_regex=True))
        elif name == "gpt2":
            parts.append(p.Split(Regex(GPT2_PATTERN), behavior="isolated"))
        elif name == "cl100k":
            parts.append(p.Split(Regex(CL100K_PATTERN), behavior="isolated"))
        elif name == "whitespace":
            parts.append(p.Whitespace())
        elif name == "bert":
            parts.append(p.BertPreTokenizer())
        elif name == "metaspace":
            parts.append(p.Metaspace(replacement="\u2581", prepend_scheme="always"))
        elif name == "digits":
            parts.append(p.Digits(individual_digits=True))
    if opts.algorithm == "bpe" and "byte-level" not in (opts.pre_tokenizer or []):
        parts.append(p.ByteLevel(add_prefix_space=False, use_regex=False))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else p.Sequence(parts)


def _decoder(opts: TrainingOptions):
    from tokenizers import decoders as d

    a = opts.algorithm
    if a == "bpe":
        return d.ByteLevel()
    if a == "wordpiece":
        return d.WordPiece(prefix=opts.continuing_subword_prefix or "##")
    steps = [d.ByteFallback(), d.Fuse()] if opts.byte_fallback else []
    suffix = opts.end_of_word_suffix
    if suffix:
        # the suffix is replaced token by token, so it runs before the tokens are fused
        return d.Sequence([d.BPEDecoder(suffix=suffix)] + steps) if steps else d.BPEDecoder(suffix=suffix)
    if "metaspace" in (opts.pre_tokenizer or []):
        if steps:
            # as Llama 2: ▁ back to spaces token by token, bytes to characters, then drop the
            # space the pre-tokenizer put before the first word (the Metaspace decoder, run after
            # Fuse, would drop every space)
            return d.Sequence([d.Replace("\u2581", " "), *steps, d.Strip(" ", 1, 0)])
        return d.Metaspace(replacement="\u2581", prepend_scheme="always")
    return d.Sequence(steps) if steps else d.Fuse()


def _post_processor(opts: TrainingOptions):
    from tokenizers import processors

    if opts.algorithm == "bpe":
        return processors.ByteLevel(trim_offsets=False)
    specials = opts.special_tokens or []
    if opts.algorithm == "wordpiece" and "[CLS]" in specials and "[SEP]" in specials:
        cls_id, sep_id = specials.index("[CLS]"), specials.index("[SEP]")
        return processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
        )
    return None


def build_pipeline(opts: TrainingOptions):
    """An untrained ``tokenizers.Tokenizer`` and its trainer, set up from ``opts``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    a = opts.algorithm
    specials = list(opts.special_tokens or [])
    # byte fallback tokens count towards the vocabulary the user asked for
    size = opts.vocab_size - (256 if opts.byte_fallback else 0)
    common: dict[str, Any] = {"vocab_size": size, "show_progress": False, "special_tokens": specials}
    prefix = opts.continuing_subword_prefix
    if a in ("bpe", "char-bpe", "wordpiece"):
        if opts.min_frequency is not None:
            common["min_frequency"] = opts.min_frequency
        if opts.limit_alphabet is not None:
            common["limit_alphabet"] = opts.limit_alphabet
    if a == "bpe":
        model = models.BPE(continuing_subword_prefix=prefix) if prefix else models.BPE()
        trainer = trainers.BpeTrainer(
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            **({"continuing_subword_prefix": prefix} if prefix else {}),
            **common,
        )
    elif a == "char-bpe":
        kwargs: dict[str, Any] = {"unk_token": "<unk>"}
        extra: dict[str, Any] = {}
        if prefix:
            kwargs["continuing_subword_prefix"] = extra["continuing_subword_prefix"] = prefix
        if opts.end_of_word_suffix:
            kwargs["end_of_word_suffix"] = extra["end_of_word_suffix"] = opts.end_of_word_suffix
        model = models.BPE(**kwargs)
        trainer = trainers.BpeTrainer(**extra, **common)
    elif a == "wordpiece":
        model = models.WordPiece(unk_token="[UNK]", continuing_subword_prefix=prefix, max_input_chars_per_word=100)
        trainer = trainers.WordPieceTrainer(continuing_subword_prefix=prefix, **common)
    else:
        model = models.Unigram()
        trainer = trainers.UnigramTrainer(unk_token="<unk>", **common)
    tok = Tokenizer(model)
    normalizer = _normalizer(opts)
    if normalizer is not None:
        tok.normalizer = normalizer
    pre = _pre_tokenizer(opts)
    if pre is not None:
        tok.pre_tokenizer = pre
    tok.decoder = _decoder(opts)
    post = _post_processor(opts)
    if post is not None:
        tok.post_processor = post
    return tok, trainer


def trainer_words(trainer) -> dict[str, int]:
    """The word counts the trainer gathered (its serialised state keeps them)."""
    state = json.loads(trainer.__getstate__())
    inner = next(iter(state.values()))
    if "bpe_trainer" in inner:  # WordPiece wraps a BPE trainer
        inner = inner["bpe_trainer"]
    if "words" not in inner:
        import tokenizers

        raise TrainingError(
            f"tokenizers {tokenizers.__version__} does not keep the word counts in its trainer, which"
            " tokenlens reads to count merge frequencies; install tokenizers 0.23 (pip install"
            " 'tokenizers>=0.23,<0.24')."
        )
    return inner["words"] or {}


def with_byte_fallback(tok, opts: TrainingOptions):
    """Insert the 256 byte tokens ``<0x00>``…``<0xFF>`` after the special tokens.

    The trainers do not make them; Llama 2's vocabulary has them in the same place. Ids of the
    learnt tokens move up by 256 but keep their order.
    """
    from tokenizers import Tokenizer

    spec = json.loads(tok.to_str())
    model = spec["model"]
    n_special = len(opts.special_tokens or [])
    if model["type"] == "BPE":
        vocab = model["vocab"]
        shifted = {}
        for token, i in vocab.items():
            shifted[token] = i if i < n_special else i + 256
        for k, b in enumerate(_BYTE_TOKENS):
            shifted.setdefault(b, n_special + k)
        model["vocab"] = dict(sorted(shifted.items(), key=lambda kv: kv[1]))
        model["byte_fallback"] = True
    else:  # Unigram: a list of [piece, score]
        pieces = model["vocab"]
        lowest = min((s for _, s in pieces), default=0.0)
        byte_pieces = [[b, lowest - 10.0] for b in _BYTE_TOKENS]
        model["vocab"] = pieces[:n_special] + byte_pieces + pieces[n_special:]
        if model.get("unk_id") is not None and model["unk_id"] >= n_special:
            model["unk_id"] += 256
        model["byte_fallback"] = True
    for added in spec.get("added_tokens") or []:
        if added["id"] >= n_special:
            added["id"] += 256
    return Tokenizer.from_str(json.dumps(spec))


__all__ = [
    "ALGORITHMS",
    "CL100K_PATTERN",
    "GPT2_PATTERN",
    "NORMALIZERS",
    "PRE_TOKENIZERS",
    "TrainingError",
    "TrainingOptions",
    "build_pipeline",
    "trainer_words",
    "with_byte_fallback",
]
