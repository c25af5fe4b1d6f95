"""tokenlens.sources, the one loader of texts: the folder rule, file checks, JSON lines and gzip,
Python objects, and the same reading and the same wording in stats, training and fine-tuning."""

from __future__ import annotations

import gzip
import json
import re

import pytest

import tokenlens
from tokenlens.errors import SourceError
from tokenlens.finetune.data import read_rows
from tokenlens.sources import files
from tokenlens.sources.files import check
from tokenlens.sources.objects import item_problem, items_of
from tokenlens.sources.paths import expand

from .conftest import flores

LINES = flores("eng_Latn")[:120]


@pytest.fixture
def folder(tmp_path):
    """Text at three depths (plain, Markdown, gzip, JSON lines), two hidden entries, one binary."""
    root = tmp_path / "corpus"
    (root / "a" / "b").mkdir(parents=True)
    (root / "one.txt").write_text("\n".join(LINES[:40]) + "\n", encoding="utf-8")
    (root / "a" / "b" / "two.md").write_text("\n".join(LINES[40:80]), encoding="utf-8")
    with gzip.open(root / "a" / "three.txt.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(LINES[80:110]) + "\n")
    (root / "a" / "rows.jsonl").write_text(
        "".join(json.dumps({"text": line}) + "\n" for line in LINES[110:]), encoding="utf-8"
    )
    (root / ".hidden.txt").write_text("never read\n", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("never read\n", encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    return root


def test_a_folder_is_its_text_files_in_stats_training_and_finetuning(folder):
    found = expand(folder)
    assert [p.relative_to(folder).as_posix() for p in found.files] == [
        "a/b/two.md",
        "a/rows.jsonl",
        "a/three.txt.gz",
        "one.txt",
    ]
    assert found.hidden == 2 and [p.name for p in found.binary] == ["logo.png"]
    note = "left out of the folders: 1 binary file(s) and 2 hidden entries (names starting with '.')"
    assert found.note() == note

    measured = tokenlens.stats(folder, "gpt2")
    assert measured.n_texts == len(LINES) and measured.label == "corpus"
    assert measured.n_words == tokenlens.stats(LINES, "gpt2").n_words
    assert note in measured.notes

    result = tokenlens.train_tokenizer(files=folder, name="from-folder", vocab_size=400, progress=None)
    assert result.corpus["lines"] == len(LINES) and result.corpus["files"] == 4
    assert result.corpus["files_skipped"] == [[str(folder / "logo.png"), "is binary (it holds NUL bytes)"]]
    assert result.corpus["files_hidden"] == 2

    rows = read_rows([str(folder)])
    assert len(rows.rows) == 3 + len(LINES[110:]) and not rows.bad  # a text file is one document
    assert rows.rows[0]["text"] == "\n".join(LINES[40:80]) and rows.left_out == note


def test_empty_and_missing_folders_are_named(tmp_path):
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / ".cache").write_text("x", encoding="utf-8")
    (tmp_path / "only" / "blob.bin").write_bytes(b"\0\1\2")
    with pytest.raises(SourceError, match=r"The folder .*only holds no text files \(1 binary and 1 hidden left out\)"):
        expand(tmp_path / "only")
    with pytest.raises(SourceError, match=r"No such file or folder: '.*nowhere'\. .* holds: only\."):
        expand(tmp_path / "nowhere")
    with pytest.raises(SourceError, match="No files were named"):
        expand([])


def test_a_file_named_twice_is_read_once(tmp_path):
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    found = expand([tmp_path / "a.txt", str(tmp_path / "*.txt"), tmp_path])
    assert found.files == [tmp_path / "a.txt"]


def _stats_error(spec) -> str:
    with pytest.raises(SourceError) as info:
        tokenlens.stats(spec, "gpt2")
    return str(info.value)


def _training_error(spec) -> str:
    with pytest.raises(SourceError) as info:
        tokenlens.train_tokenizer(files=spec, name="bad", on_bad="stop", progress=None)
    return str(info.value)


def _finetune_error(spec) -> str:
    with pytest.raises(tokenlens.errors.InputError) as info:
        read_rows([str(spec)]).check("fatal")
    return str(info.value)


def test_no_match_and_no_such_file_read_the_same_everywhere(tmp_path):
    for spec in (tmp_path / "missing.txt", tmp_path / "*.nothing"):
        messages = {_stats_error(spec), _training_error(spec), _finetune_error(spec)}
        assert len(messages) == 1, messages
    assert "No such file or folder" in _stats_error(tmp_path / "missing.txt")
    assert re.search(
        r"No file matches '.*\*\.nothing' \(looked in .*\)\. Check the folder", _stats_error(tmp_path / "*.nothing")
    )


def test_binary_and_non_utf8_files_read_the_same_everywhere(tmp_path):
    image = tmp_path / "image.txt"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("ok\ncafé crème\n".encode("latin-1"))
    for path, problem in (
        (image, "is binary (it holds NUL bytes)"),
        (latin, "is not UTF-8 text (line 2, byte 4 is 0xE9)"),
    ):
        found = check(path)
        assert found.problem == problem
        assert _stats_error(path) == found.message()
        assert _training_error(path).startswith(found.message() + " Or let tokenlens skip")
        assert f"{path} {problem}" in _finetune_error(path)


def test_check_finds_the_line_and_byte_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_BLOCK", 5)
    good = tmp_path / "good.txt"
    good.write_bytes("ab\ncdé\nxy".encode())  # é is cut between two blocks, and is fine
    assert (check(good).problem, check(good).lines) == (None, 3)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ab\ncd\xc3\xa9f\nxy\xe9z\n")  # blocks: ab\ncd | \xc3\xa9f\nx | y\xe9z\n
    assert check(bad).problem == "is not UTF-8 text (line 3, byte 3 is 0xE9)"
    cut = tmp_path / "cut.txt"
    cut.write_bytes(b"abcd\xc3(xyz")  # a character started at the end of a block, broken in the next
    assert check(cut).problem == "is not UTF-8 text (line 1, byte 5 is 0xC3)"
    short = tmp_path / "short.txt"
    short.write_bytes(b"ab\xe0\xac")
    assert check(short).problem == "is not UTF-8 text (it ends inside a character)"
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(gzip.compress(b"hello\n" * 100)[:30])
    assert check(broken).problem.startswith("is not a readable gzip file")


def test_json_lines_give_their_field_with_gzip_and_dotted_paths(tmp_path):
    path = tmp_path / "rows.jsonl.gz"
    records = [{"meta": {"body": line}} for line in LINES[:30]]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records) + "\n")
    direct = tokenlens.stats(LINES[:30], "gpt2")
    assert tokenlens.stats(path, "gpt2", field="meta.body").to_dict() == {**direct.to_dict(), "label": "rows"}
    with pytest.raises(SourceError, match=r"rows.jsonl.gz, line 1: no field 'text'\. Fix the line, or name the field"):
        tokenlens.stats(path, "gpt2")
    result = tokenlens.train_tokenizer(files=path, field="meta.body", name="from-gz", vocab_size=300, progress=None)
    assert result.corpus["lines"] == 30 and result.corpus["bytes_read"] == path.stat().st_size
    with pytest.raises(SourceError, match=r"none held a word .* 30 item\(s\) were skipped as not text"):
        tokenlens.train_tokenizer(files=path, name="from-gz-2", vocab_size=300, progress=None)


def test_python_objects_and_tables():
    import datasets
    import pandas as pd

    frame = pd.DataFrame({"id": [1, 2], "body": ["a b", "c"]})
    assert list(items_of(frame, "body").items) == ["a b", "c"]
    with pytest.raises(SourceError, match=r"field='body'.* Its columns: id, body\."):
        items_of(frame)
    dataset = datasets.Dataset.from_dict({"text": ["x", "y z"]})
    assert list(items_of(dataset).items) == ["x", "y z"]
    with pytest.raises(SourceError, match=r"pick a split first, e.g. ds\['train'\]"):
        items_of(datasets.DatasetDict({"train": dataset}))
    with pytest.raises(SourceError, match="DatasetDict"):
        items_of({"train": []})
    with pytest.raises(SourceError, match="decode them"):
        items_of(b"bytes")
    assert item_problem(3, "fine") is None
    assert item_problem(3, None) == "item 3 is missing (None)"
    assert item_problem(4, float("nan")) == "item 4 is missing (nan)"
    assert item_problem(5, pd.NA) == "item 5 is missing (<NA>)"
    assert item_problem(6, 7) == "item 6 is int (7), not text"
