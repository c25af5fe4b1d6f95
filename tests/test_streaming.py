"""Streaming sources at constant memory: Parquet, Arrow, JSON lines and text (plain, gzip,
zstandard), globs of them, ``datasets`` iterable datasets and generators, measured with the
numbers of the same texts held in a list; the bounded summary of tokens per text; memory that
does not grow with the corpus."""

from __future__ import annotations

import gzip
import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenlens
from tokenlens.core.limits import LIMITS, configure
from tokenlens.errors import InputError, SourceError
from tokenlens.measure.stats import measure
from tokenlens.measure.tally import Lengths
from tokenlens.sources.files import check
from tokenlens.sources.texts import as_texts

from .conftest import flores

LINES = flores("hin_Deva")[:150] + ["", "  spaced  out  "] + flores("eng_Latn")[:50]


def _write(path, lines):
    """``lines`` in the format the file name says (one text a line or a row)."""
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq
    import zstandard

    name = path.name
    table = pa.table({"id": list(range(len(lines))), "text": lines})
    if name.endswith(".parquet"):
        pq.write_table(table, path, row_group_size=64)  # several row groups
    elif name.endswith(".feather"):
        feather.write_feather(table, path, chunksize=50)
    elif name.endswith(".arrow"):
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=70)  # an IPC stream, not a file
    else:
        body = (
            "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in lines)
            if ".jsonl" in name
            else "".join(t + "\n" for t in lines)
        ).encode("utf-8")
        if name.endswith(".gz"):
            body = gzip.compress(body)
        elif name.endswith(".zst"):
            body = zstandard.ZstdCompressor().compress(body)
        path.write_bytes(body)
    return path


def _same(a, b):
    assert a.to_dict() | {"label": ""} == b.to_dict() | {"label": ""}
    assert a.token_counts.tolist() == b.token_counts.tolist()


FORMATS = [
    "t.parquet",
    "t.feather",
    "t.arrow",
    "t.jsonl",
    "t.jsonl.gz",
    "t.txt",
    "t.txt.gz",
    "t.txt.zst",
    "t.jsonl.zst",
]


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_measures_like_the_same_texts_in_a_list(tmp_path, name):
    lines = LINES if "txt" not in name else [t for t in LINES if t]  # a text file's line is one text
    path = _write(tmp_path / name, lines)
    source = as_texts(path)
    assert source.n == len(lines) and list(source) == lines
    for tokenizer in ("gpt2", "bert-base-uncased"):
        _same(
            tokenlens.stats(path, tokenizer, add_special_tokens=True),
            tokenlens.stats(lines, tokenizer, add_special_tokens=True),
        )


def test_table_row_counts_come_from_metadata_without_reading_the_rows(tmp_path, monkeypatch):
    from tokenlens.sources import tables

    path = _write(tmp_path / "t.parquet", LINES)
    monkeypatch.setattr(tables, "_batches", lambda *a: pytest.fail("read the rows to count them"))
    assert as_texts(path).n == len(LINES) and check(path).lines == len(LINES)


def test_a_glob_mixing_formats_is_read_in_order(tmp_path):
    parts = [LINES[:60], LINES[60:100], [t for t in LINES[100:170] if t], LINES[170:]]
    for name, part in zip(("a.parquet", "b.feather", "c.txt.zst", "d.jsonl.gz"), parts):
        _write(tmp_path / name, part)
    (tmp_path / "e.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # a glob names files, so *.* would take it
    every = [t for part in parts for t in part]
    source = as_texts([tmp_path / "[a-d].*"])
    assert source.n == len(every) and list(source) == every
    _same(tokenlens.stats(tmp_path / "[a-d].*", "gpt2"), tokenlens.stats(every, "gpt2"))
    # a folder takes its tables too (a Parquet file holds NUL bytes, yet it is not left out)
    (tmp_path / "e.png").unlink()
    assert tokenlens.stats(tmp_path, "gpt2").n_texts == len(every)


def test_an_iterable_dataset_streams_with_its_size_told_at_the_end(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"body": t, "n": i}) + "\n" for i, t in enumerate(LINES)), encoding="utf-8")
    stream = datasets.load_dataset("json", data_files=str(rows), split="train", streaming=True)
    source = as_texts(stream, field="body")
    assert source.n is None and not source.once()
    _same(tokenlens.stats(stream, "gpt2", field="body"), tokenlens.stats(LINES, "gpt2"))
    view = tokenlens.dataset_view(stream, "gpt2", 40, field="body", label="text")
    listed = tokenlens.dataset_view(LINES, "gpt2", 40)
    assert view.to_dict() == listed.to_dict()  # the longest rows' previews are read again from the stream
    with pytest.raises(SourceError, match="Its columns: body, n"):
        tokenlens.stats(stream, "gpt2", field="missing")
    # a map-style Dataset is read as it is measured too, its length known
    table = datasets.Dataset.from_dict({"text": LINES})
    assert as_texts(table).n == len(LINES)
    _same(tokenlens.stats(table, "gpt2"), tokenlens.stats(LINES, "gpt2"))


