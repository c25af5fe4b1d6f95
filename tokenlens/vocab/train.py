"""Train a tokenizer on your own text, save it where every kernel and the server find it, and keep
what is needed to show how it was made.

:func:`train_tokenizer` builds the pipeline (:mod:`tokenlens.vocab.options`), streams the corpus
(:mod:`tokenlens.vocab.corpus`) into the ``tokenizers`` trainer in a worker thread so that the
cell can be stopped, counts the frequency of every merge (:mod:`tokenlens.vocab.merges`),
measures the fit on held-out text (:mod:`tokenlens.measure.fit`: the numbers ``stats`` gives),
and saves the folder atomically into the registry (:mod:`tokenlens.vocab.registry`). It returns
a :class:`~tokenlens.vocab.result.TrainingResult`. Each step is a short function below.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tokenlens.errors import InputError, TokenlensError
from tokenlens.measure.fit import Fit, measure_fit
from tokenlens.sources.files import check, is_records, read_texts
from tokenlens.sources.paths import expand
from tokenlens.vocab.corpus import Corpus, CorpusError, TrainingInterrupted
from tokenlens.vocab.merges import replay_merges, replay_wordpiece
from tokenlens.vocab.options import (
    ALGORITHMS,
    CL100K_PATTERN,
    GPT2_PATTERN,
    NORMALIZERS,
    PRE_TOKENIZERS,
    TrainingError,
    TrainingOptions,
    build_pipeline,
    trainer_words,
    with_byte_fallback,
)
from tokenlens.vocab.registry import TRAINING_FILE, check_name, config_files, save_atomically
from tokenlens.vocab.result import TrainingResult, _package_version, example_words, load_training
from tokenlens.vocab.sample import DEFAULT_SEED, Portion, seen_line

#: the fit is measured on at most this many characters of held-out text
FIT_MAX_CHARS = 1_000_000


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
                lines=s.lines_seen + s.heldout_lines,
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
        except BaseException as exc:
            box["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="tokenlens-train", daemon=True)
    learning = False
    try:
        worker.start()
        # An Event, not Thread.join: a join interrupted by Ctrl-C can mark a running thread as
        # stopped (CPython gh-90882), and we must know whether the trainer still runs.
        while not finished.wait(0.2):
            if not learning and corpus.stats.done:
                learning = True
                watch.phase("learning the vocabulary", key="train")
            watch.tick()
    except KeyboardInterrupt:
        corpus.stop()
        if learning or corpus.stats.done:
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
        for word in trainer_words(trainer):
            chars.update(word)
        raise TrainingError(
            f"A vocabulary of {trainer.vocab_size} is smaller than this corpus's alphabet: Unigram"
            f" needs every one of its {len(chars)} characters plus the special tokens. Ask for at"
            f" least {len(chars) + len(trainer.special_tokens) + 1}, or normalise the text"
            " (--normalizer nfkc, --lowercase) to shrink the alphabet."
        ) from None
    raise TrainingError(f"The {type(trainer).__name__} failed: {message}") from error


# -- held-out text -----------------------------------------------------------------------------
def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _read_heldout(text: Any, files: Any, field: str | None) -> str:
    """The held-out text: plain files whole, JSON lines a record a line, then ``text``."""
    parts: list[str] = []
    if files:
        for path in expand(files).files:
            checked = check(path)
            if checked.problem is not None:
                raise checked.error()
            texts = read_texts(path, field=field, whole=True)
            parts.extend(map(_ended, texts) if is_records(path) else texts)
    if text is not None:
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.extend(_ended(t) for t in text if isinstance(t, str))
    return "".join(parts)


def _auto_progress():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    from tokenlens.views.train_report import ProgressDisplay

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
    seed: int = DEFAULT_SEED,
    sample: int | None = None,
    max_lines: int | None = None,
    overwrite: bool = False,
    progress: Any = "auto",
    save: bool = True,
) -> TrainingResult:
    """Train a tokenizer and register it under ``name``.

    The text comes from ``files`` (paths, folders or globs; plain text, JSON lines with
    ``field``, gzip; a folder is its text files, see :mod:`tokenlens.sources`) or from ``corpus``
    (a string, a list or iterator of strings, a pandas Series, a ``datasets`` dataset with
    ``field``). It is streamed, so it need not fit in memory. Files that are binary or not UTF-8,
    and items that are not text, are skipped and counted (``on_bad="skip"``) or stop the training
    (``on_bad="stop"``).

    The fit is measured on held-out text — ``heldout`` (text), ``heldout_files``, or a ``holdout``
    fraction of the corpus lines drawn with ``seed`` — for the trained tokenizer and each name in
    ``compare``, as one text with :func:`tokenlens.stats` (the same numbers ``stats`` gives).

    The folder (``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` and
    ``tokenlens_training.json``) is written atomically into the registry, so ``tokenlens.load(name)``,
    ``%%tokenize -t name``, the side panel and ``transformers.AutoTokenizer.from_pretrained(path)``
    can use it at once. An existing name is kept unless ``overwrite=True``.

    A corpus too big for the trainer's word counts can be cut: ``sample=N`` trains on N lines
    drawn uniformly at random with ``seed`` (the whole corpus is read once, only the N lines are
    held), ``max_lines=N`` on the first N lines (nothing after them is read). The report says how
    much of the corpus was seen.

    Reproducibility: the ``tokenizers`` trainers take no seed. Byte-level BPE and character BPE
    (with the default ▁ words) give the same tokenizer for the same text and options every time;
    WordPiece, Unigram and character BPE with ``</w>`` or a continuation prefix may break ties
    differently from run to run (hash-map order inside the trainer). ``seed`` fixes what tokenlens
    itself draws: the ``holdout`` lines and the ``sample``.

    Stopping the cell (Ctrl-C) raises :class:`TrainingInterrupted` and saves nothing.
    ``save=False`` keeps the result in memory only (``tokenlens.sweep`` trains many this way).
    """
    from tokenlens.backends.hf import HFBackend

    portion = Portion(sample=sample, max_lines=max_lines, seed=seed).checked()
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
    target = check_name(name, overwrite) if save else None
    baselines, heldout_text = _baselines_and_heldout(compare, heldout, heldout_files, field, holdout)
    source = Corpus(corpus, files=files, field=field, on_bad=on_bad, holdout=holdout, seed=opts.seed, portion=portion)
    callback = _auto_progress() if progress in ("auto", True) else (progress or None)
    watch = _Watch(callback, source)
    with _nothing_saved_when_stopped(watch, callback):
        tok, words = _read_and_train(opts, source, watch)
        tok, vocab = _finished_vocabulary(tok, opts)
        watch.phase("counting merge frequencies", key="count")
        merges, uses, alphabet = _count_merges(tok, words, vocab, opts)
        held = "".join(map(_ended, source.heldout))
        measured = (heldout_text or held)[:FIT_MAX_CHARS]
        fit, sample = _fit_and_sample(HFBackend(name, tok, source=target), baselines, measured, watch)
        result = _result(name, target, tok, opts, source, words, merges, uses, alphabet, fit, sample, word)
        if save:
            _save(result, tok, opts, watch, overwrite)
        else:
            watch.close()
        return result


def _baselines_and_heldout(
    compare: str | Sequence[str], heldout: Any, heldout_files: Any, field: str | None, holdout: float
) -> tuple[list, str]:
    """The tokenizers to compare with, loaded, and the held-out text read: refused before any work."""
    from tokenlens.core.api import load

    if isinstance(compare, str):
        compare = [compare]
    baselines = [load(n) for n in compare]
    heldout_text = _read_heldout(heldout, heldout_files, field)
    if compare and not heldout_text and not holdout:
        raise InputError(
            "Comparing needs held-out text to measure on: give heldout= or heldout_files="
            " (--eval FILE in the magic), or hold back a share of the corpus with holdout=0.05."
        )
    return baselines, heldout_text


@contextmanager
def _nothing_saved_when_stopped(watch: _Watch, callback) -> Iterator[None]:
    """Ctrl-C anywhere in training ends in :class:`TrainingInterrupted` saying nothing was saved
    (the save is atomic), and the progress display shows that it stopped."""
    try:
        yield
    except KeyboardInterrupt:
        raise TrainingInterrupted("Training was stopped. Nothing was saved.") from None
    except TrainingInterrupted as exc:
        msg = str(exc)
        raise TrainingInterrupted(msg if "Nothing was saved" in msg else f"{msg} Nothing was saved.") from None
    finally:
        if watch.phase_name != "done" and callback is not None:
            try:
                watch.phase("stopped", key="_stopped")
            except Exception:
                pass


def _read_and_train(opts: TrainingOptions, source: Corpus, watch: _Watch) -> tuple[Any, dict[str, int]]:
    """Check the files, then stream the corpus into the trainer: the trained tokenizer and the
    word counts the trainer kept."""
    if source.files and source.portion.max_lines is None:  # with max_lines, each file when reached
        watch.phase("checking the files", key="check")
        source.check_files()
        if not source.stats.bytes_total:
            raise CorpusError(f"The corpus is empty: its {len(source.files)} file(s) hold no text.")
    tok, trainer = build_pipeline(opts)
    watch.phase("reading the corpus and counting words", key="train")
    _train_in_thread(tok, trainer, source, watch)
    words = trainer_words(trainer)
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
    return tok, words


def _finished_vocabulary(tok, opts: TrainingOptions) -> tuple[Any, dict[str, int]]:
    """The tokenizer with its byte-fallback tokens added where asked, and its vocabulary; a
    vocabulary the alphabet alone overfilled is refused."""
    trained_size = tok.get_vocab_size(with_added_tokens=True)
    if opts.byte_fallback:
        tok = with_byte_fallback(tok, opts)
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
    return tok, tok.get_vocab(with_added_tokens=False)


def _count_merges(tok, words: dict[str, int], vocab: dict[str, int], opts: TrainingOptions):
    """(merges with their frequencies, uses of each id, alphabet size), counted on the words."""
    model = json.loads(tok.to_str())["model"]
    n_special = len(opts.special_tokens or [])
    size = max(vocab.values()) + 1 if vocab else 0
    if model["type"] == "BPE":
        pairs = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges") or []]
        prefix, suffix = model.get("continuing_subword_prefix"), model.get("end_of_word_suffix")
        replay = replay_merges(words, pairs, vocab, prefix, suffix, model=tok.model)
    elif model["type"] == "WordPiece":
        first = _first_merged_id(vocab, n_special, opts.continuing_subword_prefix or "##")
        replay = replay_wordpiece(words, vocab, first, opts.continuing_subword_prefix or "##")
    else:
        replay = None
    merges = replay.merges if replay else []
    uses = replay.uses[:size] if replay else _unigram_uses(tok, words, size)
    made = {m.token for m in merges}
    alphabet = _alphabet_size(vocab, n_special, made) if model["type"] != "Unigram" else 0
    return merges, uses, alphabet


def _fit_and_sample(backend, baselines: list, measured: str, watch: _Watch) -> tuple[list[Fit], list[dict]]:
    """The fit of the new tokenizer and the baselines on the held-out text, and its first line
    tokenized by each (nothing without held-out text)."""
    if not measured:
        return [], []
    watch.phase("measuring the fit on held-out text", key="fit")
    fit = measure_fit(measured, [backend, *baselines])
    first_line = next((ln.strip() for ln in measured.splitlines() if ln.strip()), "")[:300]
    sample = (
        [b.encode(first_line, add_special_tokens=False).to_dict() for b in (backend, *baselines)] if first_line else []
    )
    return fit, sample


def _result(
    name, target, tok, opts, source: Corpus, words, merges, uses, alphabet, fit, sample, word
) -> TrainingResult:
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
        corpus=_corpus_record(source, words),
        fit=fit,
        sample=sample,
        versions={"tokenizers": tokenizers.__version__, "tokenlens": _package_version()},
        _tok=tok,
    )
    result.example_words = example_words(result, words)
    result.word = word if word is not None else (result.example_words[0] if result.example_words else "")
    return result


def _corpus_record(source: Corpus, words: dict[str, int]) -> dict[str, Any]:
    """What the report says of the corpus, with the sentence on how much of it was seen (also in
    the description, which every view of the report shows)."""
    st = source.stats
    seen = seen_line(
        lines=st.lines,
        lines_seen=st.lines_seen,
        more=st.more,
        portion=source.portion,
        unit="lines" if source.files or isinstance(source.data, str) else "texts",
        heldout=st.heldout_lines,
    )
    return {
        "description": f"{source.description}; {seen}",
        **st.to_dict(),
        "seen": seen,
        "sample": source.portion.sample,
        "max_lines": source.portion.max_lines,
        "seed": source.portion.seed,
        "distinct_words": len(words),
        "word_occurrences": sum(words.values()),
    }


def _save(result: TrainingResult, tok, opts: TrainingOptions, watch: _Watch, overwrite: bool) -> None:
    """Write the folder into the registry atomically, with the record of how it was made."""
    watch.phase("saving", key="save")
    files_out = config_files(tok, opts, result.name)
    result.memory = {"rss_start": watch.rss_start, "peak_rss": max(watch.rss_peak, _rss())}
    result.seconds = dict(watch.seconds)
    files_out[TRAINING_FILE] = json.dumps(result.training_data(), ensure_ascii=False)
    save_atomically(result.name, files_out, overwrite=overwrite)
    watch.close()
    result.seconds = dict(watch.seconds)


def _first_merged_id(vocab: dict[str, int], n_special: int, prefix: str) -> int:
    """The first id of a WordPiece vocabulary that a merge made (after the alphabet)."""
    for token, i in sorted(vocab.items(), key=lambda kv: kv[1]):
        if i < n_special:
            continue
        core = token[len(prefix) :] if token.startswith(prefix) else token
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
    "CL100K_PATTERN",
    "GPT2_PATTERN",
    "NORMALIZERS",
    "PRE_TOKENIZERS",
    "TRAINING_FILE",
    "Fit",
    "TrainingError",
    "TrainingInterrupted",
    "TrainingOptions",
    "TrainingProgress",
    "TrainingResult",
    "build_pipeline",
    "check_name",
    "load_training",
    "measure_fit",
    "save_atomically",
    "train_tokenizer",
]
