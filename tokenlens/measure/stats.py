"""How well a tokenizer fits a language or a dataset: fertility, compression, premium.

``stats(texts, tokenizer, reference=None)`` measures, without special tokens unless asked:

- tokens, characters, bytes and words (a word is a run of non-whitespace, as ``str.split``
  sees it), characters and bytes per token;
- fertility: tokens per word. Whole texts are tokenized, as a model sees them, and each word
  is charged every token that overlaps it or the one space just before it (where GPT-2 and
  Llama 2 put a word's space). The share of words charged two or more tokens is the split share.
  The definition is :mod:`tokenlens.measure.fertility`, the one the training report uses too;
- unknown-token share (``[UNK]``, as the backend's token table marks it; 0 for tokenizers that
  have none), byte-fallback share
  (SentencePiece / Hugging Face ``<0xE0>`` pieces) and partial-character share (tokens that hold
  only part of a character, which is how byte-level BPE spells scripts it never learned);
- premium: tokens for the text divided by tokens for a parallel reference, line i against
  line i (Petrov et al. 2023, "Language Model Tokenizers Introduce Unfairness Between
  Languages").

Texts are encoded in batches by each engine's own multi-threaded batch encoder; a batch is
measured with array arithmetic while the next one encodes, so a large dataset costs little more
than encoding it (benchmarks/bench_metrics.py).

Memory does not grow with the corpus: sources are read as they are measured
(:mod:`tokenlens.sources`), and each batch is folded into a :class:`~tokenlens.measure.tally.Tally`
of counts and a bounded summary of tokens per text. Peak memory is about two batches of
``batch_chars`` characters and their encodings (the one measured, the one encoding), plus the
tokenizer, whatever the corpus size (benchmarks/bench_streaming.py); per-text counts
(``Stats.token_counts``) are kept only up to ``Limits.stats_row_counts`` texts. A text is
encoded whole, so one enormous text is held whole.
``tokenlens.measure.dataset.dataset_view`` adds, for a context length, the token-count histogram,
truncated rows, the longest rows and the cost at a price per million tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tokenlens.backends import Backend
from tokenlens.errors import InputError, TokenlensError
from tokenlens.measure.fertility import charge_words, joined_units, not_unicode, token_spans
from tokenlens.measure.tally import Lengths, Tally
from tokenlens.sources.texts import Joined, Texts, as_texts

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TokenizerLike = str | Backend

#: characters per batch handed to an engine's batch encoder
BATCH_CHARS = 250_000
#: a text longer than this is reported: it is encoded whole, on one core
ENORMOUS_CHARS = 10_000_000
#: jobs above this many characters show a progress bar unless told otherwise
PROGRESS_CHARS = 4_000_000


# -- results -----------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


@dataclass
class Stats:
    """One tokenizer measured on one set of texts. Ratios are NaN where they are undefined."""

    tokenizer: str
    label: str
    n_texts: int
    n_empty: int
    n_tokens: int
    n_chars: int
    n_bytes: int
    n_words: int
    #: tokens charged to words (a word is charged every token that overlaps it)
    n_word_tokens: int
    #: words charged two or more tokens
    n_split_words: int
    n_unknown: int
    n_byte_fallback: int
    n_partial: int
    #: the unknown token's string, or None when the tokenizer has none
    unknown_token: str | None = None
    add_special_tokens: bool = False
    #: special tokens the tokenizer adds to every text (counted only with add_special_tokens)
    special_per_text: int = 0
    reference_label: str | None = None
    reference_tokens: int | None = None
    #: tokens per text (with special tokens if they were added), kept while the texts number at
    #: most ``Limits.stats_row_counts``; None beyond (``lengths`` summarises them at any size)
    token_counts: np.ndarray | None = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    notes: list[str] = field(default_factory=list)
    #: tokens per text as a bounded summary: distribution, percentiles, the longest texts
    lengths: Lengths = field(default_factory=Lengths, repr=False)

    @property
    def chars_per_token(self) -> float:
        return _ratio(self.n_chars, self.n_tokens)

    @property
    def bytes_per_token(self) -> float:
        return _ratio(self.n_bytes, self.n_tokens)

    @property
    def fertility(self) -> float:
        """Tokens per word."""
        return _ratio(self.n_word_tokens, self.n_words)

    @property
    def split_share(self) -> float:
        """Share of words split into two or more tokens."""
        return _ratio(self.n_split_words, self.n_words)

    @property
    def unknown_share(self) -> float:
        """Share of tokens that are the unknown token (0 for tokenizers without one)."""
        return 0.0 if self.unknown_token is None and self.n_tokens else _ratio(self.n_unknown, self.n_tokens)

    @property
    def byte_fallback_share(self) -> float:
        return _ratio(self.n_byte_fallback, self.n_tokens)

    @property
    def partial_char_share(self) -> float:
        return _ratio(self.n_partial, self.n_tokens)

    @property
    def premium(self) -> float | None:
        """Tokens for these texts divided by tokens for the parallel reference (None: no reference)."""
        if self.reference_tokens is None:
            return None
        return _ratio(self.n_tokens, self.reference_tokens)

    METRICS = (
        "chars_per_token",
        "bytes_per_token",
        "fertility",
        "split_share",
        "unknown_share",
        "byte_fallback_share",
        "partial_char_share",
        "premium",
    )
    #: the counts a row carries are the ones its tally adds up
    COUNTS = Tally.COUNTS

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tokenizer": self.tokenizer, "label": self.label}
        out.update({k: getattr(self, k) for k in self.COUNTS})
        out.update({k: getattr(self, k) for k in self.METRICS})
        out.update(
            unknown_token=self.unknown_token,
            add_special_tokens=self.add_special_tokens,
            special_per_text=self.special_per_text,
            reference_label=self.reference_label,
            reference_tokens=self.reference_tokens,
            notes=list(self.notes),
        )
        return out

    def to_pandas(self) -> pd.DataFrame:
        """One row, the same columns as :meth:`StatsTable.to_pandas`."""
        return StatsTable([self]).to_pandas()

    def __repr__(self) -> str:
        parts = [
            f"{self.n_tokens:,} tokens",
            f"{self.n_words:,} words",
            f"{self.chars_per_token:.2f} chars/token",
            f"fertility {self.fertility:.2f}",
        ]
        if self.premium is not None:
            parts.append(f"premium {self.premium:.2f} vs {self.reference_label}")
        return f"Stats({self.tokenizer!r} on {self.label!r}: " + ", ".join(parts) + ")"

    def _repr_html_(self) -> str:
        return StatsTable([self])._repr_html_()


@dataclass
class StatsTable:
    """Several tokenizers and/or several languages: a table and a bar chart."""

    rows: list[Stats]
    #: the chart's metric (None: premium when there is a reference, else fertility)
    metric: str | None = None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: int | tuple[str, str]) -> Stats:
        if isinstance(key, tuple):
            for r in self.rows:
                if (r.tokenizer, r.label) == key:
                    return r
            raise KeyError(f"{key!r} is not among {[(r.tokenizer, r.label) for r in self.rows]}")
        return self.rows[key]

    @property
    def tokenizers(self) -> list[str]:
        return list(dict.fromkeys(r.tokenizer for r in self.rows))

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(r.label for r in self.rows))

    @property
    def default_metric(self) -> str:
        if self.metric:
            return self.metric
        return "premium" if any(r.premium is not None for r in self.rows) else "fertility"

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows]}

    def to_pandas(self) -> pd.DataFrame:
        """One row per (tokenizer, label): the counts and every metric."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a dependency
            raise TokenlensError("to_pandas needs pandas: pip install pandas") from None
        records = []
        for r in self.rows:
            d = r.to_dict()
            d["notes"] = "; ".join(d["notes"])
            records.append(d)
        return pd.DataFrame.from_records(records)

    def pivot(self, metric: str | None = None) -> pd.DataFrame:
        """``metric`` with labels (languages) as rows and tokenizers as columns."""
        metric = metric or self.default_metric
        df = self.to_pandas()
        return df.pivot(index="label", columns="tokenizer", values=metric).reindex(
            index=self.labels, columns=self.tokenizers
        )

    def chart(self, metric: str | None = None) -> str:
        """A bar chart of ``metric`` per tokenizer and label, as inline SVG (no scripts, no URLs)."""
        from tokenlens.views.charts import bar_chart

        metric = metric or self.default_metric
        if metric not in Stats.METRICS:
            raise InputError(f"Unknown metric {metric!r}; one of: {', '.join(Stats.METRICS)}.")
        values = {(r.label, r.tokenizer): getattr(r, metric) for r in self.rows}
        return bar_chart(
            values,
            self.labels,
            self.tokenizers,
            title=_METRIC_TITLES[metric],
            baseline=1.0 if metric == "premium" else None,
        )

    def __repr__(self) -> str:
        lines = [f"StatsTable: {len(self.tokenizers)} tokenizer(s) × {len(self.labels)} text set(s)"]
        lines += [f"  {r!r}" for r in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from tokenlens.views.charts import stats_html

        return stats_html(self)


_METRIC_TITLES = {
    "chars_per_token": "characters per token",
    "bytes_per_token": "bytes per token",
    "fertility": "fertility (tokens per word)",
    "split_share": "share of words split into 2+ tokens",
    "unknown_share": "unknown-token share",
    "byte_fallback_share": "byte-fallback share",
    "partial_char_share": "partial-character token share",
    "premium": "premium (tokens ÷ tokens of the parallel reference)",
}


# -- measuring ---------------------------------------------------------------------------------


def _flag_bits(table) -> np.ndarray:
    """One small integer per id: 1 unknown, 2 byte fallback, 4 partial character."""
    bits = getattr(table, "_bits", None)
    if bits is None:
        bits = (
            table.unknown.astype(np.uint8)
            | (table.byte_fallback.astype(np.uint8) << 1)
            | (table.partial.astype(np.uint8) << 2)
        )
        table._bits = bits
    return bits


def _flag_ids(table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ids that are unknown, byte fallback, partial characters."""
    found = getattr(table, "_flag_ids", None)
    if found is None:
        found = tuple(np.flatnonzero(m) for m in (table.unknown, table.byte_fallback, table.partial))
        table._flag_ids = found
    return found


def _flag_counts(ids: np.ndarray, table) -> tuple[int, int, int]:
    """(unknown, byte-fallback, partial-character) tokens among ``ids``."""
    bits = _flag_bits(table)
    if len(bits) <= len(ids):  # a count per id, then the flagged ids' counts: one pass over ids
        per_id = np.bincount(ids, minlength=len(bits))
        return tuple(int(per_id[f].sum()) for f in _flag_ids(table))
    flags = bits[ids]
    return (int(np.count_nonzero(flags & 1)), int(np.count_nonzero(flags & 2)), int(np.count_nonzero(flags & 4)))


def _measure_batch(batch: list[str], enc, table, tally: Tally, specials: int = 0) -> None:
    """Fold one encoded batch into ``tally`` (its texts follow the tally's; ``specials``: special
    tokens added to each text, counted in the lengths only)."""
    first_row = tally.n_texts
    u, ws, sizes = joined_units(batch, enc.unit, first_row, enc.sizes, enc.raw)
    n = len(batch)
    chars = sizes if enc.unit == "char" else np.fromiter(map(len, batch), dtype=np.int64, count=n)
    starts, ends = token_spans(enc, sizes)
    charged = charge_words(u, ws, starts, ends)

    if enc.unit == "byte":
        n_bytes = int(sizes.sum())
    else:
        n_bytes = (
            len(u)
            - (n + 1)
            + int(np.count_nonzero(u >= 0x80) + np.count_nonzero(u >= 0x800) + np.count_nonzero(u >= 0x10000))
        )
    n_unknown, n_byte_fallback, n_partial = _flag_counts(enc.ids, table)

    tally.n_texts += n
    tally.n_empty += int(np.count_nonzero(sizes == 0))
    tally.n_tokens += len(enc.ids)
    tally.n_chars += int(chars.sum())
    tally.n_bytes += n_bytes
    tally.n_words += len(charged)
    tally.n_word_tokens += int(charged.sum())
    tally.n_split_words += int(np.count_nonzero(charged >= 2))
    tally.n_unknown += n_unknown
    tally.n_byte_fallback += n_byte_fallback
    tally.n_partial += n_partial
    if n:
        i = int(np.argmax(chars))
        if chars[i] > tally.longest:
            tally.longest, tally.longest_row = int(chars[i]), first_row + i
    tally.lengths.add(enc.counts + specials if specials else enc.counts, first_row)


def _progress(total: int | None, desc: str, show: bool, delay: float = 0):
    """A tqdm bar (a widget in a notebook, text in a terminal) with rate and ETA; without a
    ``total`` (texts not known before reading) it shows the count and rate; ``delay``: seconds
    before it appears (quick jobs show none)."""
    if not show:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with huggingface_hub
        return None
    big = total is None or total >= 10_000
    return tqdm(total=total, desc=desc, unit="text", unit_scale=big, leave=False, delay=delay)


def measure(
    backend: Backend,
    source: Texts,
    *,
    add_special_tokens: bool = False,
    num_threads: int | None = None,
    batch_chars: int = BATCH_CHARS,
    bar=None,
) -> Stats:
    """Measure one loaded tokenizer on one source (no reference)."""
    table = backend.token_table()
    specials = backend.special_tokens_added() if add_special_tokens else 0
    tally = new_tally()
    # The engine encodes batch k+1 in a helper thread while this one measures batch k.
    batches = source.batches(batch_chars)
    with ThreadPoolExecutor(1, thread_name_prefix="tokenlens-encode") as pool:
        batch = next(batches, None)
        pending = pool.submit(backend.encode_batch_spans, batch, num_threads) if batch is not None else None
        try:
            while batch is not None:
                try:
                    enc = pending.result()
                except (UnicodeEncodeError, TypeError):
                    # engines refuse unpaired surrogates in their own ways (HF: TypeError)
                    bad = not_unicode(batch, tally.n_texts)
                    if bad is None:
                        raise
                    raise bad from None
                following = next(batches, None)
                if following is not None:
                    pending = pool.submit(backend.encode_batch_spans, following, num_threads)
                _measure_batch(batch, enc, table, tally, specials)
                if bar is not None:
                    bar.update(len(batch))
                del enc  # so that at most two batches' encodings are alive at once
                batch = following
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return stats_from_tally(tally, backend, source.label, add_special_tokens=add_special_tokens, notes=source.notes)


def new_tally() -> Tally:
    """An empty tally that keeps per-text counts up to ``Limits.stats_row_counts`` texts."""
    from tokenlens.core.limits import LIMITS

    return Tally(lengths=Lengths(keep_rows=LIMITS.stats_row_counts))


def stats_from_tally(
    tally: Tally,
    backend: Backend,
    label: str,
    *,
    add_special_tokens: bool = False,
    notes: Sequence[str] = (),
) -> Stats:
    """The :class:`Stats` of a (merged) tally of ``backend`` on the texts called ``label``."""
    specials = backend.special_tokens_added() if add_special_tokens else 0
    notes = list(notes)
    if tally.n_texts and tally.n_empty == tally.n_texts:
        notes.append(f"all {tally.n_texts:,} texts are empty: the ratios are undefined (NaN)")
    elif tally.n_empty:
        notes.append(f"{tally.n_empty:,} of {tally.n_texts:,} texts are empty (0 tokens, 0 words)")
    if tally.longest > ENORMOUS_CHARS:
        notes.append(
            f"text {tally.longest_row} is one line of {tally.longest:,} characters; it was encoded"
            " whole on one core (the numbers are exact). Split long documents into lines or"
            " paragraphs to use every core."
        )
    counts = {name: getattr(tally, name) for name in Tally.COUNTS}
    counts["n_tokens"] += specials * tally.n_texts
    return Stats(
        tokenizer=backend.name,
        label=label,
        **counts,
        unknown_token=backend.token_table().unknown_token,
        add_special_tokens=add_special_tokens,
        special_per_text=specials,
        token_counts=tally.lengths.rows,
        notes=notes,
        lengths=tally.lengths,
    )


def _check_parallel(text: Texts, reference: Texts, n: int | None = None, n_ref: int | None = None) -> None:
    """Refuse a reference with another number of texts: before any work when both numbers are
    known, otherwise once both are read (``n``, ``n_ref``: the texts measured)."""
    n, n_ref = (text.n if n is None else n), (reference.n if n_ref is None else n_ref)
    if n is not None and n_ref is not None and n != n_ref:
        found = " (found once they were read)" if text.n is None or reference.n is None else ""
        raise InputError(
            f"The reference is not parallel to {text.label!r}: {text.label!r} has {n:,} texts"
            f" (lines) and the reference {reference.label!r} has {n_ref:,}{found}. The premium"
            " compares text i with its translation i, so both need the same number of texts,"
            " in the same order."
        )


def _read(source: Texts, measured: Stats) -> int:
    """How many texts of ``source`` were measured (a joined source: the texts it joined)."""
    return source.joined_texts if isinstance(source, Joined) else measured.n_texts


def _empty(source: Texts) -> InputError:
    return InputError(f"{source.label!r} holds no texts (an empty list or empty files): nothing to measure.")


def _sources(texts: Any, label: str | None, whole_files: bool, field: str | None) -> list[Texts]:
    if isinstance(texts, Mapping):
        if not texts:
            raise InputError("No texts to measure: the mapping is empty.")
        return [as_texts(v, str(k), whole_files, field) for k, v in texts.items()]
    return [as_texts(texts, label, whole_files, field)]


def stats(
    texts: Any,
    tokenizer: TokenizerLike | Sequence[TokenizerLike] = "gpt2",
    reference: Any = None,
    *,
    join: str | None = None,
    add_special_tokens: bool = False,
    whole_files: bool = False,
    field: str | None = None,
    label: str | None = None,
    num_threads: int | None = None,
    batch_chars: int = BATCH_CHARS,
    progress: bool | None = None,
    engine: str | None = None,
    num_cpus: int | None = None,
) -> Stats | StatsTable:
    """Measure ``tokenizer`` on ``texts``; see the module docstring for what is measured.

    ``texts``: a string (one text), a list of strings, a :class:`~pathlib.Path` to a file,
    folder or glob (``Path("data/*.txt")``: one text per line, or per file with
    ``whole_files``; JSON lines give their ``field``, ``text`` by default; Parquet and Arrow
    files their ``field`` column; ``.gz`` and ``.zst`` are read too; a folder is its text files,
    see :mod:`tokenlens.sources`), a pandas Series or a ``datasets`` column (a DataFrame,
    Dataset or IterableDataset by its ``field`` column), a generator or other iterable of
    strings (read once, as measured), or a dict ``{label: any of these}``
    for several languages. ``tokenizer``: a name, path or loaded
    tokenizer, or a list of them. ``reference``: parallel text for the premium (same number of
    texts, in the same order), or the key of ``texts`` that holds it (e.g. ``"eng_Latn"``).
    ``join``: tokenize all texts of a set as one text joined by this separator, as Petrov et al.
    counted FLORES (``join=" "``); by default each text is tokenized on its own and the counts
    are summed. ``engine="ray"`` measures in Ray Data workers with the same numbers (a
    ``ray.data.Dataset``, by its ``field`` column, uses Ray unless ``engine="local"``); without
    a connected Ray, a local one is started with ``num_cpus`` (see
    :mod:`tokenlens.measure.distributed`).

    Returns a :class:`Stats` for one tokenizer on one set of texts, otherwise a
    :class:`StatsTable` (one row per tokenizer and set) that displays as a table and a chart.
    """
    from tokenlens.core.api import load
    from tokenlens.measure import distributed

    engine = distributed.choose_engine(engine, texts, reference)
    texts, reference = distributed.wrap(texts, label, field), distributed.wrap(reference, None, field)
    run = distributed.measurer(engine, num_cpus)
    sources = _sources(texts, label, whole_files, field)
    ref_source: Texts | None = None
    ref_key: str | None = None
    if isinstance(reference, str) and isinstance(texts, Mapping) and reference in texts:
        ref_key = reference
        ref_source = next(s for s in sources if s.label == reference)
    elif reference is not None:
        ref_source = as_texts(reference, None, whole_files, field)  # files keep their name (eng_Latn)
        if ref_source.label == "text":
            ref_source.label = "reference"
    for s in sources + ([ref_source] if ref_source is not None else []):
        if s.n == 0:
            raise _empty(s)
    if ref_source is not None:
        for s in sources:
            _check_parallel(s, ref_source)
    if join is not None:
        sources = [Joined(s, join) for s in sources]
        if ref_source is not None:
            ref_source = next((s for s in sources if s.label == ref_key), None) or Joined(ref_source, join)
    single = isinstance(tokenizer, (str, Backend))
    names = [tokenizer] if single else list(tokenizer)
    if not names:
        raise InputError("Name at least one tokenizer, e.g. 'gpt2' or ['gpt2', 'llama-2'].")
    backends = [load(t) for t in names]

    work = list(sources)
    if ref_source is not None and ref_key is None:
        work.append(ref_source)
    unknown = any(s.n is None for s in work)  # a stream: its size is told once it is read
    total_texts = None if unknown else sum(s.n for s in work) * len(backends)
    total_chars = sum(s.size_hint() for s in work) * len(backends)
    show = progress if progress is not None else unknown or total_chars >= PROGRESS_CHARS
    bar = _progress(total_texts, "tokenlens.stats", show, delay=2 if unknown and progress is None else 0)
    rows: list[Stats] = []
    try:
        for backend in backends:
            measured = {}
            for s in work:
                if bar is not None:
                    bar.set_description(f"{backend.name} · {s.label}", refresh=False)  # no bar before its delay
                measured[id(s)] = run(
                    backend,
                    s,
                    add_special_tokens=add_special_tokens,
                    num_threads=num_threads,
                    batch_chars=batch_chars,
                    bar=bar,
                )
            for s in work:
                if _read(s, measured[id(s)]) == 0:
                    raise _empty(s)
            ref_stats = measured[id(ref_source)] if ref_source is not None else None
            for s in sources:
                row = measured[id(s)]
                if ref_stats is not None:
                    _check_parallel(s, ref_source, _read(s, row), _read(ref_source, ref_stats))
                if ref_stats is not None:
                    row.reference_label = ref_source.label
                    row.reference_tokens = ref_stats.n_tokens
                    if ref_stats.n_tokens == 0:
                        row.notes.append("the reference has no tokens: the premium is undefined (NaN)")
                rows.append(row)
    finally:
        if bar is not None:
            bar.close()
    if single and len(rows) == 1 and not isinstance(texts, Mapping):
        return rows[0]
    return StatsTable(rows)


__all__ = ["Stats", "StatsTable", "measure", "new_tally", "stats", "stats_from_tally"]