def test_a_generator_is_measured_once_and_its_reference_checked_at_the_end():
    eng, hin = flores("eng_Latn")[:40], flores("hin_Deva")[:40]
    streamed = tokenlens.stats((t for t in hin), "gpt2", reference=(t for t in eng), progress=True)
    listed = tokenlens.stats(hin, "gpt2", reference=eng)
    assert streamed.premium == listed.premium and streamed.n_tokens == listed.n_tokens
    with pytest.raises(InputError, match=r"has 40 texts .* has 39 \(found once they were read\)"):
        tokenlens.stats((t for t in hin), "gpt2", reference=(t for t in eng[:39]))
    with pytest.raises(InputError, match="holds no texts"):
        tokenlens.stats((t for t in []), "gpt2")
    with pytest.raises(SourceError, match="item 2 is missing"):
        tokenlens.stats((t for t in ["a", "b", None]), "gpt2")
    joined = tokenlens.stats((t for t in hin), "gpt2", reference=(t for t in eng), join=" ")
    assert joined.premium == tokenlens.stats(hin, "gpt2", reference=eng, join=" ").premium
    view = tokenlens.dataset_view((t for t in hin), "gpt2", 30)
    assert view.summary() == tokenlens.dataset_view(hin, "gpt2", 30).summary()
    with pytest.raises(InputError, match="read only once"):
        view.text(0)


def test_bad_tables_are_refused_in_the_one_wording(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = _write(tmp_path / "good.parquet", LINES)
    with pytest.raises(SourceError, match=r"good.parquet has no column 'body' \(its columns: id, text\)\. Name the"):
        tokenlens.stats(good, "gpt2", field="body")
    with pytest.raises(SourceError, match=r"has a column 'id' of int64, not text"):
        tokenlens.stats(good, "gpt2", field="id")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(SourceError, match=r"cut.parquet is not a readable Parquet file \(.*\)\. It may be cut short"):
        tokenlens.stats(cut, "gpt2")
    holes = tmp_path / "holes.parquet"
    pq.write_table(pa.table({"text": ["one", None, "three"]}), holes)
    with pytest.raises(SourceError, match=r"holes.parquet, row 2: field 'text' is missing \(null\)\. Fix the line"):
        tokenlens.stats(holes, "gpt2")
    body = _write(tmp_path / "t.txt.zst", LINES[:30]).read_bytes()
    (tmp_path / "t.txt.zst").write_bytes(body[: len(body) - 9])
    assert "is not a readable zstandard file (the file ends inside a frame)" in check(tmp_path / "t.txt.zst").message()


def test_dataset_view_of_a_parquet_file_equals_the_list_view_and_beyond_the_kept_rows(tmp_path):
    path = _write(tmp_path / "t.parquet", LINES)
    listed = tokenlens.dataset_view(LINES, "gpt2", 48, 2.5)
    assert tokenlens.dataset_view(path, "gpt2", 48, 2.5, label="text").to_dict() == listed.to_dict()
    saved = LIMITS.stats_row_counts
    configure(stats_row_counts=50)  # fewer than the rows: token_counts is not kept, the numbers are the same
    try:
        summary = tokenlens.dataset_view(path, "gpt2", 48, 2.5, label="text")
        assert summary.token_counts is None and summary.to_dict() == listed.to_dict()
        with pytest.raises(InputError, match="kept its 100 longest rows"):
            summary.longest(101)
    finally:
        configure(stats_row_counts=saved)


def _peak(copies: int, batch_chars: int) -> tuple[int, int]:
    """tracemalloc's peak (bytes) measuring ``copies`` copies of LINES from a generator, and the texts."""
    backend = tokenlens.load("gpt2")
    tracemalloc.start()
    try:
        measured = measure(backend, as_texts(f"{k} {t}" for k in range(copies) for t in LINES), batch_chars=batch_chars)
        return tracemalloc.get_traced_memory()[1], measured.n_texts
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_the_batch_not_the_corpus():
    saved = LIMITS.stats_row_counts
    configure(stats_row_counts=0)  # the per-text counts (8 bytes a text) are the one part that may grow
    try:
        measure(tokenlens.load("gpt2"), as_texts(LINES))  # warm caches (token tables) outside the count
        small, n_small = _peak(1, 4_000)
        large, n_large = _peak(8, 4_000)
    finally:
        configure(stats_row_counts=saved)
    assert n_large == 8 * n_small
    # 8× the texts (each copy new strings, about 120 kB of them) must not take more memory: a
    # loader that keeps the texts, or anything per text, grows with them (2.6× before streaming)
    assert large < small * 1.5 + 64_000, (small, large)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.integers(0, 40), st.integers(65_530, 65_545), st.integers(0, 10**6)), max_size=300),
    st.integers(0, 300),
    st.sampled_from([0, 3, 10]),
)
def test_the_summary_of_tokens_per_text_is_exact_and_merges_in_row_order(counts, cut, keep):
    counts = np.array(counts, dtype=np.int64)
    cut = min(cut, len(counts))
    whole = Lengths(keep=keep, keep_rows=10**6)
    whole.add(counts)
    first, second = Lengths(keep=keep, keep_rows=10**6), Lengths(keep=keep, keep_rows=10**6)
    first.add(counts[:cut])
    second.add(counts[cut:])
    for lengths in (whole, first.merge(second)):
        assert lengths.n == len(counts) and lengths.total == int(counts.sum())
        assert lengths.rows.tolist() == counts.tolist()
        order = np.lexsort((np.arange(len(counts)), -counts))[:keep]
        assert lengths.longest() == [(int(counts[i]), int(i)) for i in order]
        if len(counts):
            for q in (5, 50, 95, 99.5):
                assert lengths.percentile(q) == float(np.percentile(counts, q))
            assert lengths.median() == float(np.median(counts)) and lengths.max == int(counts.max())
            edges = np.arange(0, int(counts.max()) + 40, 37)
            assert lengths.histogram(edges).tolist() == np.histogram(counts, bins=edges)[0].tolist()
            assert lengths.over(30) == (
                int((counts > 30).sum()),
                int(np.clip(counts - 30, 0, None).sum()),
            )


