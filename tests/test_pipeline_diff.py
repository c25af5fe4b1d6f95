"""What the pipeline view says a stage changed: the normaliser's runs come from the engine's own
alignments, the decoder's from a word diff with a bounded look-ahead. Both spell the text
before and after the stage and mark the characters that really changed."""

from __future__ import annotations

import difflib

import pytest

import tokenlens
from tokenlens.learn.textdiff import WINDOW, diff_segments, normalizer_segments

from .conftest import FLORES

SCRIPTS = ["eng_Latn", "ory_Orya", "hin_Deva", "ben_Beng", "arb_Arab"]


def flores(lang: str) -> str:
    return (FLORES / f"{lang}.dev").read_text(encoding="utf-8")


def spells(runs: list[dict], before: str, after: str) -> bool:
    return (
        "".join(r.get("same", r.get("was")) for r in runs) == before
        and "".join(r.get("same", r.get("now")) for r in runs) == after
        and all(("same" in r) != ("was" in r) for r in runs)
    )


def difflib_runs(before: str, after: str) -> list[dict]:
    """The runs the view showed before (a character diff), for the cases where it was right."""
    return [
        {"same": after[b0:b1]} if op == "equal" else {"was": before[a0:a1], "now": after[b0:b1]}
        for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    ]


@pytest.mark.parametrize("text", ["Héllo NLP, ଓଡ଼ିଆ!", "Héllo NLP", "I love NLP", "Hello World", "Tokenizers: ଓଡ଼ିଆ ଭାଷା"])
def test_runs_are_the_same_as_before_on_the_existing_cases(text):
    p = tokenlens.pipeline(text, "bert-base-uncased")
    for stage in ("normalizer", "decoder"):
        s = p.stage(stage)
        assert s["diff"] == difflib_runs(text, s["output"]), stage
        assert s["changes"] == [r for r in s["diff"] if "same" not in r]


def test_a_capital_is_changed_not_dropped_and_added_elsewhere():
    # A character diff pairs letters by value: in "Aa" → "aa" it kept the first "a" as the
    # capital's successor, reporting "A" dropped and an "a" added after it.
    p = tokenlens.pipeline("Aa Bb", "bert-base-uncased")
    expected = [{"was": "A", "now": "a"}, {"same": "a "}, {"was": "B", "now": "b"}, {"same": "b"}]
    assert p.stage("normalizer")["diff"] == expected
    assert p.stage("decoder")["diff"] == expected
    assert '<mark title="was A">a</mark>a' in p._repr_html_()


