"""engine="ray": stats and the dataset view measured in Ray Data workers equal the in-process
numbers to the last digit (FLORES, several languages, GPT-2 and BERT, a reference for the
premium); Ray Datasets, files and lists as sources; bad rows named as in-process; Ray missing.

One local Ray (2 CPUs) serves the whole module: starting one costs seconds."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from tokenlens.errors import InputError, MissingExtra, SourceError, TokenlensError  # noqa: E402
from tokenlens.measure import distributed  # noqa: E402
from tokenlens.measure.dataset import dataset_view  # noqa: E402
from tokenlens.measure.stats import Stats, stats  # noqa: E402

from .conftest import FLORES, TOKENIZERS, flores  # noqa: E402

LANGS = ["ory_Orya", "hin_Deva", "eng_Latn"]
TOKENIZERS_USED = ["gpt2", "bert-base-uncased"]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    for attempt in range(2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception as exc:  # Ray gives its raylet 30 s, which a loaded 2-core box can miss
            ray.shutdown()
            if attempt or "timed out during startup" not in str(exc):
                raise
    yield
    ray.shutdown()


def dataset_of(texts: list[str], column: str = "text", blocks: int = 6):
    return ray.data.from_items([{column: t, "id": i} for i, t in enumerate(texts)], override_num_blocks=blocks)


def assert_same(ours: Stats, local: Stats) -> None:
    """Every field, the per-row counts and the summary of lengths, exactly."""
    np.testing.assert_equal(ours.to_dict(), local.to_dict())
    np.testing.assert_array_equal(ours.token_counts, local.token_counts)
    assert ours.lengths.longest() == local.lengths.longest()
    np.testing.assert_array_equal(ours.lengths.values(), local.lengths.values())


def test_stats_on_ray_datasets_equal_in_process():
    texts = {lang: flores(lang) for lang in LANGS}
    local = stats(texts, TOKENIZERS_USED, reference="eng_Latn", add_special_tokens=True)
    ours = stats(
        {lang: dataset_of(t) for lang, t in texts.items()},
        TOKENIZERS_USED,
        reference="eng_Latn",
        add_special_tokens=True,
    )
    assert len(ours) == len(local) == 6
    for mine, theirs in zip(ours, local):
        assert mine.premium is not None and mine.reference_label == "eng_Latn"
        assert_same(mine, theirs)
    # a Ray Dataset as the reference, the tokenizer given loaded
    from tokenlens import load

    ory, eng = dataset_of(texts["ory_Orya"], "sentence", 3), dataset_of(texts["eng_Latn"], "sentence")
    one = stats(ory, load("gpt2"), eng, field="sentence")
    import pandas as pd  # a table by its column, in-process: the same labels

    tables = [pd.DataFrame({"sentence": texts[lang]}) for lang in ("ory_Orya", "eng_Latn")]
    assert_same(one, stats(tables[0], "gpt2", tables[1], field="sentence"))
    # engine="local" reads a Ray Dataset here, in this process
    assert_same(stats(ory, "gpt2", eng, field="sentence", engine="local"), one)


def test_engine_ray_on_files_and_lists_equals_in_process(capsys):
    files = {lang: FLORES / f"{lang}.dev" for lang in LANGS}
    local = stats(files, TOKENIZERS_USED, reference="eng_Latn")
    for mine, theirs in zip(stats(files, TOKENIZERS_USED, reference="eng_Latn", engine="ray"), local):
        assert_same(mine, theirs)
    # join: each language is one text (measured by one worker), as Petrov et al. counted
    two = {lang: files[lang] for lang in ("ory_Orya", "eng_Latn")}
    for mine, theirs in zip(
        stats(two, "gpt2", reference="eng_Latn", join=" ", engine="ray"),
        stats(two, "gpt2", reference="eng_Latn", join=" "),
    ):
        assert_same(mine, theirs)
    # several files as one source: read by the workers, file after file, in order
    glob = Path(FLORES / "*.devtest")
    assert_same(stats(glob, "gpt2", engine="ray", batch_chars=20_000), stats(glob, "gpt2"))
    short = flores("hin_Deva")[:300]
    assert_same(stats(short, "bert-base-uncased", engine="ray"), stats(short, "bert-base-uncased"))
    # a generator is read here, once, into Ray's object store
    assert_same(stats((t for t in short), "gpt2", engine="ray"), stats(short, "gpt2"))
    # Ray was running: tokenlens used it and started none of its own
    assert ray.cluster_resources()["CPU"] == 2
    assert "started a local Ray" not in capsys.readouterr().err


def test_engine_ray_on_parquet_equals_in_process(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for i, lang in enumerate(["ory_Orya", "arb_Arab"]):  # small row groups: a file is many blocks
        table = pa.table({"id": range(997), "sentence": flores(lang)})
        pq.write_table(table, tmp_path / f"part-{i}.parquet", row_group_size=100)
    corpus = tmp_path / "*.parquet"
    ours = stats(corpus, "gpt2", field="sentence", engine="ray", batch_chars=30_000)
    assert ours.n_texts == 1994
    assert_same(ours, stats(corpus, "gpt2", field="sentence"))


def test_dataset_view_on_ray_equals_in_process():
    texts = flores("ory_Orya") + flores("eng_Latn", "devtest")
    local = dataset_view(texts, "bert-base-uncased", context_length=64, price_per_million=2.5, label="sentence")
    for source in (dataset_of(texts, "sentence"), texts):
        ours = dataset_view(
            source,
            "bert-base-uncased",
            context_length=64,
            price_per_million=2.5,
            field="sentence",
            label="sentence",
            engine="ray",
        )
        assert_same(ours.stats, local.stats)
        assert ours.summary() == local.summary()
        assert ours.longest(20) == local.longest(20)
        for got, want in zip(ours.histogram(), local.histogram()):
            np.testing.assert_array_equal(got, want)
        assert ours.n_truncated > 0 and ours.tokens_cut == local.tokens_cut
        # a row the workers did not send back is read from the source
        assert ours.text(5) == texts[5] and ours.text(1500) == texts[1500]
    path = FLORES / "hin_Deva.dev"
    ours = dataset_view(path, "gpt2", context_length=96, engine="ray")
    assert ours.to_dict() == dataset_view(path, "gpt2", context_length=96).to_dict()


def test_bad_rows_are_named_as_in_process():
    texts = flores("eng_Latn")[:400]
    texts[333] = None
    with pytest.raises(SourceError) as local:
        stats(texts, "gpt2")
    with pytest.raises(SourceError) as ours:
        stats(dataset_of(texts, blocks=4), "gpt2")
    assert str(ours.value) == str(local.value) and "item 333 is missing" in str(ours.value)
    texts[333] = "a lone surrogate \ud800 here"
    with pytest.raises(InputError) as local:
        stats(texts, "gpt2")
    with pytest.raises(InputError) as ours:
        stats(dataset_of(texts, blocks=4), "gpt2")
    assert str(ours.value) == str(local.value) and "Text 333" in str(ours.value)
    with pytest.raises(SourceError, match="field='sentence'"):
        stats(dataset_of(texts, "sentence"), "gpt2")


def test_workers_load_the_tokenizer_by_name_or_path(tmp_path):
    copy = tmp_path / "my-gpt2"
    shutil.copytree(TOKENIZERS / "gpt2", copy)
    texts = flores("ben_Beng")[:200]
    assert_same(stats(texts, str(copy), engine="ray"), stats(texts, str(copy)))
    job = distributed._Job("gpt2", ("another",), 0, None, 1000, 10, 10, False)
    with pytest.raises(TokenlensError, match="different tokenizer under the name 'gpt2'"):
        distributed._worker_backend(job)
    job.tokenizer = "no-such-tokenizer"
    with pytest.raises(TokenlensError, match="cannot load the tokenizer 'no-such-tokenizer'.*TOKENLENS_PATH"):
        distributed._worker_backend(job)


def test_engine_ray_without_ray_names_the_extra(monkeypatch):
    with pytest.raises(InputError, match="Unknown engine 'spark'"):
        stats(["a text"], "gpt2", engine="spark")
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(MissingExtra, match=r"pip install 'jupyterlab-tokenlens\[scale\]'"):
        stats(["a text"], "gpt2", engine="ray")
    with pytest.raises(MissingExtra, match="scale"):
        dataset_view(["a text"], "gpt2", engine="ray")
    assert stats(["a text"], "gpt2").n_tokens == 2  # the local engine needs no Ray
