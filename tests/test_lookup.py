"""tokenlens.lookup: one text across vocabularies, against the tokenizers' own encodings."""

import pytest

import tokenlens
from tokenlens.errors import InputError, TokenizerNotFound

NAMES = ["gpt2", "bert-base-uncased", "llama-2", "cl100k_base"]


def test_lookup_rows_match_each_tokenizer():
    table = tokenlens.lookup(" love", NAMES)
    assert [r["tokenizer"] for r in table.rows] == NAMES
    for row in table.rows:
        own = tokenlens.tokenize(" love", row["tokenizer"], add_special_tokens=False)
        assert row["ids"] == own.ids
        assert row["pieces"] == own.pieces
        assert row["one_token"] == (len(own.ids) == 1)
        assert row["vocab_size"] == tokenlens.load(row["tokenizer"]).vocab_size
    assert table["gpt2"]["ids"] == [1842] and table["gpt2"]["pieces"] == ["Ġlove"]
    assert table["gpt2"]["vocab_size"] == 50257
    assert table["bert-base-uncased"]["vocab_size"] == 30522
    assert table["llama-2"]["one_token"] is False


def test_lookup_dataframe_and_html_explain_markers():
    table = tokenlens.lookup("tokenization", ["bert-base-uncased", "llama-2"])
    frame = table.to_pandas()
    assert list(frame.index) == ["bert-base-uncased", "llama-2"]
    assert frame.loc["bert-base-uncased", "pieces"] == ["token", "##ization"]
    assert frame.loc["bert-base-uncased", "vocab_size"] == 30522
    page = table._repr_html_()
    assert "<table>" in page and "30,522" in page and "19204, 3989" in page
    assert "## marks a piece that continues a word" in page
    assert "▁ stands for a space" in page
    assert "Ġ stands" not in page  # only markers that appear are explained


def test_lookup_refuses_bad_input_with_what_to_do():
    with pytest.raises(InputError, match="word or piece of text"):
        tokenlens.lookup("", ["gpt2"])
    with pytest.raises(InputError, match="at least one tokenizer"):
        tokenlens.lookup("love", [])
    with pytest.raises(TokenizerNotFound, match="did you mean 'llama-2'"):
        tokenlens.lookup("love", ["gpt2", "llama2"])


def test_lookup_takes_one_name():
    assert tokenlens.lookup("love", "gpt2")["gpt2"]["one_token"] is True


def test_notebook_01_answers_with_a_lookup_table():
    """Notebook 01 shows the lookup: one word's ids and pieces in three vocabularies, and their sizes."""
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    examples = Path(__file__).resolve().parents[1] / "examples"
    nb = nbformat.read(examples / "01-tokenize.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(examples)}}).execute()
    cell = next(c for c in nb.cells if c.cell_type == "code" and "tokenlens.lookup" in c.source)
    html = "\n".join(str(o.get("data", {}).get("text/html", "")) for o in cell.outputs)
    assert "1842" in html and "&#x27;Ġlove&#x27;" in html and "50,257" in html  # GPT-2: one token
    assert "30,522" in html and "32,000" in html  # BERT's and Llama 2's vocabulary sizes
    assert "##ization" in html and "continues a word" in html
