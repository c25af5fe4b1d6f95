"""tokenlens.measure.stats: published premiums on FLORES, hand-computed metrics, every input form,
bad input, the fast batch path against a slow per-text reference, charts and the dataset view."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenlens
from tokenlens.errors import InputError
from tokenlens.measure import dataset, fertility
from tokenlens.measure import stats as metrics
from tokenlens.measure.dataset import dataset_view
from tokenlens.measure.stats import Stats, StatsTable, stats

from .conftest import FLORES

ALL = ["gpt2", "cl100k_base", "o200k_base", "bert-base-uncased", "llama-2"]

# Petrov et al. 2023, FLORES-200 dev + devtest joined, premium over English.
PUBLISHED = {
    ("gpt2", "ory_Orya"): 13.38,
    ("cl100k_base", "ory_Orya"): 12.48,
    ("llama-2", "ory_Orya"): 11.59,
    ("gpt2", "hin_Deva"): 7.46,
    ("cl100k_base", "hin_Deva"): 4.79,
    ("llama-2", "hin_Deva"): 4.60,
}


def flores_files(lang: str) -> Path:
    """dev and devtest of one language, in that order (a glob: sorted, so parallel)."""
    return FLORES / f"{lang}.*"


# -- the published figures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def flores_joined():
    """Petrov et al.'s count: each language's lines joined by a space, encoded as one text."""
    langs = ["eng_Latn", "ory_Orya", "hin_Deva"]
    return stats(
        {lang: flores_files(lang) for lang in langs}, ["gpt2", "cl100k_base", "llama-2"], reference="eng_Latn", join=" "
    )


@pytest.fixture(scope="module")
def flores_per_line():
    """Our default: every line encoded on its own, token counts summed."""
    langs = ["eng_Latn", "ory_Orya", "hin_Deva"]
    return stats({lang: flores_files(lang) for lang in langs}, ["gpt2", "cl100k_base", "llama-2"], reference="eng_Latn")


@pytest.mark.parametrize("key", PUBLISHED)
def test_published_premium_reproduces(flores_joined, key):
    premium = flores_joined[key].premium
    assert premium == pytest.approx(PUBLISHED[key], rel=0.01), (key, premium)


@pytest.mark.parametrize("key", PUBLISHED)
def test_per_line_premium_is_within_one_percent_too(flores_per_line, key):
    premium = flores_per_line[key].premium
    assert premium == pytest.approx(PUBLISHED[key], rel=0.01), (key, premium)


def test_flores_files_are_read_as_parallel_lines(flores_per_line):
    row = flores_per_line["gpt2", "ory_Orya"]
    assert row.n_texts == 997 + 1012
    assert row.reference_label == "eng_Latn"
    assert flores_per_line["gpt2", "eng_Latn"].premium == 1.0
    assert row.label == "ory_Orya"


def test_table_to_pandas_and_pivot(flores_per_line):
    df = flores_per_line.to_pandas()
    assert len(df) == 9
    assert {
        "tokenizer",
        "label",
        "n_tokens",
        "fertility",
        "premium",
        "split_share",
        "unknown_share",
        "byte_fallback_share",
        "partial_char_share",
        "chars_per_token",
        "bytes_per_token",
    } <= set(df.columns)
    pivot = flores_per_line.pivot("premium")
    assert list(pivot.columns) == ["gpt2", "cl100k_base", "llama-2"]
    assert list(pivot.index) == ["eng_Latn", "ory_Orya", "hin_Deva"]
    assert pivot.loc["ory_Orya", "llama-2"] == flores_per_line["llama-2", "ory_Orya"].premium


# -- hand-computed values on small texts --------------------------------------------------------


def test_gpt2_counts_by_hand():
    # "I love NLP" -> "I" " love" " N" "LP": NLP is one word split into two tokens
    s = stats("I love NLP", "gpt2")
    assert isinstance(s, Stats)
    assert (s.n_tokens, s.n_chars, s.n_bytes, s.n_words) == (4, 10, 10, 3)
    assert s.fertility == pytest.approx(4 / 3)
    assert s.split_share == pytest.approx(1 / 3)
    assert s.chars_per_token == 2.5 and s.bytes_per_token == 2.5
    assert s.unknown_share == 0.0 and s.unknown_token is None  # GPT-2 has no unknown token
    assert s.byte_fallback_share == 0.0 and s.partial_char_share == 0.0
    assert s.premium is None


def test_bert_counts_by_hand():
    # "i" "love" "nl" "##p"
    s = stats("I love NLP", "bert-base-uncased")
    assert (s.n_tokens, s.n_words, s.n_word_tokens, s.n_split_words) == (4, 3, 4, 1)
    with_special = stats("I love NLP", "bert-base-uncased", add_special_tokens=True)
    assert with_special.n_tokens == 6  # [CLS] ... [SEP]
    assert with_special.fertility == pytest.approx(4 / 3)  # special tokens belong to no word


def test_unknown_share_bert_on_odia():
    # "hello" is known; the Odia word is one [UNK] (100 is BERT's [UNK] id)
    assert tokenlens.tokenize("hello ଓଡ଼ିଆ", "bert-base-uncased", add_special_tokens=False).ids == [7592, 100]
    s = stats("hello ଓଡ଼ିଆ", "bert-base-uncased")
    assert s.unknown_token == "[UNK]"
    assert (s.n_unknown, s.n_tokens) == (1, 2)
    assert s.unknown_share == 0.5
    assert s.fertility == 1.0 and s.split_share == 0.0


def test_byte_fallback_share_llama_on_odia():
    # "I love ଓ" -> ▁I ▁love ▁ <0xE0> <0xAC> <0x93>: the Odia letter is three fallback bytes
    s = stats("I love ଓ", "llama-2")
    assert s.n_tokens == 6
    assert s.n_byte_fallback == 3 and s.byte_fallback_share == 0.5
    assert s.n_partial == 3  # bytes >= 0x80 are pieces of a character
    # the word "ଓ" is charged ▁ and its three bytes
    assert (s.n_words, s.n_word_tokens, s.n_split_words) == (3, 6, 1)
    assert s.unknown_share == 0.0 and s.unknown_token == "<unk>"


def test_llama_dummy_prefix_belongs_to_the_first_word():
    # "ଓ" alone -> ▁ <0xE0> <0xAC> <0x93>; the ▁ Llama puts before every text counts for the word
    s = stats("ଓ", "llama-2")
    assert (s.n_tokens, s.n_word_tokens, s.n_split_words) == (4, 4, 1)
    assert s.fertility == 4.0


def test_partial_characters_gpt2():
    s = stats("ଓ", "gpt2")  # E0 AC 93, one byte each
    assert (s.n_tokens, s.n_partial, s.n_byte_fallback) == (3, 3, 0)
    assert s.partial_char_share == 1.0 and s.fertility == 3.0


def test_whitespace_tokens_are_charged_to_no_word():
    # Llama 2: ▁▁ ▁two ▁ ▁spaces <0x09> and <0x0A> new line ▁
    s = stats("  two  spaces\tand\nnewline ", "llama-2")
    assert (s.n_tokens, s.n_words) == (10, 4)
    assert s.n_word_tokens == 5  # two:1 spaces:1 and:1 newline:2
    assert s.n_split_words == 1
    assert s.n_byte_fallback == 2  # tab and newline
    assert s.n_partial == 0


def test_several_texts_add_up():
    texts = ["I love NLP", "hello world", "ଓ"]
    total = stats(texts, "gpt2")
    parts = [stats(t, "gpt2") for t in texts]
    for key in Stats.COUNTS:
        if key != "n_texts":
            assert getattr(total, key) == sum(getattr(p, key) for p in parts), key
    assert total.n_texts == 3
    assert total.token_counts.tolist() == [4, 2, 3]


# -- the fast path against a slow, obvious reference -------------------------------------------


def slow_reference(text: str, name: str) -> tuple[int, int, int, int]:
    """(tokens, words, tokens charged to words, split words) from Tokenized spans, word by word."""
    r = tokenlens.tokenize(text, name, add_special_tokens=False)
    spans = []
    for s, e in r.spans:
        if s == e and s > 0:  # a trailing piece of a split character belongs to that character
            s -= 1
        spans.append((s, e))
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    charged = []
    for a, b in words:
        start = a - 1 if a == 0 or text[a - 1] == " " else a
        charged.append(sum(1 for s, e in spans if s < b and e > start))
    return len(r.ids), len(words), sum(charged), sum(1 for c in charged if c >= 2)


WORDS = st.lists(
    st.sampled_from(list("ab ଓଡ଼ିଆ हिन्दी 中文 é\u00a0\u3000\t\n.,!0123") + ["🙂", "NLP", " love", "Ġ", "  "]),
    max_size=25,
).map("".join)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(WORDS, min_size=1, max_size=4))
def test_fast_path_matches_slow_reference(name, texts):
    s = stats(texts, name, batch_chars=30)  # small batches: several batches per call
    ref = [slow_reference(t, name) for t in texts]
    assert s.n_tokens == sum(r[0] for r in ref)
    assert s.n_words == sum(len(t.split()) for t in texts) == sum(r[1] for r in ref)
    assert s.n_word_tokens == sum(r[2] for r in ref)
    assert s.n_split_words == sum(r[3] for r in ref)
    assert s.n_chars == sum(len(t) for t in texts)
    assert s.n_bytes == sum(len(t.encode()) for t in texts)
    assert s.token_counts.tolist() == [r[0] for r in ref]


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=50))
def test_words_are_what_str_split_sees(text):
    for name in ("gpt2", "bert-base-uncased"):  # byte and character units
        assert stats(text, name).n_words == len(text.split())


def test_every_unicode_whitespace_separates_words():
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    text = "a" + "b".join(spaces) + "c é—’“ \u2010\u2030x"  # and near-misses: E2 80 xx that are not spaces
    for name in ("gpt2", "bert-base-uncased"):  # byte and character units
        assert stats(text, name).n_words == len(text.split()) == len(spaces) + 3


@pytest.mark.parametrize("name", ["gpt2", "llama-2", "bert-base-uncased"])
def test_generic_backend_path_agrees_with_engine_path(name, monkeypatch):
    texts = (FLORES / "ory_Orya.dev").read_text(encoding="utf-8").splitlines()[:30] + ["I love NLP", ""]
    fast = stats(texts, name)
    backend = tokenlens.load(name)
    from tokenlens.backends.batch import generic_batch_spans

    monkeypatch.setattr(backend, "encode_batch_spans", lambda batch, n=None: generic_batch_spans(backend, batch))
    slow = stats(texts, name)
    assert fast.to_dict() == slow.to_dict()


@pytest.mark.parametrize("name", ["gpt2", "llama-2", "bert-base-uncased"])
def test_joined_spans_with_empty_and_odd_texts_agree_with_the_generic_path(name, monkeypatch):
    # empty texts between others shift the joined layout; a literal ▁ and a lone space make
    # SentencePiece's pieces differ from the text's bytes (those texts take the exact path)
    texts = ["", "I love NLP", "", "", "a▁b c", " ", "ଓଡ଼ିଆ  ଭାଷା", "", "\u3000x\u2003y", "🙂", ""]
    fast = [stats(texts, name, batch_chars=size) for size in (12, 10**6)]
    backend = tokenlens.load(name)
    from tokenlens.backends.batch import generic_batch_spans

    monkeypatch.setattr(backend, "encode_batch_spans", lambda batch, n=None: generic_batch_spans(backend, batch))
    slow = stats(texts, name)
    for one in fast:
        assert one.to_dict() == slow.to_dict()
        assert one.token_counts.tolist() == slow.token_counts.tolist()


def test_sentencepiece_texts_with_unknown_pieces_take_the_exact_path(monkeypatch):
    # A text whose pieces do not add up to its bytes is encoded again with offsets.
    backend = tokenlens.load("llama-2")
    lengths = backend._surface_lengths().copy()
    ids = tokenlens.tokenize("love", "llama-2", add_special_tokens=False).ids
    lengths[ids[0]] += 7  # pretend one piece spells something else
    monkeypatch.setitem(backend.__dict__, "_lengths", lengths)
    enc = backend.encode_batch_spans(["I love NLP", "no match here"])
    assert enc.joined  # spans in " I love NLP no match here ": text 0 at 1, text 1 at 12
    assert enc.starts.tolist()[:4] == [1 + s for s in (0, 1, 6, 8)]  # offsets from the engine
    assert enc.starts.tolist()[4] == 12 - 1  # the other text kept the fast path: ▁ before the text
    monkeypatch.undo()
    assert stats(["I love NLP"], "llama-2").n_word_tokens == 4


def test_threads_and_batch_sizes_do_not_change_numbers():
    texts = (FLORES / "hin_Deva.dev").read_text(encoding="utf-8").splitlines()[:200]
    for name in ("cl100k_base", "llama-2"):
        a = stats(texts, name, num_threads=1, batch_chars=500)
        b = stats(texts, name, num_threads=2, batch_chars=10**7)
        assert a.to_dict() == b.to_dict()
        assert a.token_counts.tolist() == b.token_counts.tolist()


# -- every input form ---------------------------------------------------------------------------


def test_every_input_form_gives_the_same_numbers(tmp_path):
    import datasets
    import pandas as pd

    lines = (FLORES / "ory_Orya.dev").read_text(encoding="utf-8").splitlines()[:50]
    (tmp_path / "a.txt").write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("\r\n".join(lines[20:]), encoding="utf-8")  # CRLF, no final newline
    expected = stats(lines, "llama-2").to_dict()
    forms = {
        "list": lines,
        "tuple": tuple(lines),
        "generator": (t for t in lines),
        "glob": tmp_path / "*.txt",
        "paths": [tmp_path / "a.txt", tmp_path / "b.txt"],
        "series": pd.Series(lines, name="text"),
        "datasets column": datasets.Dataset.from_dict({"text": lines})["text"],
    }
    for form, value in forms.items():
        got = stats(value, "llama-2").to_dict()
        assert {**got, "label": ""} == {**expected, "label": ""}, form
    joined = stats("\n".join(lines), "llama-2")
    assert joined.n_texts == 1 and joined.n_words == expected["n_words"]


def test_labels_come_from_names():
    import pandas as pd

    assert stats(pd.Series(["a b"], name="review"), "gpt2").label == "review"
    assert stats(FLORES / "ory_Orya.dev", "gpt2").label == "ory_Orya"
    assert stats("a b", "gpt2", label="mine").label == "mine"


def test_whole_files(tmp_path):
    (tmp_path / "doc.txt").write_text("one two\nthree\n", encoding="utf-8")
    per_line = stats(tmp_path / "doc.txt", "gpt2")
    whole = stats(tmp_path / "doc.txt", "gpt2", whole_files=True)
    assert per_line.n_texts == 2 and whole.n_texts == 1
    assert whole.n_words == per_line.n_words == 3
    assert whole.n_chars == len("one two\nthree\n")


# -- bad input ----------------------------------------------------------------------------------


def test_reference_that_is_not_parallel_is_refused_with_both_counts():
    with pytest.raises(InputError, match=r"'text' has 3 texts \(lines\) and the reference 'reference' has 2"):
        stats(["a", "b", "c"], "gpt2", reference=["x", "y"])
    with pytest.raises(InputError, match=r"1,012 texts .* has 997"):
        stats({"ory": FLORES / "ory_Orya.devtest", "eng": FLORES / "eng_Latn.dev"}, "gpt2", reference="eng")


def test_empty_texts_are_counted_and_reported():
    s = stats(["", "I love NLP", ""], "gpt2")
    assert (s.n_texts, s.n_empty, s.n_tokens, s.n_words) == (3, 2, 4, 3)
    assert s.token_counts.tolist() == [0, 4, 0]
    assert s.fertility == pytest.approx(4 / 3)
    assert any("2 of 3 texts are empty" in n for n in s.notes)


def test_all_empty_texts_give_nan_ratios_not_errors():
    s = stats(["", ""], "gpt2")
    assert s.n_tokens == 0 and s.n_words == 0
    assert math.isnan(s.fertility) and math.isnan(s.chars_per_token) and math.isnan(s.unknown_share)
    assert any("all 2 texts are empty" in n for n in s.notes)
    ref = stats(["a"], "gpt2", reference=[""])
    assert math.isnan(ref.premium)
    assert any("reference has no tokens" in n for n in ref.notes)


def test_nothing_to_measure_is_refused(tmp_path):
    with pytest.raises(InputError, match="no texts"):
        stats([], "gpt2")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no texts"):
        stats(tmp_path / "empty.txt", "gpt2")
    with pytest.raises(InputError, match="No file matches"):
        stats(tmp_path / "nothing-*.txt", "gpt2")
    with pytest.raises(InputError, match="holds no texts"):
        stats(tmp_path, "gpt2")  # a folder whose one text file is empty
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="The folder .*nothing holds no text files"):
        stats(tmp_path / "nothing", "gpt2")
    with pytest.raises(InputError, match="at least one tokenizer"):
        stats("a", [])


def test_wrong_kinds_of_input_say_what_to_pass(tmp_path):
    import datasets
    import pandas as pd

    with pytest.raises(InputError, match=r"item 1 is missing \(nan\).*dropna"):
        stats(pd.Series(["a", float("nan"), "b"]), "gpt2")
    with pytest.raises(InputError, match=r"item 0 is int \(3\), not text"):
        stats([3, "a"], "gpt2")
    # a table is read by its field column: "text" by default, else named
    assert stats(pd.DataFrame({"text": ["a b"]}), "gpt2").n_words == 2
    assert stats(datasets.Dataset.from_dict({"id": [1], "body": ["a b c"]}), "gpt2", field="body").n_words == 3
    with pytest.raises(InputError, match=r"field='body'.*table\['body'\]. Its columns: id, body"):
        stats(pd.DataFrame({"id": [1], "body": ["a"]}), "gpt2")
    splits = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a b"]})})
    assert stats(splits, "gpt2")["gpt2", "train"].n_words == 2  # a dict of splits: one row each
    with pytest.raises(InputError, match="decode them"):
        stats(b"bytes", "gpt2")
    for name in ALL:
        with pytest.raises(InputError, match="Text 1 holds an unpaired surrogate at character 1"):
            stats(["fine", "a\ud800b"], name)
    (tmp_path / "latin1.txt").write_bytes("ok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.txt is not UTF-8 text \(line 2, byte 4 is 0xE9\)"):
        stats(tmp_path / "latin1.txt", "gpt2")
    with pytest.raises(InputError, match="Unknown metric 'speed'"):
        StatsTable([stats("a", "gpt2")]).chart("speed")


def test_tokenizer_without_unknown_token_reports_zero():
    for name in ("gpt2", "cl100k_base", "o200k_base"):
        s = stats("ଓଡ଼ିଆ ଭାଷା", name)
        assert s.unknown_token is None and s.unknown_share == 0.0 and s.n_unknown == 0


def test_enormous_single_line_is_exact_and_reported(monkeypatch):
    monkeypatch.setattr(metrics, "ENORMOUS_CHARS", 100_000)
    lines = (FLORES / "hin_Deva.dev").read_text(encoding="utf-8").splitlines()
    line = " ".join(lines * 2)  # one line of about 270,000 characters
    for name in ("cl100k_base", "llama-2", "bert-base-uncased"):
        s = stats(["short", line], name, batch_chars=1000)
        direct = len(tokenlens.tokenize(line, name, add_special_tokens=False).ids)
        assert s.token_counts.tolist()[1] == direct
        assert s.n_words == 1 + len(line.split())
        assert any(f"text 1 is one line of {len(line):,} characters" in n for n in s.notes)


# -- display ------------------------------------------------------------------------------------


def assert_static(html: str):
    assert "<script" not in html.lower()
    assert not re.search(r"https?://", html), re.search(r"https?://.{0,40}", html).group()
    assert "<svg" in html


def test_table_displays_as_static_table_and_chart(flores_per_line):
    html = flores_per_line._repr_html_()
    assert_static(html)
    assert "premium" in html and "13.29" in html and "ory_Orya" in html and "llama-2" in html
    assert html.count("<rect") >= 9  # one bar per tokenizer and language, plus the legend
    fertility = flores_per_line.chart("fertility")
    assert_static(fertility)
    assert "fertility (tokens per word)" in fertility


def test_chart_marks_missing_values_and_escapes_labels():
    table = StatsTable([stats("<b>", "gpt2", label="<i>lang</i>"), stats(["", ""], "gpt2", label="empty")])
    svg = table.chart("fertility")
    assert "<i>lang" not in svg and "&lt;i&gt;lang" in svg
    assert "n/a" in svg
    assert_static(table._repr_html_())


def test_single_result_repr_and_dict():
    s = stats("I love NLP", "gpt2", reference="I love NLP")
    assert s.premium == 1.0
    assert "premium 1.00 vs reference" in repr(s)
    d = s.to_dict()
    assert d["n_tokens"] == 4 and d["premium"] == 1.0 and d["reference_tokens"] == 4
    assert len(s.to_pandas()) == 1
    assert_static(s._repr_html_())


def test_public_api_is_lazy():
    assert tokenlens.stats is metrics.stats
    assert tokenlens.dataset_view is dataset.dataset_view
    assert "stats" in tokenlens.__all__


# -- dataset view -------------------------------------------------------------------------------


@pytest.fixture
def column():
    lines = (FLORES / "eng_Latn.dev").read_text(encoding="utf-8").splitlines()[:100]
    return lines + ["", " ".join(lines[:30])]


def test_dataset_view_numbers(column):
    view = dataset_view(column, "llama-2", context_length=64, price_per_million=2.0)
    direct = [len(tokenlens.tokenize(t, "llama-2").ids) for t in column]  # with <s>, as a model sees it
    assert view.token_counts.tolist() == direct
    assert view.total_tokens == sum(direct)
    assert view.n_truncated == sum(1 for c in direct if c > 64)
    assert view.tokens_cut == sum(c - 64 for c in direct if c > 64)
    assert view.cost() == pytest.approx(sum(direct) / 1e6 * 2.0)
    assert view.cost(10) == pytest.approx(sum(direct) / 1e5)
    counts, edges = view.histogram(bins=20)
    assert counts.sum() == len(column) and edges[0] == 0 and edges[-1] > max(direct)
    longest = view.longest(3)
    assert [r["row"] for r in longest] == sorted(range(len(direct)), key=lambda i: (-direct[i], i))[:3]
    assert longest[0]["row"] == 101 and longest[0]["truncated"]
    s = view.summary()
    assert s["rows"] == 102 and s["empty_rows"] == 1 and s["max"] == max(direct)


def test_dataset_view_opens_rows_in_the_token_view(column, monkeypatch):
    view = dataset_view(column, "gpt2", context_length=64)
    opened = view.open(101)
    assert isinstance(opened, tokenlens.Comparison)
    assert opened.text == column[101] and opened["gpt2"].ids == tokenlens.tokenize(column[101], "gpt2").ids
    assert view.open_note(101) == ""
    monkeypatch.setattr(dataset, "OPEN_CHARS", 100)
    assert len(view.open(101, limit=100).text) == 100
    assert "the token view shows the first 100" in view.open_note(101, limit=100)
    with pytest.raises(InputError, match="out of range"):
        view.open(500)


def test_dataset_view_bad_input(column):
    with pytest.raises(InputError, match="context length"):
        dataset_view(column, "gpt2", context_length=0)
    with pytest.raises(InputError, match="price"):
        dataset_view(column, "gpt2", price_per_million=-1.0)
    with pytest.raises(InputError, match="one tokenizer"):
        dataset_view(column, ["gpt2", "llama-2"])


def test_dataset_view_from_files_reads_back_rows(tmp_path):
    (tmp_path / "rows.txt").write_text("short\n" + "long " * 300 + "\nmid mid mid\n", encoding="utf-8")
    view = dataset_view(tmp_path / "rows.txt", "gpt2", context_length=100)
    assert view.n_truncated == 1
    assert view.longest(1)[0]["row"] == 1
    assert view.text(2) == "mid mid mid"


def test_dataset_view_static_html(column):
    view = dataset_view(column, "gpt2", context_length=64, price_per_million=0.5)
    html = view._repr_html_()
    assert_static(html)
    assert "context 64" in html and "would be truncated" in html and "per 1M tokens" in html


def test_dataset_widget_follows_context_price_and_clicks(column):
    view = dataset_view(column, "gpt2", context_length=64)
    w = view.widget
    data, _ = __import__("IPython").core.formatters.DisplayFormatter().format(view)
    assert "application/vnd.jupyter.widget-view+json" in data
    assert_static(data["text/html"])
    assert w.summary["truncated_rows"] == view.n_truncated
    w.context_length = 10_000
    assert w.summary["truncated_rows"] == 0 and view.context_length == 10_000
    w.price = 3.0
    assert any(name == "cost" for name, _ in w.summary_rows)
    assert w.summary["cost"] == pytest.approx(view.total_tokens * 3e-6)
    w.selected = 101
    assert w.row_text == column[101]
    assert w.row_results[0]["tokenizer"] == "gpt2"
    assert w.row_results[0]["ids"] == tokenlens.tokenize(column[101], "gpt2").ids
    w.context_length = 0
    assert "at least 1" in w.error
    w.price = -2.0
    assert "≥ 0" in w.error


# -- %tokenizer_stats in a fresh IPython shell ----------------------------------------------------


def test_magic_languages_and_tokenizers_from_files(shell):
    cell = (
        f"%tokenizer_stats -t gpt2 -t llama-2 --ref eng --no-progress"
        f" eng={FLORES}/eng_Latn.* ory={FLORES}/ory_Orya.* --out table"
    )
    result = shell.run_cell(cell)
    assert result.success, result.error_in_exec
    table = result.result
    assert isinstance(table, StatsTable) and shell.user_ns["table"] is table
    assert table.labels == ["eng", "ory"] and table.tokenizers == ["gpt2", "llama-2"]
    assert table["llama-2", "ory"].premium == pytest.approx(11.59, rel=0.01)
    data, _ = shell.display_formatter.format(table)
    assert_static(data["text/html"])
    assert "premium" in data["text/html"]


def test_magic_join_reproduces_the_paper(shell):
    cell = f"%tokenizer_stats -t gpt2 --join ' ' --ref {FLORES}/eng_Latn.* {FLORES}/ory_Orya.*"
    result = shell.run_cell(cell)
    assert result.success, result.error_in_exec
    row = result.result["gpt2", "ory_Orya"]
    assert row.premium == pytest.approx(13.38, rel=0.002)
    assert row.reference_label == "eng_Latn"  # a reference file keeps its name


def test_magic_python_variables_and_metric(shell):
    import pandas as pd

    shell.user_ns["df"] = pd.DataFrame({"text": ["I love NLP", "hello world"]})
    result = shell.run_cell("%tokenizer_stats -t gpt2 df['text']")
    assert result.success, result.error_in_exec
    s = result.result
    assert isinstance(s, Stats) and s.n_tokens == 6 and s.label == "df['text']"
    shell.user_ns["hi"] = ["नमस्ते दुनिया"]
    result = shell.run_cell("%tokenizer_stats -t gpt2 -t cl100k_base --metric chars_per_token en=df.text hi=hi")
    table = result.result
    assert table.metric == "chars_per_token" and "characters per token" in table._repr_html_()


def test_magic_cell_text(shell):
    result = shell.run_cell("%%tokenizer_stats -t bert-base-uncased\nhello ଓଡ଼ିଆ\n")
    assert result.success, result.error_in_exec
    assert result.result.unknown_share == 0.5


def test_magic_dataset_view(shell, tmp_path):
    (tmp_path / "rows.txt").write_text("short\n" + "long " * 300 + "\nmid mid mid\n", encoding="utf-8")
    result = shell.run_cell(f"%tokenizer_stats -t gpt2 --context 100 --price 1.5 {tmp_path}/rows.txt")
    assert result.success, result.error_in_exec
    view = result.result
    assert isinstance(view, dataset.DatasetView)
    assert view.n_truncated == 1 and view.cost() == pytest.approx(view.total_tokens * 1.5e-6)
    data, _ = shell.display_formatter.format(view)
    assert "application/vnd.jupyter.widget-view+json" in data
    assert_static(data["text/html"])


def test_magic_help(shell, capsys):
    result = shell.run_cell("%tokenizer_stats --help")
    assert result.success and result.result is None
    out = capsys.readouterr().out
    for flag in ("--ref", "--join", "--context", "--price", "--metric", "premium"):
        assert flag in out


@pytest.mark.parametrize(
    "cell,message",
    [
        ("%tokenizer_stats -t gpt2", "Name the texts to measure"),
        ("%tokenizer_stats -t gpt-2 x", "neither a file nor a variable"),
        ("%tokenizer_stats -t gpt-2 '[\"a\"]'", "did you mean 'gpt2'"),
        ('%tokenizer_stats --ref \'["a"]\' \'["a", "b"]\'', "has 2 texts (lines) and the reference"),
        ("%tokenizer_stats --metric speed '[\"a\"]'", "Unknown metric 'speed'"),
        ("%tokenizer_stats -t gpt2 -t llama-2 --context 10 '[\"a\"]'", "one SOURCE and one tokenizer"),
        ("%tokenizer_stats --out 1x '[\"a\"]'", "Python variable name"),
        ("%tokenizer_stats /no/such/dir/*.txt", "no file matches it"),
    ],
)
def test_magic_errors_are_usage_errors(shell, capsys, cell, message):
    result = shell.run_cell(cell)
    assert not result.success
    err = capsys.readouterr().err
    assert "UsageError" in err and message in err, err
    assert "Traceback" not in err


def test_sentencepiece_raw_batch_buffers_equal_the_public_encode():
    backend = tokenlens.load("llama-2")
    texts = [
        l
        for lang in ("eng_Latn", "ory_Orya", "zho_Hans")
        for l in (FLORES / f"{lang}.dev").read_text(encoding="utf-8").splitlines()[:50]
    ]
    texts += ["", " ", "a▁b"]
    assert backend._raw_batch_encoder() is not None  # sentencepiece 0.2.x: the fast path is taken
    ids, counts = backend._encode_batch_arrays(texts, 2)
    expected = backend.sp.encode(texts, num_threads=2)
    assert counts.tolist() == [len(e) for e in expected]
    assert ids.tolist() == [i for e in expected for i in e]


def test_flag_counts_per_id_pass_equals_per_token_flags():
    # Batches longer than the vocabulary count flags with one bincount over the ids; shorter
    # ones look each token's flags up. Both must agree (Llama 2 on Odia has byte fallback).
    from tokenlens.measure.stats import _flag_bits, _flag_counts

    backend = tokenlens.load("llama-2")
    table = backend.token_table()
    text = (FLORES / "ory_Orya.dev").read_text(encoding="utf-8")
    ids = np.asarray(tokenlens.tokenize(text, "llama-2", add_special_tokens=False).ids, dtype=np.int32)
    assert len(ids) >= len(_flag_bits(table))  # the bincount branch
    flags = _flag_bits(table)[ids]
    expected = tuple(int(np.count_nonzero(flags & bit)) for bit in (1, 2, 4))
    assert expected[1] > 1000  # byte fallback is there to count
    assert _flag_counts(ids, table) == expected
    assert _flag_counts(ids[:1000], table) == tuple(
        int(np.count_nonzero(_flag_bits(table)[ids[:1000]] & bit)) for bit in (1, 2, 4)
    )


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(WORDS, min_size=1, max_size=6))
def test_tokens_end_to_end_take_one_search_with_the_same_numbers(texts):
    # SentencePiece's pieces tile the joined batch: one search of the interleaved word edges
    # replaces two. Forcing the general two-search path must give the same numbers.
    fast = stats(texts, "llama-2", batch_chars=40)
    original = fertility._tiled
    try:
        fertility._tiled = lambda *args: False
        general = stats(texts, "llama-2", batch_chars=40)
    finally:
        fertility._tiled = original
    assert fast.to_dict() == general.to_dict()


def test_llama_batches_without_empty_texts_are_tiled():
    from tokenlens.measure.fertility import _tiled

    enc = tokenlens.load("llama-2").encode_batch_spans(["I love NLP", "ଓଡ଼ିଆ  ଭାଷା", "🙂 x"])
    assert _tiled(enc.starts, enc.ends, 0, int(enc.ends[-1]) - 1)
    gpt2 = tokenlens.load("gpt2").encode_batch_spans(["I love NLP", "hello"])
    assert not _tiled(gpt2.starts, gpt2.ends, 0, int(gpt2.ends[-1]) - 1)  # the separators are gaps
