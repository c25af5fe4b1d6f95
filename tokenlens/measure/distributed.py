"""Measuring in Ray workers: ``stats`` and ``dataset_view`` on a cluster, numbers unchanged.

``stats(ray_dataset)`` or ``stats(texts, engine="ray")`` runs the in-process measuring code
(:func:`tokenlens.measure.stats._measure_batch` folding texts into a
:class:`~tokenlens.measure.tally.Tally`) in Ray Data workers, one block of texts at a time
(``Dataset.map_batches``), and merges the blocks' tallies on the driver in row order
(``Tally.merge``), so every count, ratio, per-row count and longest row equals the in-process
result to the last digit. Workers load the tokenizer by its name through
:func:`tokenlens.load` and check it against the driver's before measuring; tokenizer engines are
never pickled.

Each worker needs ``jupyterlab-tokenlens[scale]`` installed and the tokenizer where its
``tokenlens.load`` finds it (the same ``TOKENLENS_PATH`` folders, the registry, or the same
path); files given as paths are read by the workers, so they must be on every node (a shared
file system). To use a cluster, call ``ray.init(address="ray://HEAD:10001")`` before measuring:
tokenlens never initialises Ray when it is already initialised, and otherwise starts a local
Ray with ``num_cpus`` CPUs (all by default) and says so on stderr.
"""

from __future__ import annotations

import copy
import functools
import os
import pickle
import socket
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tokenlens.backends import Backend
from tokenlens.errors import InputError, MissingExtra, SourceError, TokenlensError
from tokenlens.measure.fertility import not_unicode
from tokenlens.measure.stats import BATCH_CHARS, Stats, _measure_batch, stats_from_tally
from tokenlens.measure.tally import Lengths, Tally
from tokenlens.sources.objects import ITEM_HINT, item_problem
from tokenlens.sources.texts import Texts, _Files, _Memory

ENGINES = ("local", "ray")
INSTALL = "pip install 'jupyterlab-tokenlens[scale]'"
#: characters per block that tokenlens hands to Ray when it reads a source itself (a block is
#: one task's work: big enough to hide the task's overhead, small enough to spread over workers)
BLOCK_CHARS = 4_000_000
#: a text every worker encodes to check that it loaded the driver's tokenizer
PROBE = "Tokenlens checks its workers: ଓଡ଼ିଆ ଭାଷା, हिन्दी, العربية, 日本語, 😀 ß\n\t 12345 [UNK] <s>"