@pytest.mark.parametrize(
    "text,runs",
    [
        (  # accents stripped, lower case
            "Café Ölfass",
            [
                {"was": "C", "now": "c"},
                {"same": "af"},
                {"was": "é", "now": "e"},
                {"same": " "},
                {"was": "Ö", "now": "o"},
                {"same": "lfass"},
            ],
        ),
        (  # whitespace cleaned up: a tab and CR LF become spaces, a NUL is dropped
            "a\tb\x00c\r\nd",
            [
                {"same": "a"},
                {"was": "\t", "now": " "},
                {"same": "b"},
                {"was": "\x00", "now": ""},
                {"same": "c"},
                {"was": "\r\n", "now": "  "},
                {"same": "d"},
            ],
        ),
        (  # Chinese characters get spaces put around them; they themselves are kept
            "中文",
            [
                {"was": "", "now": " "},
                {"same": "中"},
                {"was": "", "now": "  "},
                {"same": "文"},
                {"was": "", "now": " "},
            ],
        ),
        (  # Odia: the nukta and the vowel sign are marks, stripped like accents
            "ଓଡ଼ିଆ",
            [{"same": "ଓଡ"}, {"was": "଼ି", "now": ""}, {"same": "ଆ"}],
        ),
    ],
)
def test_bert_normalizer_runs(text, runs):
    norm = tokenlens.pipeline(text, "bert-base-uncased").stage("normalizer")
    assert norm["diff"] == runs and spells(runs, text, norm["output"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tokenizers trained here on FLORES: NFKC (compatibility characters), and one whose
    normaliser collapses runs of whitespace and strips the ends."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    corpus = flores("eng_Latn").splitlines()[:300] + flores("ory_Orya").splitlines()[:300]
    root = tmp_path_factory.mktemp("trained")
    out = {}
    for name, normalizer in {
        "nfkc": normalizers.NFKC(),
        "spaces": normalizers.Sequence([normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]),
    }.items():
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        tok.normalizer = normalizer
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]"]))
        (root / name).mkdir()
        tok.save(str(root / name / "tokenizer.json"))
        out[name] = str(root / name)
    return out


def test_nfkc_compatibility_characters(trained):
    text = "ﬁne ① ｶ x²"
    norm = tokenlens.pipeline(text, trained["nfkc"]).stage("normalizer")
    assert norm["output"] == "fine 1 カ x2"
    assert norm["diff"] == [
        {"was": "ﬁ", "now": "fi"},
        {"same": "ne "},
        {"was": "①", "now": "1"},
        {"same": " "},
        {"was": "ｶ", "now": "カ"},
        {"same": " x"},
        {"was": "²", "now": "2"},
    ]


def test_whitespace_collapsed_and_stripped(trained):
    text = "  a \t\n b  "
    norm = tokenlens.pipeline(text, trained["spaces"]).stage("normalizer")
    assert norm["output"] == "a b"
    # the engine keeps the last space of the run as the one space left
    assert norm["diff"] == [
        {"was": "  ", "now": ""},
        {"same": "a"},
        {"was": " \t\n", "now": ""},
        {"same": " b"},
        {"was": "  ", "now": ""},
    ]


def test_long_texts_of_every_script_spell_both_sides_and_each_run_is_the_normalisers_own():
    text = "\n".join(flores(lang)[:4000] for lang in SCRIPTS).title()
    p = tokenlens.pipeline(text, "bert-base-uncased")
    normalizer = p.backend.tokenizer.normalizer
    norm, dec = p.stage("normalizer"), p.stage("decoder")
    assert spells(norm["diff"], text, norm["output"]) and spells(dec["diff"], text, dec["output"])
    assert len(norm["changes"]) > 1000
    # BERT's normaliser works character by character (save the spaces around CJK, absent here):
    # each run, normalised on its own, is what the view says it became.
    for run in norm["diff"]:
        if "same" in run:
            assert normalizer.normalize_str(run["same"]) == run["same"]
        else:
            assert normalizer.normalize_str(run["was"]) == run["now"], run


@pytest.mark.parametrize("name", ["gpt2", "llama-2"])
def test_lossless_tokenizers_change_nothing_on_long_mixed_text(name):
    text = "".join(flores(lang)[:3000] for lang in SCRIPTS) + " 中文，日本語のテキスト。🙂"
    p = tokenlens.pipeline(text, name)
    assert p.stage("normalizer")["diff"] == [{"same": text}] and p.stage("decoder")["diff"] == [{"same": text}]


def test_decoder_diff_moves_on_past_a_change_longer_than_its_window():
    words = [f"w{k}" for k in range(3 * WINDOW)]
    before = " ".join(words) + " tail"
    after = " ".join("[UNK]" for _ in words) + " tail"
    runs = diff_segments(before, after)
    assert spells(runs, before, after) and runs[-1] == {"same": " tail"}
    assert diff_segments("中文", "中 文") == [{"same": "中"}, {"was": "", "now": " "}, {"same": "文"}]
    assert diff_segments("same", "same") == [{"same": "same"}]


def test_normalizer_runs_of_a_prefix_and_replaced_spaces():
    from tokenizers import normalizers

    runs = normalizer_segments(
        normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]), "Hi there"
    )
    assert runs == [{"was": "", "now": "▁"}, {"same": "Hi"}, {"was": " ", "now": "▁"}, {"same": "there"}]
