"""Train a tokenizer on your own text, save it where every kernel and the server find it, and keep
what is needed to show how it was made.

The pipeline uses the vocabulary of the ``tokenizers`` library — normalizer → pre-tokenizer →
model → post-processor → decoder — and its trainers do the learning:

- ``bpe``: byte-level BPE as in GPT-2 (every byte is in the alphabet, so no text is ever unknown);
- ``char-bpe``: BPE over characters, words marked by ``▁`` as in SentencePiece/Llama (optionally
  with byte fallback for characters it never saw);
- ``wordpiece``: BERT-style WordPiece with ``##`` continuation pieces;
- ``unigram``: SentencePiece-style Unigram language model.

:func:`train_tokenizer` streams the corpus (see :mod:`tokenlens.corpus`), trains in a worker thread
so that the cell can be stopped, counts the frequency of every merge (see
:mod:`tokenlens.merge_table`), measures the fit on held-out text, and saves the folder atomically
into the registry (:func:`tokenlens.hub.registry_dir`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .corpus import Corpus, CorpusError, TrainingInterrupted, expand_files
from .errors import InputError, TokenlensError
from .merge_table import Merge, build_steps, initial_symbols, replay_merges, replay_wordpiece

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

#: the file in a trained folder that holds what tokenlens learnt about the training
TRAINING_FILE = "tokenlens_training.json"
TRAINING_FORMAT = 1

#: the fit is measured on at most this many characters of held-out text
FIT_MAX_CHARS = 1_000_000


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

    def checked(self) -> "TrainingOptions":
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
                raise TrainingError("Unigram keeps every character it needs; --limit-alphabet applies to bpe, char-bpe and wordpiece.")
            self.limit_alphabet = int(self.limit_alphabet)
            if self.limit_alphabet < 1:
                raise TrainingError("--limit-alphabet must be at least 1.")
        if self.continuing_subword_prefix is not None and a == "unigram":
            raise TrainingError("Unigram pieces carry no continuation prefix; --continuing-subword-prefix applies to the BPE family and WordPiece.")
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


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("jupyterlab-tokenlens")
    except Exception:  # noqa: BLE001 - a source checkout that was never installed
        return "unknown"


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


def _trainer_words(trainer) -> dict[str, int]:
    """The word counts the trainer gathered (its serialised state keeps them)."""
    state = json.loads(trainer.__getstate__())
    inner = next(iter(state.values()))
    if "bpe_trainer" in inner:  # WordPiece wraps a BPE trainer
        inner = inner["bpe_trainer"]
    return inner.get("words") or {}


def _with_byte_fallback(tok, opts: TrainingOptions):
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


def _alphabet_size(vocab: dict[str, int], n_special: int, merges_made: set[str]) -> int:
    return sum(1 for t, i in vocab.items() if i >= n_special and t not in merges_made and not t.startswith("<0x"))


# -- progress and resources ---------------------------------------------------------------------
@dataclass
class TrainingProgress:
    """A snapshot for a progress display."""

    phase: str
    elapsed: float
    bytes_read: int = 0
    bytes_total: int | None = None
    lines: int = 0
    rss: int = 0
    done: bool = False
    message: str = ""


def _rss() -> int:
    """This process's resident memory in bytes (Linux /proc; 0 where unknown)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def _peak_rss_so_far() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except (ImportError, OSError):
        return 0


class _Watch:
    """Times the phases, samples memory and feeds the progress callback."""

    def __init__(self, callback: Callable[[TrainingProgress], None] | None, corpus: Corpus):
        self.callback = callback
        self.corpus = corpus
        self.start = time.perf_counter()
        self.rss_start = _rss()
        self.rss_peak = self.rss_start
        self.phase_name = ""
        self.phase_start = self.start
        self.seconds: dict[str, float] = {}
        self._last_report = 0.0

    def phase(self, name: str, key: str | None = None) -> None:
        now = time.perf_counter()
        if self.phase_name and key is not False:
            self.seconds[self._key] = self.seconds.get(self._key, 0.0) + now - self.phase_start
        self.phase_name, self._key, self.phase_start = name, key or name, now
        self.tick(force=True)

    def close(self) -> None:
        self.phase("done", key="_done")
        self.seconds.pop("_done", None)
        self.seconds["total"] = time.perf_counter() - self.start

    def tick(self, force: bool = False) -> None:
        rss = _rss()
        self.rss_peak = max(self.rss_peak, rss)
        now = time.perf_counter()
        if self.callback is None or (not force and now - self._last_report < 0.5):
            return
        self._last_report = now
        s = self.corpus.stats
        self.callback(
            TrainingProgress(
                phase=self.phase_name,
                elapsed=now - self.start,
                bytes_read=s.bytes_read,
                bytes_total=s.bytes_total,
                lines=s.lines,
                rss=rss,
                done=self.phase_name == "done",
            )
        )