def test_progress_counts_texts_without_a_total_and_checking_files_in_bytes(tmp_path, capsys, monkeypatch):
    from tokenlens.sources import texts

    tokenlens.stats((t for t in LINES), "gpt2", progress=True)
    shown = capsys.readouterr().err
    assert "text/s]" in shown and "%|" not in shown  # a count and a rate, no total to show a share of

    class Bar:  # what the check of several files tells the bar
        n, closed = 0, False

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True

    bar = Bar()
    monkeypatch.setattr(texts, "_bytes_bar", lambda total, desc: bar)
    first, second = _write(tmp_path / "a.txt", LINES * 40), _write(tmp_path / "b.txt.gz", LINES * 40)
    _write(tmp_path / "c.parquet", LINES)
    assert as_texts(tmp_path).n == 81 * len(LINES)
    assert bar.n == first.stat().st_size + second.stat().st_size and bar.closed


def test_a_parquet_file_is_not_read_ahead_whole(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = [f"{k} {t}" for k in range(120) for t in LINES]  # about 7 MB of text, in row groups of 500 rows
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": lines}), path, row_group_size=500, compression="none", use_dictionary=False)
    before, peak, seen = pa.total_allocated_bytes(), 0, 0
    for seen, _ in enumerate(as_texts(path), 1):
        if seen % 250 == 0:
            peak = max(peak, pa.total_allocated_bytes() - before)
    assert seen == len(lines)
    # a row group's column and a batch, not the file (pyarrow's pre-buffering held all of it)
    assert peak < path.stat().st_size / 3, (peak, path.stat().st_size)


def test_fine_tuning_and_held_out_training_text_take_a_table_a_row_a_record(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tokenlens.finetune.data import read_rows
    from tokenlens.vocab.train import _read_heldout

    path = _write(tmp_path / "t.parquet", LINES)
    assert read_rows([str(path)]).rows == [{"text": t} for t in LINES if t.strip()]
    pairs = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"prompt": ["2+2=", "3+3="], "completion": ["4", "6"]}), pairs)
    assert read_rows([str(pairs)]).rows == [
        {"prompt": "2+2=", "completion": "4"},
        {"prompt": "3+3=", "completion": "6"},
    ]
    assert _read_heldout(None, path, None) == "".join(t + "\n" for t in LINES)
