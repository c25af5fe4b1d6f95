"""Token views (issue 3), Python side: every format, grapheme segments, explain, decode, chat."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import tokenlens
from tokenlens.errors import InputError

from .conftest import TOKENIZERS, flores

ODIA = "ଓଡ଼ିଆ ଭାଷା"


def rebuild_from_segments(result) -> str:
    """The text again, from segments and the gaps between them."""
    out, pos = [], 0
    for start, end, lo, hi in result.segments:
        assert lo < hi
        if start > pos:
            out.append(result.text[pos:start])  # dropped text (BERT's spaces)
        out.append(result.text[start:end])
        pos = max(pos, end)
    out.append(result.text[pos:])
    return "".join(out)


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "o200k_base", "llama-2", "bert-base-uncased"])
@pytest.mark.parametrize("lang", ["ory_Orya", "hin_Deva", "zho_Hans", "arb_Arab", "ben_Beng", "tam_Taml"])
def test_segments_rebuild_flores_text(name, lang):
    for line in flores(lang, "devtest")[:25] + ["emoji: 🙂👍🏽 👨‍👩‍👧 🇮🇳 e\u0301"]:
        result = tokenlens.tokenize(line, name)
        assert rebuild_from_segments(result) == line
        assert not any("\ufffd" in t for t in result.tokens)
        rows = result.segments
        assert [r[2] for r in rows] == [0] + [r[3] for r in rows[:-1]]  # every token once, in order
        assert rows[-1][3] == len(result.ids)


def test_segments_group_pieces_of_a_character():
    result = tokenlens.tokenize("ଓ x", "gpt2")  # ଓ = three byte tokens
    assert result.tokens[:3] == ["<E0>", "<AC>", "<93>"]
    assert result.segments[0] == [0, 1, 0, 3]
    # the family emoji is one grapheme built from many tokens: one group
    family = "👨‍👩‍👧"
    rows = tokenlens.tokenize(family, "gpt2").segments
    assert rows == [[0, len(family), 0, rows[0][3]]]


def test_segments_put_special_tokens_on_their_own():
    result = tokenlens.tokenize("I love NLP", "bert-base-uncased")
    assert result.segments == [[0, 0, 0, 1], [0, 1, 1, 2], [2, 6, 2, 3], [7, 9, 3, 4], [9, 10, 4, 5], [10, 10, 5, 6]]


def test_to_dict_carries_the_view_fields():
    d = tokenlens.tokenize(ODIA, "bert-base-uncased").to_dict()
    assert d["unk_id"] == 100 and d["vocab_size"] == 30522 and d["decoded"] is False
    unk = [i for i, t in enumerate(d["ids"]) if t == 100]
    assert unk, "BERT cannot encode Odia: [UNK]"
    swallowed = [ODIA[s:e] for s, e in (d["spans"][i] for i in unk)]
    assert "".join(swallowed).replace(" ", "") == ODIA.replace(" ", "")  # what each [UNK] stands for
    assert tokenlens.tokenize("x", "gpt2").unk_id is None


# -- explain ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "o200k_base"])
def test_explain_tiktoken_parents(name):
    backend = tokenlens.load(name)
    for token_id in tokenlens.tokenize("I love tokenization and NLP " + ODIA, name).ids:
        info = backend.explain(token_id)
        assert info["rank"] == token_id
        data = backend.token_bytes(token_id)
        if len(data) == 1:
            assert info["parents"] == []
            continue
        left, right = info["parents"]
        assert backend.token_bytes(left["id"]) + backend.token_bytes(right["id"]) == data
        assert left["rank"] < token_id and right["rank"] < token_id


def test_explain_by_string_and_errors():
    backend = tokenlens.load("gpt2")
    assert backend.explain("Ġlove")["id"] == 1842
    assert backend.explain(" love")["id"] == 1842
    info = backend.explain(1842)
    assert (info["piece"], info["display"], info["bytes"]) == ("Ġlove", " love", "20 6C 6F 76 65")
    assert [p["piece"] for p in info["parents"]] == ["Ġl", "ove"]
    assert backend.explain(50256)["special"] is True
    with pytest.raises(InputError, match="not a token of gpt2"):
        backend.explain("definitely-not-a-token-xyz")
    with pytest.raises(InputError, match="valid ids: 0 to 50256"):
        backend.explain(60000)


def test_explain_wordpiece_and_sentencepiece():
    bert = tokenlens.load("bert-base-uncased")
    assert bert.explain("##p")["continuation"] is True
    assert bert.explain("love")["continuation"] is False
    assert bert.explain(100)["unknown"] is True
    llama = tokenlens.load("llama-2")
    info = llama.explain(5360)  # ▁love
    assert info["piece"] == "▁love" and info["score"] is not None
    assert "".join(p["piece"] for p in info["parents"]) == "▁love"
    assert llama.explain(227)["bytes"] == "E0"  # <0xE0>, a byte-fallback piece


def _train(tmp_path, kind: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    corpus = flores("eng_Latn")[:300] + flores("ory_Orya")[:300]
    if kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=600,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=["<|im_start|>", "<|im_end|>"],
        )
    else:
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=400, unk_token="<unk>", special_tokens=["<unk>"])
    tok.train_from_iterator(corpus, trainer)
    folder = tmp_path / kind
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    return folder


def test_explain_hf_bpe_and_unigram(tmp_path):
    bpe = tokenlens.load(str(_train(tmp_path, "bpe")))
    merged = [i for i in tokenlens.tokenize("the love of language", bpe).ids if len(bpe.id_to_piece(i)) > 1]
    assert merged
    for token_id in merged:
        info = bpe.explain(token_id)
        left, right = info["parents"]
        assert left["piece"] + right["piece"] == info["piece"]
        assert left["rank"] is None or left["rank"] < info["rank"]
        assert right["rank"] is None or right["rank"] < info["rank"]
    uni = tokenlens.load(str(_train(tmp_path, "unigram")))
    info = uni.explain(tokenlens.tokenize("language", uni).ids[0])
    assert info["model"] == "Unigram" and info["score"] < 0


# -- formats and names -----------------------------------------------------------------------


def test_hub_id_from_the_local_cache(tmp_path, monkeypatch):
    """A hub id resolves from the Hugging Face cache without any network."""
    cache = tmp_path / "hub"
    snap = cache / "models--acme--tiny-odia" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (cache / "models--acme--tiny-odia" / "refs").mkdir()
    (cache / "models--acme--tiny-odia" / "refs" / "main").write_text("0123abcd")
    shutil.copy(_train(tmp_path, "bpe") / "tokenizer.json", snap / "tokenizer.json")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    result = tokenlens.tokenize("the love of language", "acme/tiny-odia")
    assert result.tokenizer == "acme/tiny-odia" and result.kind == "hf" and result.ids


def test_tiktoken_encoding_name_from_tiktokens_cache(tmp_path, monkeypatch):
    url = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
    cache = tmp_path / "tiktoken"
    cache.mkdir()
    shutil.copy(TOKENIZERS / "gpt2" / "r50k_base.tiktoken", cache / hashlib.sha1(url.encode()).hexdigest())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    assert tokenlens.tokenize("I love NLP", "r50k_base").ids == [40, 1842, 399, 19930]


# -- decode, chat, compare table ------------------------------------------------------------


def test_decode_view_lays_tokens_over_text():
    view = tokenlens.decode_view("40 1842 399 19930", ["gpt2"])
    r = view["gpt2"]
    assert r.decoded and r.text == "I love NLP"
    assert r.tokens == ["I", " love", " N", "LP"]
    assert r.spans == [(0, 1), (1, 6), (6, 8), (8, 10)]
    odia_ids = tokenlens.tokenize(ODIA, "gpt2").ids
    r = tokenlens.decode_view(odia_ids, ["gpt2"])["gpt2"]
    assert r.text == ODIA and r.to_dict()["decoded"] is True
    assert not any("\ufffd" in t for t in r.tokens)


def test_parse_ids_errors():
    from tokenlens.core.api import parse_ids

    assert parse_ids("[40, 1842]\n399") == [40, 1842, 399]
    with pytest.raises(InputError, match="'love' is not a token id"):
        parse_ids("40 love")
    with pytest.raises(InputError, match="No ids"):
        parse_ids("  ")


def test_chat_template(tmp_path):
    folder = _train(tmp_path, "bpe")
    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    view = tokenlens.chat('[{"role": "user", "content": "Hello!"}]', str(folder))
    r = view.results[0]
    assert r.text == "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"
    im_start = tokenlens.load(str(folder)).token_to_id("<|im_start|>")
    assert r.ids.count(im_start) == 2 and r.special[r.ids.index(im_start)]
    with pytest.raises(InputError, match="has no chat template"):
        tokenlens.chat([{"role": "user", "content": "x"}], "gpt2")
    with pytest.raises(InputError, match="JSON messages"):
        tokenlens.chat("not json", str(folder))


def test_compare_table_and_dataframe():
    cmp = tokenlens.compare(ODIA, ["gpt2", "o200k_base", "llama-2"])
    table = cmp.to_pandas()
    assert list(table.index) == ["gpt2", "o200k_base", "llama-2"]
    assert table.loc["gpt2", "tokens"] == len(cmp["gpt2"]) and table.loc["gpt2", "characters"] == len(ODIA)
    assert table.loc["gpt2", "bytes"] == len(ODIA.encode())
    assert table.loc["o200k_base", "chars_per_token"] == round(len(ODIA) / len(cmp["o200k_base"]), 3)


def test_control_characters_and_binary_looking_text():
    text = "\x00\x01\x07bin\x7f\ufeff"
    for name in ["gpt2", "llama-2", "bert-base-uncased"]:
        result = tokenlens.tokenize(text, name)
        assert rebuild_from_segments(result) == text
        json.dumps(result.to_dict())


# -- the magic and the widget ---------------------------------------------------------------


def test_magic_decode(shell, capsys):
    r = shell.run_cell("%%tokenize --decode -t gpt2\n40 1842 399 19930").result
    assert r["gpt2"].text == "I love NLP" and r["gpt2"].decoded
    assert not shell.run_cell("%%tokenize --decode -t gpt2\n40 99999").success
    assert "valid ids: 0 to 50256" in capsys.readouterr().err
    assert not shell.run_cell("%%tokenize --decode\n40 love").success
    assert "'love' is not a token id" in capsys.readouterr().err


def test_magic_options_reach_the_widget(shell):
    r = shell.run_cell("%%tokenize --color-by position --no-ids -t gpt2\nI love NLP").result
    assert r.widget.color_by == "position" and r.widget.show_ids is False


def test_widget_toggles_special_tokens_by_tokenizing_again(shell):
    widget = tokenlens.compare("I love NLP", ["bert-base-uncased", "llama-2", "gpt2"]).widget
    assert widget.can_toggle_special and widget.add_special_tokens
    ids = lambda: [r["ids"] for r in widget.results]  # noqa: E731
    assert ids()[0] == [101, 1045, 2293, 17953, 2361, 102] and ids()[1][0] == 1
    widget.add_special_tokens = False  # what the view's toggle writes
    assert ids() == [[1045, 2293, 17953, 2361], [306, 5360, 405, 13208], [40, 1842, 399, 19930]]
    assert not any(any(r["special"]) for r in widget.results)
    # explain answers for the tokens now shown
    sent = []
    widget.send = sent.append
    widget._on_custom_msg(widget, {"type": "explain", "request": 1, "tokenizer": "llama-2", "ids": [306]}, [])
    assert "error" not in sent[-1]
    widget.add_special_tokens = True
    assert ids()[0][0] == 101 and ids()[0][-1] == 102
    # --no-special starts the toggle off; ids decoded back to text cannot be re-tokenized
    r = shell.run_cell("%%tokenize --no-special -t bert-base-uncased\nI love NLP").result
    assert r.widget.add_special_tokens is False and r.widget.results[0]["ids"] == [1045, 2293, 17953, 2361]
    decoded = shell.run_cell("%%tokenize --decode -t gpt2\n40 1842").result.widget
    assert not decoded.can_toggle_special
    before = decoded.results
    decoded.add_special_tokens = False
    assert decoded.results == before


def test_widget_answers_explain_messages(shell):
    widget = tokenlens.compare("I love NLP", ["gpt2"]).widget
    sent = []
    widget.send = sent.append
    widget._on_custom_msg(widget, {"type": "explain", "request": 7, "tokenizer": "gpt2", "ids": [1842]}, [])
    assert sent[-1]["request"] == 7
    assert sent[-1]["explanations"][0]["parents"][1]["piece"] == "ove"
    widget._on_custom_msg(widget, {"type": "explain", "request": 8, "tokenizer": "bert", "ids": [1]}, [])
    assert "not shown in this view" in sent[-1]["error"]


def test_decoded_special_tokens_cover_their_text():
    r = tokenlens.decode_view([40, 1842, 50256, 399], ["gpt2"])["gpt2"]
    assert r.text == "I love<|endoftext|> N"
    assert r.spans[2] == (6, 19) and r.gaps == []