def import_ray():
    """Ray and Ray Data, or an error that names the extra to install."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtra(
            f"engine='ray' needs Ray Data, which is not installed: {INSTALL} (on every machine of the cluster too)."
        ) from None
    return ray


def is_ray_dataset(obj: Any) -> bool:
    """True for a ``ray.data.Dataset`` (checked by type, without importing Ray)."""
    return any(c.__module__.startswith("ray.data") and c.__name__ == "Dataset" for c in type(obj).__mro__)


def choose_engine(engine: str | None, *sources: Any) -> str:
    """``engine`` checked, or (None) ``"ray"`` when a source is a Ray Dataset, else ``"local"``."""
    if engine is None:
        found = [s for src in sources for s in (src.values() if isinstance(src, Mapping) else [src])]
        return "ray" if any(is_ray_dataset(s) or isinstance(s, RayTexts) for s in found) else "local"
    if engine not in ENGINES:
        raise InputError(f"Unknown engine {engine!r}: 'local' (this process) or 'ray' (Ray Data workers).")
    if engine == "ray":
        import_ray()
    return engine


def wrap(texts: Any, label: str | None = None, field: str | None = None) -> Any:
    """``texts`` with each Ray Dataset in it (also a dict's values) as :class:`RayTexts`."""
    if isinstance(texts, Mapping):
        return {k: RayTexts(v, str(k), field) if is_ray_dataset(v) else v for k, v in texts.items()}
    return RayTexts(texts, label, field) if is_ray_dataset(texts) else texts


# -- sources ------------------------------------------------------------------------------------


class RayTexts(Texts):
    """Texts in Ray: a ``ray.data.Dataset``'s text column, or another source put into Ray.

    The longest rows that measuring finds are kept (``kept``), so the dataset view opens them
    without reading the dataset again.
    """

    def __init__(self, source: Any, label: str | None = None, field: str | None = None):
        self.kept: dict[int, str] = {}
        if isinstance(source, Texts):
            self.origin: Texts | None = source
            self.dataset = None
            self.column = "text"
            self.label, self.n, self.notes, self.chars = source.label, source.n, source.notes, source.chars
            return
        self.origin = None
        self.dataset = source
        columns = list(source.columns() or [])
        name = field or ("text" if "text" in columns or not columns else None)
        if name is None or name not in columns:
            example = next((c for c in columns if c != "id"), "text")
            raise SourceError(
                f"Name the column of the Ray Dataset that holds the text: field='{example}'"
                f" (--field in the magics). Its columns: {', '.join(columns)}."
            )
        self.column = name
        self.label = label or name
        self.n = _known_count(source)

    def blocks(self) -> Any:
        """The texts as a Ray Dataset of one column (tokenlens reads a non-Ray source itself)."""
        ray = import_ray()
        if self.dataset is not None:
            return self.dataset.select_columns([self.column])
        import pyarrow as pa

        source = self.origin
        if isinstance(source, _Files):
            # The workers read the files, each with the same reader as in-process. Reading is a
            # stage of its own (so one big file feeds every worker) that reserves no CPU: it is a
            # small part of the work, and a reader waiting for the measuring must not hold a core.
            files = ray.data.from_items([{"file": i} for i in range(len(source.paths))])
            readers = max(1, int(ray.cluster_resources().get("CPU", 1)) // 8)
            return files.map_batches(
                _read_files,
                batch_size=1,
                batch_format="pyarrow",
                fn_kwargs={"source": source},
                num_cpus=0,
                concurrency=readers,
            )
        chunks = source.batches(BLOCK_CHARS)
        if isinstance(source, _Memory):
            return ray.data.from_arrow([pa.table({"text": pa.array(c, pa.large_string())}) for c in chunks])
        # Anything else is read here, in order, into Ray's object store (which spills to disk).
        refs = [ray.put(pa.table({"text": pa.array(c, pa.large_string())})) for c in chunks]
        return ray.data.from_arrow_refs(refs)

    def __iter__(self) -> Iterator[str]:
        if self.origin is not None:
            yield from self.origin
            return
        row = 0
        for batch in self.dataset.select_columns([self.column]).iter_batches(batch_format="pyarrow"):
            for text in batch.column(0).to_pylist():
                problem = item_problem(row, text)
                if problem is not None:
                    raise SourceError(f"{self.label}: {problem}. Every item must be a text. {ITEM_HINT}")
                row += 1
                yield text

    def get_many(self, rows) -> dict[int, str]:
        found = {int(r): self.kept[int(r)] for r in rows if int(r) in self.kept}
        missing = [int(r) for r in rows if int(r) not in found]
        if missing:
            found.update(self.origin.get_many(missing) if self.origin is not None else super().get_many(missing))
        return found

    def size_hint(self) -> int:
        return self.origin.size_hint() if self.origin is not None else 0

    def once(self) -> bool:
        return self.origin.once() if self.origin is not None else False


def _known_count(dataset: Any) -> int | None:
    """Rows of a Ray Dataset when its metadata tells them (a Parquet footer, in-memory blocks),
    else None (known once measured): ``count()`` would run the dataset's whole pipeline once more."""
    try:
        return dataset._meta_count()
    except Exception:  # a Ray without it: the count is checked after measuring instead
        return None


def as_ray_texts(source: Texts) -> RayTexts:
    return source if isinstance(source, RayTexts) else RayTexts(source)


def _read_files(batch, source: _Files) -> Iterator[Any]:
    """Ray stage: the texts of one of ``source``'s files, in blocks, read as in-process."""
    import pyarrow as pa

    for i in batch.column("file").to_pylist():
        one = copy.copy(source)
        one.paths = [source.paths[i]]
        for chunk in one.batches(BLOCK_CHARS):
            yield pa.table({"text": pa.array(chunk, pa.large_string())})


# -- workers ------------------------------------------------------------------------------------


@dataclass
class _Job:
    """What each task needs: the tokenizer by name, how to measure, what to send back."""

    tokenizer: str
    identity: tuple
    specials: int
    num_threads: int | None
    batch_chars: int
    keep: int
    keep_rows: int
    keep_texts: bool


@dataclass
class _Part:
    """One block's result: its tally (rows from 0), its longest texts, or the first bad row."""

    tally: Tally
    texts: dict[int, str] = field(default_factory=dict)
    #: (row in the block, the item) of the first item that is not a text, or not Unicode
    bad_item: tuple[int, Any] | None = None
    bad_unicode: tuple[int, str] | None = None


def _identity(backend: Backend) -> tuple:
    """What must agree between the driver's tokenizer and a worker's: engine, size, probe ids."""
    table = backend.token_table()
    return (
        type(backend).__name__,
        backend.vocab_size,
        table.unknown_token,
        tuple(int(i) for i in backend.encode_batch_ids([PROBE])[0]),
    )


def _sendable_name(backend: Backend) -> str:
    """A name or path under which ``tokenlens.load`` gives this very tokenizer, for workers."""
    from tokenlens.core.api import load

    mine = _identity(backend)
    for name in dict.fromkeys([backend.name, backend.source]):
        if not name:
            continue
        try:
            if _identity(load(name)) == mine:
                return name
        except TokenlensError:
            continue
    raise InputError(
        f"Ray workers load the tokenizer by its name or path, and {backend.name!r} is neither one that"
        " tokenlens.load finds: save it (tokenizer.save_pretrained or the registry) and pass its name."
    )


_LOADED: dict[tuple[str, tuple], tuple[Backend, Any]] = {}


def _worker_backend(job: _Job) -> tuple[Backend, Any]:
    """The job's tokenizer, loaded once per worker process and checked against the driver's."""
    key = (job.tokenizer, job.identity)
    if key not in _LOADED:
        from tokenlens.core.api import load

        where = f"the Ray worker on {socket.gethostname()}"
        try:
            backend = load(job.tokenizer)
        except TokenlensError as exc:
            raise TokenlensError(
                f"{where} cannot load the tokenizer {job.tokenizer!r}: {exc} Every worker needs"
                " jupyterlab-tokenlens and the tokenizer's files where tokenlens.load finds them"
                " (the same TOKENLENS_PATH folders)."
            ) from None
        if _identity(backend) != job.identity:
            raise TokenlensError(
                f"{where} loaded a different tokenizer under the name {job.tokenizer!r} than this"
                " process did (its vocabulary or ids differ): give every machine the same"
                " tokenizer files and TOKENLENS_PATH."
            )
        _LOADED[key] = (backend, backend.token_table())
    return _LOADED[key]


def _measure_block(batch, job: _Job):
    """Ray stage: one block of texts → one row holding its pickled :class:`_Part`."""
    import pyarrow as pa

    os.environ.setdefault("RAYON_NUM_THREADS", "1")  # a task holds one CPU; Hugging Face's pool obeys this
    backend, table = _worker_backend(job)
    texts = batch.column(0).to_pylist()
    part = _Part(Tally(lengths=Lengths(keep=job.keep, keep_rows=job.keep_rows)))
    bad = next(((i, t) for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        part.bad_item = bad
    else:
        try:
            for chunk in _chunks(texts, job.batch_chars):
                enc = backend.encode_batch_spans(chunk, job.num_threads or 1)
                _measure_batch(chunk, enc, table, part.tally, job.specials)
        except (UnicodeEncodeError, TypeError, InputError):
            i = next((i for i, t in enumerate(texts) if not_unicode([t], 0) is not None), None)
            if i is None:
                raise
            part = _Part(Tally(), bad_unicode=(i, texts[i]))
        if job.keep_texts and part.bad_unicode is None:
            part.texts = {row: texts[row] for _, row in part.tally.lengths.longest()}
    return pa.table({"part": pa.array([pickle.dumps(part)], pa.large_binary())})


def _chunks(texts: list[str], batch_chars: int) -> Iterator[list[str]]:
    """Consecutive runs of about ``batch_chars`` characters, as ``Texts.batches`` cuts them."""
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text)
        if size >= batch_chars:
            yield texts[start : i + 1]
            start, size = i + 1, 0
    if start < len(texts):
        yield texts[start:]


# -- the driver ---------------------------------------------------------------------------------


def measurer(engine: str, num_cpus: int | None = None):
    """The function that measures one tokenizer on one source with ``engine``."""
    from tokenlens.measure.stats import measure

    if engine == "local":
        return measure
    return functools.partial(measure_ray, num_cpus=num_cpus)


def ensure_ray(num_cpus: int | None = None):
    """Ray, initialised: the cluster already connected to, or a local Ray started here."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        print(
            f"tokenlens: started a local Ray with {cpus} CPUs; to use a cluster, call"
            ' ray.init(address="ray://HEAD:10001") before measuring.',
            file=sys.stderr,
        )
    return ray


def measure_ray(
    backend: Backend,
    source: Texts,
    *,
    add_special_tokens: bool = False,
    num_threads: int | None = None,
    batch_chars: int = BATCH_CHARS,
    bar=None,
    num_cpus: int | None = None,
    keep_texts: bool = True,
) -> Stats:
    """:func:`tokenlens.measure.stats.measure`, in Ray workers: the same numbers."""
    from tokenlens.measure.stats import new_tally

    ensure_ray(num_cpus)
    texts = as_ray_texts(source)
    total = new_tally()
    job = _Job(
        tokenizer=_sendable_name(backend),
        identity=_identity(backend),
        specials=backend.special_tokens_added() if add_special_tokens else 0,
        num_threads=num_threads,
        batch_chars=batch_chars,
        keep=total.lengths.keep,
        keep_rows=total.lengths.keep_rows,
        keep_texts=keep_texts,
    )
    blocks = texts.blocks()
    parts = blocks.map_batches(_measure_block, batch_size=None, batch_format="pyarrow", fn_kwargs={"job": job})
    # Tallies merge in row order; Ray keeps blocks in order only when asked. The context is the
    # source dataset's own (shared by what derives from it), so it is put back as it was.
    options = parts.context.execution_options
    before = options.preserve_order
    options.preserve_order = True
    kept: dict[int, str] = {}
    try:
        for row in parts.iter_rows():
            part: _Part = pickle.loads(row["part"])
            first = total.n_texts
            if part.bad_item is not None:
                i, item = part.bad_item
                raise SourceError(
                    f"{texts.label}: {item_problem(first + i, item)}. Every item must be a text. {ITEM_HINT}"
                )
            if part.bad_unicode is not None:
                i, text = part.bad_unicode
                raise not_unicode([text], first + i)
            total.merge(part.tally)
            if keep_texts:
                kept.update({first + r: t for r, t in part.texts.items()})
                longest = {r for _, r in total.lengths.longest()}
                kept = {r: t for r, t in kept.items() if r in longest}
            if bar is not None:
                bar.update(part.tally.n_texts)
    except Exception as exc:  # Ray wraps a worker's error; ours already says what to do
        cause = getattr(exc, "cause", None)
        if isinstance(cause, TokenlensError):
            raise cause from None
        raise
    finally:
        options.preserve_order = before
    texts.kept.update(kept)
    return stats_from_tally(total, backend, texts.label, add_special_tokens=add_special_tokens, notes=texts.notes)


__all__ = [
    "RayTexts",
    "as_ray_texts",
    "choose_engine",
    "ensure_ray",
    "import_ray",
    "is_ray_dataset",
    "measure_ray",
    "measurer",
    "wrap",
]