def _train_in_thread(tok, trainer, corpus: Corpus, watch: _Watch) -> None:
    """Run the trainer in a worker thread so Ctrl-C reaches this (main) thread at once.

    The trainer pulls the corpus from the worker, so stopping the corpus ends a run that is still
    reading within a line; a run already learning merges (Rust, no way in) finishes in the
    background and its result is thrown away.
    """
    box: dict[str, BaseException] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            tok.train_from_iterator(corpus.batches(), trainer=trainer)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            box["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="tokenlens-train", daemon=True)
    worker.start()
    learning = False
    try:
        # An Event, not Thread.join: a join interrupted by Ctrl-C can mark a running thread as
        # stopped (CPython gh-90882), and we must know whether the trainer still runs.
        while not finished.wait(0.2):
            if not learning and corpus.stats.done:
                learning = True
                watch.phase("learning the vocabulary", key="train")
            watch.tick()
    except KeyboardInterrupt:
        corpus.stop()
        if learning:
            raise TrainingInterrupted(
                "Training was stopped while learning the vocabulary; the trainer finishes that step"
                " in the background and its result is thrown away."
            ) from None
        finished.wait(5.0)  # the reader stops at its next line
        raise TrainingInterrupted("Training was stopped while reading the corpus.") from None
    if not learning:
        watch.phase("learning the vocabulary", key="train")
    error = box.get("error")
    if error is None:
        return
    if isinstance(error, (TokenlensError, KeyboardInterrupt)):
        if isinstance(error, KeyboardInterrupt):
            raise TrainingInterrupted("Training was stopped while reading the corpus.") from None
        raise error
    message = str(error)
    if "not large enough to contain all chars" in message:
        chars = set()
        for word in _trainer_words(trainer):
            chars.update(word)
        raise TrainingError(
            f"A vocabulary of {trainer.vocab_size} is smaller than this corpus's alphabet: Unigram"
            f" needs every one of its {len(chars)} characters plus the special tokens. Ask for at"
            f" least {len(chars) + len(trainer.special_tokens) + 1}, or normalise the text"
            " (--normalizer nfkc, --lowercase) to shrink the alphabet."
        ) from None
    raise TrainingError(f"The {type(trainer).__name__} failed: {message}") from error


# -- fit on held-out text -----------------------------------------------------------------------
_WORD = re.compile(r"\S+")
_HEX_RUN = re.compile(r"<[0-9A-F]{2}(?: [0-9A-F]{2})*>")


@dataclass
class Fit:
    """How well a tokenizer fits a text (special tokens left out)."""

    tokenizer: str
    tokens: int
    chars: int
    words: int
    #: characters per token: higher is a better compression
    chars_per_token: float
    #: tokens per whitespace-separated word: lower is better (1.0 = every word is one token)
    fertility: float
    #: share of words split into two or more tokens
    continued_words: float
    #: share of tokens that are raw bytes of a character (byte fallback or byte-level splits)
    byte_pieces: float
    #: share of tokens that are the unknown token
    unknown: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated words of ``text``."""
    return [m.span() for m in _WORD.finditer(text)]


def tokens_per_word(spans: Sequence[tuple[int, int]], special: Sequence[bool], words: Sequence[tuple[int, int]]) -> list[int]:
    """How many tokens fall in each word.

    A token belongs to the first word its span overlaps (" love" belongs to "love"); a token with
    an empty span (the later bytes of a split character) belongs to the word holding the
    character before it. Tokens of spaces alone belong to no word.
    """
    import bisect

    ends = [w[1] for w in words]
    counts = [0] * len(words)
    for (s, e), sp in zip(spans, special):
        if sp:
            continue
        if e <= s:  # continuation bytes: the character before
            s, e = s - 1, s
            if s < 0:
                continue
        k = bisect.bisect_right(ends, s)  # the first word that ends after s
        if k < len(words) and words[k][0] < e:
            counts[k] += 1
    return counts


def unknown_ids(backend) -> set[int]:
    """Ids of the unknown token(s) of a loaded tokenizer (empty when it has none)."""
    kind = getattr(backend, "kind", "")
    if kind == "sentencepiece":
        try:
            return {backend.sp.unk_id()}
        except Exception:  # noqa: BLE001
            return set()
    if kind == "hf":
        spec = json.loads(backend.tokenizer.to_str()).get("model") or {}
        if spec.get("type") == "Unigram" and spec.get("unk_id") is not None:
            return {int(spec["unk_id"])}
        unk = spec.get("unk_token")
        if unk:
            i = backend.tokenizer.token_to_id(unk)
            return {i} if i is not None else set()
    return set()


def fit_of(tokenized, unk: set[int] = frozenset()) -> Fit:
    """Tokens, characters per token, fertility and the shares of continued words, byte pieces
    and unknown tokens for one tokenized text."""
    text = tokenized.text
    words = word_spans(text)
    keep = [not s for s in tokenized.special]
    n = sum(keep)
    per_word = tokens_per_word(tokenized.spans, tokenized.special, words)
    byte_pieces = sum(1 for t, k in zip(tokenized.tokens, keep) if k and _HEX_RUN.search(t))
    unknown = sum(1 for i, k in zip(tokenized.ids, keep) if k and i in unk)
    return Fit(
        tokenizer=tokenized.tokenizer,
        tokens=n,
        chars=len(text),
        words=len(words),
        chars_per_token=len(text) / n if n else 0.0,
        fertility=n / len(words) if words else 0.0,
        continued_words=sum(1 for c in per_word if c > 1) / len(words) if words else 0.0,
        byte_pieces=byte_pieces / n if n else 0.0,
        unknown=unknown / n if n else 0.0,
    )


def measure_fit(text: str, backends: Iterable) -> list[Fit]:
    """:func:`fit_of` for each tokenizer on ``text`` (no special tokens added)."""
    return [fit_of(b.encode(text, add_special_tokens=False), unknown_ids(b)) for b in backends]


# -- the registry -------------------------------------------------------------------------------
def check_name(name: str, overwrite: bool = False) -> Path:
    """The registry folder for ``name``; refuses names that cannot be used, with what can."""
    from .backends.tiktoken_backend import KNOWN_ENCODINGS
    from .hub import _PLAIN_NAME, registry_dir, search_path

    if not isinstance(name, str) or not _PLAIN_NAME.match(name or ""):
        raise TrainingError(
            f"{name!r} cannot name a tokenizer. A name starts with a letter or digit and holds only"
            " letters, digits and . _ + - (at most 128 characters), e.g. 'odia-bpe-8k'."
        )
    if name in KNOWN_ENCODINGS:
        raise TrainingError(f"{name!r} is a tiktoken encoding's name, so yours could not be loaded by it; pick another name.")
    for root in search_path():
        if (root / name).is_dir():
            raise TrainingError(
                f"{name!r} is already a tokenizer on TOKENLENS_PATH ({root / name}), which is looked up"
                " before trained tokenizers, so yours would be hidden; pick another name."
            )
    target = registry_dir() / name
    if target.exists() and not overwrite:
        raise TrainingError(
            f"A tokenizer named {name!r} exists already ({target}). Pick another name, or replace it"
            " with --overwrite (overwrite=True)."
        )
    return target


def _clean_stale(registry: Path, max_age: float = 86400.0) -> None:
    """Remove temporary folders a killed process left behind (older than a day)."""
    now = time.time()
    for p in registry.glob(".tmp-*"):
        try:
            if now - p.stat().st_mtime > max_age:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def save_atomically(name: str, files: dict[str, str], overwrite: bool = False) -> Path:
    """Write ``files`` into the registry folder ``name`` all at once.

    They are written to a hidden temporary folder beside it and renamed into place, so another
    process (the server, a second kernel) sees the old folder or the new one, never half of one,
    and an interrupted write leaves nothing behind.
    """
    from .hub import registry_dir

    target = check_name(name, overwrite)
    registry = registry_dir()
    registry.mkdir(parents=True, exist_ok=True)
    _clean_stale(registry)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=registry))
    try:
        os.chmod(tmp, 0o755)
        for fname, content in files.items():
            with open(tmp / fname, "w", encoding="utf-8") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
        if target.exists():
            if not overwrite:
                raise TrainingError(f"A tokenizer named {name!r} appeared while training ({target}); nothing was replaced.")
            old = registry / f".old-{name}-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    from .hub import clear_cache

    clear_cache()
    return target


def _config_files(tok, opts: TrainingOptions, name: str) -> dict[str, str]:
    """tokenizer.json plus the two small files ``transformers.AutoTokenizer`` reads."""
    specials = opts.special_tokens or []
    roles: dict[str, str] = {}
    if opts.algorithm == "bpe":
        if "<|endoftext|>" in specials:
            roles = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    elif opts.algorithm == "wordpiece":
        for role, token in (("unk_token", "[UNK]"), ("pad_token", "[PAD]"), ("cls_token", "[CLS]"), ("sep_token", "[SEP]"), ("mask_token", "[MASK]")):
            if token in specials:
                roles[role] = token
    else:
        for role, token in (("unk_token", "<unk>"), ("bos_token", "<s>"), ("eos_token", "</s>"), ("pad_token", "<pad>")):
            if token in specials:
                roles[role] = token
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 1_000_000,
        "clean_up_tokenization_spaces": False,
        "do_lower_case": bool(opts.lowercase),
        "name_or_path": name,
        **roles,
    }
    return {
        "tokenizer.json": tok.to_str(pretty=True),
        "tokenizer_config.json": json.dumps(config, indent=2, ensure_ascii=False),
        "special_tokens_map.json": json.dumps(roles, indent=2, ensure_ascii=False),
    }


# -- the result ---------------------------------------------------------------------------------
@dataclass
class TrainingResult:
    """A trained tokenizer and how it was made; displays as the training report.

    ``merges`` lists every merge in order with the pair's frequency at the moment it was merged;
    ``uses[id]`` is how often a token is used when the training words are split with every merge.
    The two differ on purpose: a token's id follows the order it was made in, not how often it
    ends up being used.
    """

    name: str
    path: Path
    algorithm: str
    options: dict[str, Any]
    requested_vocab_size: int
    vocab_size: int
    alphabet_size: int
    special_tokens: list[str]
    merges: list[Merge]
    uses: list[int]
    corpus: dict[str, Any]
    fit: list[Fit] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)
    example_words: list[str] = field(default_factory=list)
    word: str = ""
    sample: list[dict] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    _tok: Any = field(default=None, repr=False, compare=False)
    _widget: Any = field(default=None, repr=False, compare=False)

    # -- loading -----------------------------------------------------------------------------
    @property
    def tokenizer(self):
        """The ``tokenizers.Tokenizer`` (loaded from the saved folder once)."""
        if self._tok is None:
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        return self._tok

    def load(self):
        """The tokenlens tokenizer, as ``tokenlens.load(name)`` gives it."""
        from .api import load

        return load(self.name)

    @property
    def n_special(self) -> int:
        return len(self.special_tokens)

    # -- tokens --------------------------------------------------------------------------------
    def _vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab(with_added_tokens=False)

    def display(self, token_id: int) -> str:
        """How a token reads: bytes mapped back to text, ``▁`` shown as a space."""
        from .backends.hf import HFBackend

        backend = getattr(self, "_display_backend", None)
        if backend is None:
            backend = HFBackend(self.name, self.tokenizer)
            self._display_backend = backend
        piece = self.tokenizer.id_to_token(token_id) or ""
        return backend._display(token_id, piece)  # the engine's own display rule

    def token_bytes(self, token_id: int) -> bytes:
        """The text bytes a token stands for (markers such as ``##``, ``</w>``, ``▁`` resolved)."""
        from .backends.tiktoken_backend import UNICODE_TO_BYTE

        piece = self.tokenizer.id_to_token(token_id) or ""
        if self.algorithm == "bpe":
            return bytes(UNICODE_TO_BYTE.get(c, 0) for c in piece) if all(c in UNICODE_TO_BYTE for c in piece) else piece.encode()
        m = re.fullmatch(r"<0x([0-9A-Fa-f]{2})>", piece)
        if m and self.options.get("byte_fallback"):
            return bytes([int(m.group(1), 16)])
        prefix = self.options.get("continuing_subword_prefix")
        if prefix and piece.startswith(prefix) and token_id >= self.n_special:
            piece = piece[len(prefix):]
        if piece.endswith("</w>") and self.options.get("algorithm") == "char-bpe" and len(piece) > 4:
            piece = piece[:-4]
        return piece.replace("\u2581", " ").encode("utf-8")

    def _merge_by_id(self) -> dict[int, Merge]:
        cache = getattr(self, "_by_id", None)
        if cache is None:
            cache = {}
            for m in self.merges:
                cache.setdefault(m.id, m)
            self._by_id = cache
        return cache

    def token_info(self, token_or_id: int | str) -> dict[str, Any]:
        """Id, merge rank, parents, frequency when merged, and uses of one token.

        >>> result.token_info("ieve")  # doctest: +SKIP
        {'id': 103, 'token': 'ieve', 'rank': 34, 'left': 'ie', 'right': 've', 'frequency': 812, 'uses': 97, ...}
        """
        vocab = self._vocab()
        if isinstance(token_or_id, str):
            token_id = vocab.get(token_or_id)
            if token_id is None:
                # also accept what the token reads as (" love" for "Ġlove")
                token_id = next((i for t, i in vocab.items() if self.display(i) == token_or_id), None)
            if token_id is None:
                raise InputError(f"{token_or_id!r} is not a token of {self.name}.")
        else:
            token_id = int(token_or_id)
            if not 0 <= token_id < self.vocab_size:
                raise InputError(f"{token_id} is outside {self.name}'s ids (0 to {self.vocab_size - 1}).")
        merge = self._merge_by_id().get(token_id)
        info: dict[str, Any] = {
            "id": token_id,
            "token": self.tokenizer.id_to_token(token_id),
            "display": self.display(token_id),
            "uses": self.uses[token_id] if token_id < len(self.uses) else 0,
            "special": token_id < self.n_special,
        }
        if merge is not None:
            info.update(rank=merge.rank, left=merge.left, right=merge.right, frequency=merge.frequency)
        elif token_id >= self.n_special:
            info["kind"] = "alphabet" if self.algorithm != "unigram" else "piece"
        return info

    # -- how a word was built ------------------------------------------------------------------
    def build(self, text: str) -> list[dict[str, Any]]:
        """How each pre-tokenized word of ``text`` is built, merge by merge.

        For BPE (and the merges WordPiece grew its vocabulary with) one row per merge, from the
        characters (or bytes) to the final tokens. Unigram has no merges: it picks the most
        likely split, shown with each piece's log-probability.
        """
        tok = self.tokenizer
        normalized = tok.normalizer.normalize_str(text) if tok.normalizer else text
        pieces = tok.pre_tokenizer.pre_tokenize_str(normalized) if tok.pre_tokenizer else [(normalized, (0, len(normalized)))]
        vocab = self._vocab()
        out = []
        if self.algorithm == "unigram":
            scores = {}
            spec = json.loads(tok.to_str())["model"]["vocab"]
            for i, (_piece, score) in enumerate(spec):
                scores[i] = score
            for piece, _ in pieces:
                ids = [t.id for t in tok.model.tokenize(piece)]
                out.append({"word": self._surface(ids), "start": ids, "steps": [], "final": ids,
                            "scores": [scores.get(i, 0.0) for i in ids]})
            return out
        ranks: dict[tuple[int, int], tuple[int, int]] = {}
        for m in self.merges:
            ranks.setdefault((m.left_id, m.right_id), (m.rank, m.id))
        freq = {m.rank: m.frequency for m in self.merges}
        prefix = self.options.get("continuing_subword_prefix")
        suffix = "</w>" if self.options.get("algorithm") == "char-bpe" and self._has_suffix() else None
        for piece, _ in pieces:
            start = self._start_symbols(piece, vocab, prefix, suffix)
            steps = [
                {"rank": r, "left": a, "right": b, "id": new, "frequency": freq.get(r, 0), "symbols": syms}
                for r, a, b, new, syms in build_steps(start, ranks)
            ]
            final = [t.id for t in tok.model.tokenize(piece)]
            out.append({"word": self._surface(start), "start": start, "steps": steps, "final": final})
        return out

    def _has_suffix(self) -> bool:
        return self.options.get("end_of_word_suffix") == "</w>"

    def _start_symbols(self, piece: str, vocab: dict[str, int], prefix, suffix) -> list[int]:
        """The symbols a word starts from; characters outside the alphabet become their bytes
        (byte fallback) or the unknown token, as the tokenizer would encode them."""
        out: list[int] = []
        last = len(piece) - 1
        for i, ch in enumerate(piece):
            ids = initial_symbols(ch, vocab, None, None)
            if ids:
                symbol = (prefix if (i and prefix) else "") + ch + (suffix if (i == last and suffix) else "")
                out.append(vocab.get(symbol, ids[0]))
            elif self.options.get("byte_fallback"):
                out.extend(vocab[f"<0x{b:02X}>"] for b in ch.encode("utf-8"))
            else:
                unk = _UNK.get(self.algorithm)
                if unk and unk in vocab:
                    out.append(vocab[unk])
        return out

    def _surface(self, ids: Sequence[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    # -- display -------------------------------------------------------------------------------
    def to_report(self) -> dict[str, Any]:
        """Everything the report widget shows, as JSON."""
        return {
            "name": self.name,
            "path": str(self.path),
            "algorithm": self.algorithm,
            "algorithm_label": ALGORITHMS.get(self.algorithm, self.algorithm),
            "options": self.options,
            "requested_vocab_size": self.requested_vocab_size,
            "vocab_size": self.vocab_size,
            "alphabet_size": self.alphabet_size,
            "special_tokens": self.special_tokens,
            # compact rows: [rank, left_id, right_id, id, frequency]
            "merges": [[m.rank, m.left_id, m.right_id, m.id, m.frequency] for m in self.merges],
            "displays": [self.display(i) for i in range(self.vocab_size)],
            "uses": list(self.uses[: self.vocab_size]),
            "corpus": self.corpus,
            "fit": [f.to_dict() for f in self.fit],
            "seconds": self.seconds,
            "memory": self.memory,
            "example_words": self.example_words,
            "sample": self.sample,
        }

    def __repr__(self) -> str:
        made = (
            f"{self.vocab_size - self.n_special:,} pieces"
            if self.algorithm == "unigram"
            else f"{self.alphabet_size} alphabet + {len(self.merges):,} merges"
        )
        lines = [
            f"TrainingResult({self.name!r}: {ALGORITHMS.get(self.algorithm, self.algorithm)}, "
            f"{self.vocab_size:,} tokens ({made} + {self.n_special} special), saved in {self.path})",
            f"  trained in {self.seconds.get('train', 0):.1f} s; peak memory {self.memory.get('peak_rss', 0) / 2**20:.0f} MB",
        ]
        for f in self.fit:
            lines.append(
                f"  {f.tokenizer}: {f.tokens:,} tokens, {f.chars_per_token:.2f} chars/token,"
                f" fertility {f.fertility:.2f}, continued words {f.continued_words:.0%}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .widgets.train_report import report_html

        return report_html(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            widget = self.widget
        except TokenlensError as exc:  # no front end: the static report still informs
            return {"text/plain": f"{self!r}\n({exc})", "text/html": self._repr_html_()}
        bundle = widget._repr_mimebundle_(include=include, exclude=exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = repr(self)
        return bundle

    @property
    def widget(self):
        """The live training report (made once, then reused)."""
        if self._widget is None:
            from .widgets.train_report import TrainReportWidget

            self._widget = TrainReportWidget(self)
        return self._widget

    # -- storage -------------------------------------------------------------------------------
    def training_data(self) -> dict[str, Any]:
        """What goes into ``tokenlens_training.json`` beside the tokenizer."""
        return {
            "format": TRAINING_FORMAT,
            "name": self.name,
            "algorithm": self.algorithm,
            "options": self.options,
            "requested_vocab_size": self.requested_vocab_size,
            "vocab_size": self.vocab_size,
            "alphabet_size": self.alphabet_size,
            "special_tokens": self.special_tokens,
            # one entry per merge, in order; "frequency" is the pair's count when it was merged
            "merges": [m.to_dict() for m in self.merges],
            "uses": self.uses[: self.vocab_size],
            "corpus": self.corpus,
            "fit": [f.to_dict() for f in self.fit],
            "seconds": self.seconds,
            "memory": self.memory,
            "example_words": self.example_words,
            "word": self.word,
            "sample": self.sample,
            "versions": self.versions,
        }


def load_training(name_or_path: str | os.PathLike) -> TrainingResult:
    """The :class:`TrainingResult` of a tokenizer trained earlier (by name or folder)."""
    from .hub import registry_dir

    folder = Path(name_or_path)
    if not (folder / TRAINING_FILE).is_file():
        folder = registry_dir() / str(name_or_path)
    data_file = folder / TRAINING_FILE
    if not data_file.is_file():
        raise InputError(
            f"No training record for {name_or_path!r} ({data_file} is missing): only tokenizers"
            " trained with tokenlens keep one."
        )
    d = json.loads(data_file.read_text(encoding="utf-8"))
    return TrainingResult(
        name=d["name"],
        path=folder,
        algorithm=d["algorithm"],
        options=d["options"],
        requested_vocab_size=d["requested_vocab_size"],
        vocab_size=d["vocab_size"],
        alphabet_size=d["alphabet_size"],
        special_tokens=d["special_tokens"],
        merges=[Merge(**m) for m in d["merges"]],
        uses=d["uses"],
        corpus=d["corpus"],
        fit=[Fit(**f) for f in d.get("fit") or []],
        seconds=d.get("seconds") or {},
        memory=d.get("memory") or {},
        example_words=d.get("example_words") or [],
        word=d.get("word") or "",
        sample=d.get("sample") or [],
        versions=d.get("versions") or {},
    )


def _example_words(result: TrainingResult, words: dict[str, int], limit: int = 12) -> list[str]:
    """Frequent words that take several merges to build (Unigram: several pieces): good first
    examples."""
    if result.algorithm == "unigram":
        model = result.tokenizer.model
        found: list[str] = []
        for word, _count in sorted(words.items(), key=lambda kv: -kv[1])[:5000]:
            ids = [t.id for t in model.tokenize(word)]
            surface = result._surface(ids).strip()
            if len(surface) >= 3 and len(ids) >= 2 and surface not in found:
                found.append(surface)
                if len(found) >= limit:
                    break
        return found
    if not result.merges:
        return []
    ranks = {}
    for m in result.merges:
        ranks.setdefault((m.left_id, m.right_id), (m.rank, m.id))
    vocab = result._vocab()
    prefix = result.options.get("continuing_subword_prefix")
    suffix = "</w>" if result.options.get("algorithm") == "char-bpe" and result._has_suffix() else None
    out: list[str] = []
    for word, _count in sorted(words.items(), key=lambda kv: -kv[1])[:5000]:
        start = initial_symbols(word, vocab, prefix, suffix)
        surface = result._surface(start).strip()
        if len(surface) < 3 or surface in out:
            continue
        if len(build_steps(start, ranks)) >= 3:
            out.append(surface)
            if len(out) >= limit:
                break
    return out


def _read_heldout(text: Any, files: Any) -> str:
    parts: list[str] = []
    if files:
        for path in expand_files(files):
            try:
                parts.append(path.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                raise CorpusError(f"The held-out file {path} is not UTF-8 text.") from None
    if text is not None:
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.append("".join(t if t.endswith("\n") else t + "\n" for t in text if isinstance(t, str)))
    return "".join(parts)


def _auto_progress():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    from .widgets.train_report import ProgressDisplay

    return ProgressDisplay()


# -- the one entry point ------------------------------------------------------------------------
def train_tokenizer(
    corpus: Any = None,
    *,
    name: str,
    files: Any = None,
    algorithm: str = "bpe",
    vocab_size: int = 8000,
    min_frequency: int | None = None,
    special_tokens: Sequence[str] | None = None,
    normalizer: str = "none",
    lowercase: bool = False,
    strip_accents: bool = False,
    pre_tokenizer: str | Sequence[str] | None = None,
    byte_fallback: bool = False,
    limit_alphabet: int | None = None,
    continuing_subword_prefix: str | None = None,
    field: str | None = None,
    on_bad: str = "skip",
    heldout: Any = None,
    heldout_files: Any = None,
    holdout: float = 0.0,
    compare: Sequence[str] = (),
    word: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
    progress: Any = "auto",
) -> TrainingResult:
    """Train a tokenizer and register it under ``name``.

    The text comes from ``files`` (paths, folders or globs; plain text, JSON lines with ``field``,
    gzip) or from ``corpus`` (a string, a list or iterator of strings, a pandas Series, a
    ``datasets`` dataset with ``field``). It is streamed, so it need not fit in memory. Files that
    are binary or not UTF-8, and items that are not text, are skipped and counted
    (``on_bad="skip"``) or stop the training (``on_bad="stop"``).

    The fit is measured on held-out text — ``heldout`` (text), ``heldout_files``, or a ``holdout``
    fraction of the corpus lines drawn with ``seed`` — for the trained tokenizer and each name in
    ``compare``.

    The folder (``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` and
    ``tokenlens_training.json``) is written atomically into the registry, so ``tokenlens.load(name)``,
    ``%%tokenize -t name``, the side panel and ``transformers.AutoTokenizer.from_pretrained(path)``
    can use it at once. An existing name is kept unless ``overwrite=True``.

    Reproducibility: the ``tokenizers`` trainers take no seed. Byte-level BPE and character BPE
    (with the default ▁ words) give the same tokenizer for the same text and options every time;
    WordPiece, Unigram and character BPE with ``</w>`` or a continuation prefix may break ties
    differently from run to run (hash-map order inside the trainer). ``seed`` fixes what tokenlens
    itself draws: the ``holdout`` lines.

    Stopping the cell (Ctrl-C) raises :class:`TrainingInterrupted` and saves nothing.
    """
    from .api import load
    from .backends.hf import HFBackend

    if isinstance(pre_tokenizer, str):
        pre_tokenizer = [pre_tokenizer]
    opts = TrainingOptions(
        algorithm=algorithm,
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(special_tokens) if special_tokens is not None else None,
        normalizer=normalizer,
        lowercase=lowercase,
        strip_accents=strip_accents,
        pre_tokenizer=list(pre_tokenizer) if pre_tokenizer else None,
        byte_fallback=byte_fallback,
        limit_alphabet=limit_alphabet,
        continuing_subword_prefix=continuing_subword_prefix,
        seed=int(seed),
    ).checked()
    # Everything that can be refused is refused before any work.
    target = check_name(name, overwrite)
    if isinstance(compare, str):
        compare = [compare]
    baselines = [load(n) for n in compare]
    heldout_text = _read_heldout(heldout, heldout_files)
    if compare and not heldout_text and not holdout:
        raise InputError(
            "Comparing needs held-out text to measure on: give heldout= or heldout_files="
            " (--eval FILE in the magic), or hold back a share of the corpus with holdout=0.05."
        )
    source = Corpus(corpus, files=files, field=field, on_bad=on_bad, holdout=holdout, seed=opts.seed)
    callback = _auto_progress() if progress in ("auto", True) else (progress or None)
    watch = _Watch(callback, source)
    try:
        if source.files:
            watch.phase("checking the files", key="check")
            source.check_files()
            if not source.stats.bytes_total:
                raise CorpusError(f"The corpus is empty: its {len(source.files)} file(s) hold no text.")
        tok, trainer = build_pipeline(opts)
        watch.phase("reading the corpus and counting words", key="train")
        _train_in_thread(tok, trainer, source, watch)
        words = _trainer_words(trainer)
        if not words:
            skipped = ""
            if source.stats.files_skipped or source.stats.items_skipped:
                skipped = (
                    f" ({len(source.stats.files_skipped)} file(s) and {source.stats.items_skipped}"
                    " item(s) were skipped as not text)"
                )
            raise CorpusError(
                f"The corpus is empty: {source.stats.lines:,} line(s) were read and none held a"
                f" word to learn from{skipped}."
            )
        trained_size = tok.get_vocab_size(with_added_tokens=True)
        if opts.byte_fallback:
            tok = _with_byte_fallback(tok, opts)
        spec = json.loads(tok.to_str())
        model = spec["model"]
        n_special = len(opts.special_tokens or [])
        train_size = opts.vocab_size - (256 if opts.byte_fallback else 0)
        if opts.algorithm in ("char-bpe", "wordpiece") and trained_size > train_size:
            alphabet = trained_size - n_special
            raise TrainingError(
                f"A vocabulary of {opts.vocab_size} is smaller than this corpus's alphabet:"
                f" {alphabet} distinct symbols plus {n_special} special token(s)"
                + (" and 256 byte tokens" if opts.byte_fallback else "")
                + f". Ask for at least {trained_size + (256 if opts.byte_fallback else 0) + 1}, or"
                " keep only the most frequent characters with --limit-alphabet."
            )
        vocab = tok.get_vocab(with_added_tokens=False)
        size = max(vocab.values()) + 1 if vocab else 0

        watch.phase("counting merge frequencies", key="count")
        if model["type"] == "BPE":
            pairs = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges") or []]
            replay = replay_merges(
                words, pairs, vocab, model.get("continuing_subword_prefix"), model.get("end_of_word_suffix"), model=tok.model
            )
        elif model["type"] == "WordPiece":
            first = _first_merged_id(vocab, n_special, opts.continuing_subword_prefix or "##")
            replay = replay_wordpiece(words, vocab, first, opts.continuing_subword_prefix or "##")
        else:
            replay = None
        merges = replay.merges if replay else []
        uses = (replay.uses[:size] if replay else _unigram_uses(tok, words, size))
        made = {m.token for m in merges}
        alphabet = _alphabet_size(vocab, n_special, made) if model["type"] != "Unigram" else 0

        backend = HFBackend(name, tok, source=target)
        fit: list[Fit] = []
        sample: list[dict] = []
        held = "".join(ln if ln.endswith("\n") else ln + "\n" for ln in source.heldout)
        measured = (heldout_text or held)[:FIT_MAX_CHARS]
        if measured:
            watch.phase("measuring the fit on held-out text", key="fit")
            fit = measure_fit(measured, [backend, *baselines])
            first_line = next((ln.strip() for ln in measured.splitlines() if ln.strip()), "")[:300]
            if first_line:
                sample = [b.encode(first_line, add_special_tokens=False).to_dict() for b in (backend, *baselines)]

        import tokenizers

        result = TrainingResult(
            name=name,
            path=target,
            algorithm=opts.algorithm,
            options=opts.to_dict(),
            requested_vocab_size=opts.vocab_size,
            vocab_size=tok.get_vocab_size(with_added_tokens=True),
            alphabet_size=alphabet,
            special_tokens=list(opts.special_tokens or []),
            merges=merges,
            uses=uses,
            corpus={"description": source.description, **source.stats.to_dict(),
                    "distinct_words": len(words), "word_occurrences": sum(words.values())},
            fit=fit,
            sample=sample,
            versions={"tokenizers": tokenizers.__version__, "tokenlens": _package_version()},
            _tok=tok,
        )
        result.example_words = _example_words(result, words)
        result.word = word if word is not None else (result.example_words[0] if result.example_words else "")

        watch.phase("saving", key="save")
        files_out = _config_files(tok, opts, name)
        result.memory = {"rss_start": watch.rss_start, "peak_rss": max(watch.rss_peak, _rss())}
        result.seconds = dict(watch.seconds)
        files_out[TRAINING_FILE] = json.dumps(result.training_data(), ensure_ascii=False)
        save_atomically(name, files_out, overwrite=overwrite)
        watch.close()
        result.seconds = dict(watch.seconds)
        return result
    except KeyboardInterrupt:
        raise TrainingInterrupted("Training was stopped. Nothing was saved.") from None
    except TrainingInterrupted as exc:
        msg = str(exc)
        raise TrainingInterrupted(msg if "Nothing was saved" in msg else f"{msg} Nothing was saved.") from None
    finally:
        if watch.phase_name != "done" and callback is not None:
            try:
                watch.phase("stopped", key="_stopped")
            except Exception:  # noqa: BLE001 - a display that fails must not hide the real error
                pass


def _first_merged_id(vocab: dict[str, int], n_special: int, prefix: str) -> int:
    """The first id of a WordPiece vocabulary that a merge made (after the alphabet)."""
    for token, i in sorted(vocab.items(), key=lambda kv: kv[1]):
        if i < n_special:
            continue
        core = token[len(prefix):] if token.startswith(prefix) else token
        if len(core) > 1:
            return i
    return max(vocab.values()) + 1


def _unigram_uses(tok, words: dict[str, int], size: int, limit: int = 200_000) -> list[int]:
    """How often each Unigram piece is used on the training words (the most frequent ``limit``)."""
    uses = [0] * size
    model = tok.model
    for word, count in sorted(words.items(), key=lambda kv: -kv[1])[:limit]:
        for t in model.tokenize(word):
            if t.id < size:
                uses[t.id] += count
    return uses


__all__ = [
    "ALGORITHMS",
    "Fit",
    "NORMALIZERS",
    "PRE_TOKENIZERS",
    "TrainingError",
    "TrainingInterrupted",
    "TrainingOptions",
    "TrainingProgress",
    "TrainingResult",
    "build_pipeline",
    "check_name",
    "fit_of",
    "load_training",
    "measure_fit",
    "save_atomically",
    "train_tokenizer",
    "word_spans",
]
