"""GGUF files and the Ollama store, offline, on files the tests make.

A tiny GPT-2 (byte-level BPE) and a tiny Llama (SentencePiece-style BPE with byte fallback and a
chat template) are built here from configs, with tokenizers trained here, saved with
save_pretrained and exported with ``tokenlens.export_gguf``. The exported files must encode
FLORES lines in several scripts to the source tokenizer's ids, load back in transformers
(``gguf_file=``) with the source model's logits, and resolve by name through an Ollama store
layout. Reference tokenizers (Llama 2's SentencePiece model, GPT-2's ranks) are also written as
GGUF files the way llama.cpp's converter does, and must keep their ids. Damaged and unsupported
files must fail with messages that say what to do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

import tokenlens
from tokenlens.core.resolve import clear_cache
from tokenlens.errors import InputError, TokenizerFileError, TokenizerNotFound, TokenlensError

from .conftest import TOKENIZERS, flores

LANGS = ["ory_Orya", "hin_Deva", "arb_Arab", "eng_Latn", "ben_Beng"]
# FLORES in ../shared/data has no Chinese; these are plain sentences written for the test
CHINESE = ["我爱自然语言处理。", "今天天气很好，我们去公园散步吧。", "北京是中国的首都，有三千多年的历史。"]
EDGES = ["", "I love NLP", "  two  spaces ", "x\n\ny\tz", "中文 🙂 12345 it's", "ଓଡ଼ିଆ"]
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'"
    " + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def texts(n: int = 40) -> list[str]:
    out = []
    for lang in LANGS:
        out += flores(lang)[:n]
    return out + CHINESE + EDGES


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


# -- tiny models made here ---------------------------------------------------------------------


def _train_lines() -> list[str]:
    lines = []
    for lang in LANGS:
        lines += flores(lang)[:300]
    return lines + CHINESE * 10


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two save_pretrained folders: tiny GPT-2 and tiny Llama, each with a tokenizer trained here."""
    import torch
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
    from tokenizers import models as tmodels
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    root = tmp_path_factory.mktemp("gguf-models")
    lines = _train_lines()
    torch.manual_seed(0)

    bbpe = Tokenizer(tmodels.BPE())
    bbpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bbpe.decoder = decoders.ByteLevel()
    bbpe.train_from_iterator(
        lines,
        trainers.BpeTrainer(
            vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]
        ),
    )
    gpt2_tok = PreTrainedTokenizerFast(tokenizer_object=bbpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    gpt2 = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(gpt2_tok), n_positions=64, n_embd=64, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0
        )
    ).eval()
    gpt2.save_pretrained(root / "gpt2")
    gpt2_tok.save_pretrained(root / "gpt2")

    # Llama style: "▁" for spaces and before the text, BPE over characters, bytes for the rest
    spm = Tokenizer(tmodels.BPE(unk_token="<unk>", byte_fallback=True))
    spm.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    spm.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=True)
    spm.decoder = decoders.Sequence(
        [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    specials = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"] + [f"<0x{b:02X}>" for b in range(256)]
    spm.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=900, special_tokens=specials, limit_alphabet=300))
    spm.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    llama_tok = PreTrainedTokenizerFast(tokenizer_object=spm, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    llama_tok.chat_template = CHATML
    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(llama_tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=64,
            tie_word_embeddings=False,
            bos_token_id=1,
            eos_token_id=2,
        )
    ).eval()
    llama.save_pretrained(root / "llama")
    llama_tok.save_pretrained(root / "llama")
    return {"gpt2": (root / "gpt2", gpt2, gpt2_tok), "llama": (root / "llama", llama, llama_tok)}


@pytest.fixture(scope="module")
def exported(models):
    return {arch: tokenlens.export_gguf(folder, dtype="f16") for arch, (folder, _m, _t) in models.items()}


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_exported_tokenizer_keeps_the_source_ids(models, exported, arch):
    _folder, _model, source = models[arch]
    gguf = str(exported[arch].gguf)
    assert exported[arch].tokenizer_model == ("gpt2" if arch == "gpt2" else "llama")
    for text in texts():
        assert tokenlens.tokenize(text, gguf).ids == source(text)["input_ids"], text
        plain = tokenlens.tokenize(text, gguf, add_special_tokens=False)
        assert plain.ids == source(text, add_special_tokens=False)["input_ids"], text
        assert tokenlens.decode(plain.ids, gguf) == text
    backend = tokenlens.load(gguf)
    assert backend.kind == "gguf" and backend.vocab_size == len(source)


def test_spans_and_pieces_of_a_gguf_tokenizer(exported):
    text = "ଓଡ଼ିଆ 中文 and English"
    toks = tokenlens.tokenize(text, str(exported["llama"].gguf))
    assert toks.special[0] and toks.pieces[0] == "<s>"
    # spans tile the text; byte-fallback pieces of one character share it
    covered = "".join(text[a:b] for a, b in toks.spans)
    assert covered.replace(" ", "") == text.replace(" ", "")
    assert "\ufffd" not in "".join(toks.tokens)
    explained = tokenlens.load(str(exported["llama"].gguf)).explain(toks.ids[1])
    assert explained["kind"] == "gguf" and explained["score"] is not None


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_exported_model_loads_in_transformers_with_the_same_logits(models, exported, arch):
    import torch
    from transformers import AutoModelForCausalLM

    from tokenlens.finetune.models import load_gguf_model

    folder, model, tok = models[arch]
    ids = torch.tensor([tok(flores("hin_Deva")[0])["input_ids"][:48]])
    path = exported[arch].gguf
    kwargs = {"n_positions": 64} if arch == "gpt2" else {}  # transformers reads GPT-2's context as n_ctx
    plain = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32, **kwargs
    ).eval()
    ours = load_gguf_model(path).eval()
    with torch.no_grad():
        want = model(ids).logits
        for loaded in (plain, ours):
            got = loaded(ids).logits
            assert got.shape == want.shape
            assert torch.allclose(got, want, atol=5e-3), (got - want).abs().max()


def test_q8_0_export_is_smaller_and_close(models, exported, tmp_path):
    import torch

    from tokenlens.finetune.models import load_gguf_model

    folder, model, tok = models["llama"]
    q8 = tokenlens.export_gguf(folder, tmp_path / "q8.gguf", dtype="q8_0")
    assert q8.size < exported["llama"].size
    ids = torch.tensor([tok(flores("eng_Latn")[1])["input_ids"][:48]])
    with torch.no_grad():
        diff = (load_gguf_model(q8.gguf).eval()(ids).logits - model(ids).logits).abs().max()
    assert diff < 0.05, diff
    assert tokenlens.tokenize("I love NLP", str(q8.gguf)).ids == tok("I love NLP")["input_ids"]


@pytest.mark.parametrize("family", ["qwen2", "mistral"])
def test_other_llama_family_models_export(models, tmp_path, family):
    """Qwen2 (biases, tied embeddings) and Mistral (written as llama) with the byte-level tokenizer."""
    import torch
    from transformers import MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM

    from tokenlens.finetune.models import load_gguf_model

    _folder, _model, tok = models["gpt2"]
    sizes = dict(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    if family == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(tie_word_embeddings=True, **sizes)).eval()
    else:
        model = MistralForCausalLM(MistralConfig(sliding_window=None, **sizes)).eval()
    # (transformers takes a llama GGUF whose general.name holds "mistral" for a Mistral and fails)
    folder = tmp_path / f"tiny-{family[:3]}"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    done = tokenlens.export_gguf(folder)
    assert done.architecture == ("qwen2" if family == "qwen2" else "llama")
    ids = torch.tensor([tok(flores("arb_Arab")[0])["input_ids"][:48]])
    with torch.no_grad():
        assert torch.allclose(load_gguf_model(done.gguf)(ids).logits, model(ids).logits, atol=5e-3)


def test_metadata_reader_agrees_with_the_gguf_package(exported):
    import gguf

    from tokenlens.gguf.metadata import read_metadata

    path = exported["gpt2"].gguf
    ours = read_metadata(path)
    theirs = gguf.GGUFReader(path)
    for key in (
        "general.architecture",
        "tokenizer.ggml.model",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.merges",
        "tokenizer.ggml.token_type",
        "gpt2.block_count",
    ):
        assert ours.fields[key] == theirs.fields[key].contents(), key
    assert [(t.name, t.n_bytes) for t in ours.tensors] == [(t.name, t.n_bytes) for t in theirs.tensors]


def test_chat_template_from_gguf_and_modelfile(models, exported):
    _folder, _model, tok = models["llama"]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "ନମସ୍କାର"}]
    backend = tokenlens.load(str(exported["llama"].gguf))
    assert backend.apply_chat_template(messages) == tok.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    text = exported["llama"].modelfile.read_text(encoding="utf-8")
    assert "FROM ./model-f16.gguf" in text
    assert 'TEMPLATE """' in text and '{{ "<|im_start|>user\\n" }}{{ .Content }}' in text
    assert 'PARAMETER stop "</s>"' in text and 'PARAMETER stop "<|im_end|>"' in text
    gpt2_text = exported["gpt2"].modelfile.read_text(encoding="utf-8")
    assert "TEMPLATE" not in gpt2_text and 'PARAMETER stop "<|endoftext|>"' in gpt2_text
    with pytest.raises(InputError, match="no chat template"):
        tokenlens.load(str(exported["gpt2"].gguf)).apply_chat_template(messages)


def test_chat_shape_refuses_what_a_go_template_cannot_copy():
    from tokenlens.gguf.modelfile import chat_shape

    # Llama 2: the system prompt is folded into the first user turn
    folded = (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message ="
        " messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
        "{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}"
        "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}"
        "{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token +"
        " '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' +"
        " content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
    )
    assert chat_shape(folded, {"bos_token": "<s>", "eos_token": "</s>"}, "<s>") is None
    assert chat_shape(CHATML, {}).render([{"role": "user", "content": "hi"}]) == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )


# -- reference tokenizers written as GGUF, the way llama.cpp's converter writes them ------------


def _write_tokenizer_gguf(path: Path, arch: str, kv: dict) -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    for key, value in kv.items():
        if key == "tokenizer.ggml.scores":
            writer.add_token_scores(value)
        elif key == "tokenizer.ggml.token_type":
            writer.add_token_types(value)
        elif isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        else:
            writer.add_array(key, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _sentencepiece_gguf(path: Path) -> Path:
    """Llama 2's tokenizer.model as llama.cpp writes it: pieces, scores, types; no merges."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZERS / "llama-2" / "tokenizer.model"))
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(
            2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else 6 if sp.is_byte(i) else 1
        )
    return _write_tokenizer_gguf(
        path,
        "llama",
        {
            "tokenizer.ggml.model": "llama",
            "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.scores": scores,
            "tokenizer.ggml.token_type": types,
            "tokenizer.ggml.bos_token_id": 1,
            "tokenizer.ggml.eos_token_id": 2,
            "tokenizer.ggml.unknown_token_id": 0,
            "tokenizer.ggml.add_bos_token": True,
        },
    )


def _tiktoken_gguf(path: Path, rank_file: Path, pre: str) -> Path:
    """A tiktoken rank file as a byte-level GGUF vocabulary with merges recovered from the ranks."""
    from tokenlens.backends.tiktoken_backend import BYTE_TO_UNICODE

    ranks = {}
    for line in rank_file.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    spell = lambda b: "".join(BYTE_TO_UNICODE[x] for x in b)  # noqa: E731
    tokens = [f"[PAD{i}]" for i in range(max(ranks.values()) + 1)]
    for data, rank in ranks.items():
        tokens[rank] = spell(data)
    merges = []
    for data, rank in ranks.items():
        for cut in range(1, len(data)):
            left, right = ranks.get(data[:cut]), ranks.get(data[cut:])
            if left is not None and right is not None and left < rank and right < rank:
                merges.append((rank, left, right, spell(data[:cut]) + " " + spell(data[cut:])))
    merges.sort()
    return _write_tokenizer_gguf(
        path,
        "gpt2",
        {
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.pre": pre,
            "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.token_type": [1] * len(tokens),
            "tokenizer.ggml.merges": [m[3] for m in merges],
        },
    )


def test_llama2_sentencepiece_as_gguf_keeps_its_ids(tmp_path):
    """No merges in the file: the merge order comes from the scores, as in SentencePiece."""
    path = _sentencepiece_gguf(tmp_path / "llama2.gguf")
    assert tokenlens.tokenize("I love NLP", str(path)).ids == [1, 306, 5360, 405, 13208]
    for text in texts(60):
        assert tokenlens.tokenize(text, str(path)).ids == tokenlens.tokenize(text, "llama-2").ids, text
    assert (
        tokenlens.decode(tokenlens.tokenize("ଓଡ଼ିଆ 🙂", str(path), add_special_tokens=False).ids, str(path)) == "ଓଡ଼ିଆ 🙂"
    )


def test_gpt2_ranks_as_gguf_keep_their_ids(tmp_path):
    path = _tiktoken_gguf(tmp_path / "gpt2.gguf", TOKENIZERS / "gpt2" / "r50k_base.tiktoken", "gpt-2")
    assert tokenlens.tokenize("I love NLP", str(path)).ids == [40, 1842, 399, 19930]
    for text in texts(60) + ["\t\ttabs\r\nwindows", "a  b   c"]:
        assert tokenlens.tokenize(text, str(path)).ids == tokenlens.tokenize(text, "gpt2").ids, text


@pytest.mark.slow
@pytest.mark.parametrize(
    "encoding,pre", [("cl100k_base", "llama-bpe"), ("o200k_base", "gpt-4o"), ("cl100k_base", "qwen2")]
)
def test_large_byte_level_vocabularies_as_gguf(tmp_path, encoding, pre):
    """Llama 3's pre-tokenizer is cl100k's pattern, GPT-4o's is o200k's; Qwen2's differs from
    Llama 3's only in splitting every digit, checked against tiktoken with that pattern."""
    import tiktoken

    from tokenlens.backends.gguf_backend import PRE_TOKENIZERS

    rank_file = TOKENIZERS / encoding / f"{encoding}.tiktoken"
    path = _tiktoken_gguf(tmp_path / f"{pre}.gguf", rank_file, pre)
    if pre == "qwen2":
        ranks = tiktoken.load.load_tiktoken_bpe(str(rank_file))
        ref = tiktoken.Encoding(
            "qwen2-test", pat_str=PRE_TOKENIZERS["qwen2"].splits[0], mergeable_ranks=ranks, special_tokens={}
        )
        want = ref.encode_ordinary
    else:
        want = lambda t: tokenlens.tokenize(t, encoding).ids  # noqa: E731
    for text in texts(40) + ["1234567 digits", "\t\ttabs\r\nwindows"]:
        assert tokenlens.tokenize(text, str(path)).ids == want(text), text


# -- the Ollama store ---------------------------------------------------------------------------


def _add_to_store(store: Path, name: str, gguf: Path, template: str | None = "{{ .Prompt }}") -> Path:
    from tokenlens.gguf.ollama import parse_name

    ref = parse_name(name)
    blobs = store / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / f"sha256-{digest}").write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    layers = [{"mediaType": "application/vnd.ollama.image.model", **blob(gguf.read_bytes())}]
    if template is not None:
        layers.append({"mediaType": "application/vnd.ollama.image.template", **blob(template.encode())})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **blob(b'{"model_format":"gguf"}')},
        "layers": layers,
    }
    path = ref.manifest_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path, monkeypatch, exported):
    root = tmp_path / "ollama-models"
    _add_to_store(root, "tiny", exported["llama"].gguf)
    _add_to_store(root, "me/tiny-gpt:v1", exported["gpt2"].gguf)
    monkeypatch.setenv("OLLAMA_MODELS", str(root))
    return root


def test_ollama_names_resolve_through_the_store(store, models):
    _f, _m, llama_tok = models["llama"]
    _f, _m, gpt2_tok = models["gpt2"]
    for text in texts(10):
        assert tokenlens.tokenize(text, "ollama:tiny:latest").ids == llama_tok(text)["input_ids"]
        assert tokenlens.tokenize(text, "ollama:me/tiny-gpt:v1").ids == gpt2_tok(text)["input_ids"]
    assert tokenlens.tokenize("I love NLP", "ollama:tiny").ids == llama_tok("I love NLP")["input_ids"]
    assert (
        tokenlens.load("ollama:tiny")
        .apply_chat_template([{"role": "user", "content": "hi"}])
        .endswith("<|im_start|>assistant\n")
    )
    listed = {e.name: e for e in tokenlens.available(include_hub_cache=False)}
    assert listed["ollama:tiny:latest"].kind == "gguf" and listed["ollama:tiny:latest"].source == "ollama"
    assert "ollama:me/tiny-gpt:v1" in listed and "gpt2" in listed
    from tokenlens.gguf import ollama

    assert ollama.layer_text("tiny", "application/vnd.ollama.image.template") == "{{ .Prompt }}"
    local = {m["name"]: m for m in ollama.models(use_server=False)}
    assert local["tiny:latest"]["source"] == "store" and local["tiny:latest"]["size"] > 0


def test_ollama_errors_say_what_to_do(store, tmp_path):
    from tokenlens.gguf.ollama import parse_name, resolve_gguf

    with pytest.raises(TokenizerNotFound, match="ollama pull") as info:
        tokenlens.load("ollama:tinny")
    assert "ollama:tiny:latest" in str(info.value)  # close matches from the store
    for bad in ("ollama:../../etc/passwd", "ollama:a/b/c/d", "ollama:tiny:", "ollama:/abs"):
        with pytest.raises(InputError, match="not an Ollama model name"):
            parse_name(bad)
    manifest = parse_name("tiny").manifest_path(store)
    good = json.loads(manifest.read_text())
    layer = good["layers"][0]
    blob = store / "blobs" / ("sha256-" + layer["digest"].split(":")[1])

    # a missing blob
    moved = tmp_path / "moved-blob"
    shutil.move(blob, moved)
    with pytest.raises(TokenizerFileError, match="lacks the blob.*ollama pull"):
        resolve_gguf("ollama:tiny")
    # a blob that is a link to a file outside the store
    blob.symlink_to(moved)
    with pytest.raises(TokenizerFileError, match="outside the store"):
        resolve_gguf("ollama:tiny")
    blob.unlink()
    shutil.move(moved, blob)
    # a manifest whose digest tries to point elsewhere
    manifest.write_text(json.dumps({**good, "layers": [{**layer, "digest": "sha256:../../../etc/passwd"}]}))
    with pytest.raises(TokenizerFileError, match="not a sha256 digest"):
        resolve_gguf("ollama:tiny")
    # a blob shorter than its manifest says: an interrupted pull
    manifest.write_text(json.dumps({**good, "layers": [{**layer, "size": layer["size"] + 10}]}))
    with pytest.raises(TokenizerFileError, match="interrupted"):
        resolve_gguf("ollama:tiny")
    manifest.write_text(json.dumps({**good, "layers": good["layers"][1:]}))
    with pytest.raises(TokenizerFileError, match="no model layer"):
        resolve_gguf("ollama:tiny")


def test_ollama_server_absent_is_said_plainly(store, monkeypatch):
    """Only the absent cases can be tested offline: no client installed, or no server answering."""
    from tokenlens.gguf import ollama

    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(TokenlensError, match="pip install ollama|ollama serve"):
        ollama.server_models()
    with pytest.raises(TokenlensError, match="pip install ollama|ollama serve"):
        ollama.check_token_count("I love NLP", "ollama:tiny")
    assert {m["source"] for m in ollama.models()} == {"store"}  # falls back to the store
    assert ollama.count_tokens("I love NLP", "tiny") == len(tokenlens.tokenize("I love NLP", "ollama:tiny").ids)
    check = ollama.TokenCountCheck("tiny:latest", 5, 5)
    assert check.match and "match" in repr(check)


# -- damaged and unsupported files ----------------------------------------------------------------


def test_truncated_and_foreign_files_give_clear_errors(exported, tmp_path):
    data = exported["llama"].gguf.read_bytes()
    for cut in (10, 2000, len(data) // 2, len(data) - 100):
        path = tmp_path / f"cut-{cut}.gguf"
        path.write_bytes(data[:cut])
        with pytest.raises(TokenizerFileError, match="cut short.*Download or export it again"):
            tokenlens.load(str(path))
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(TokenizerFileError, match="not a GGUF file"):
        tokenlens.load(str(not_gguf))


def test_unsupported_tokenizers_are_refused_by_name(tmp_path):
    tokens = ["a", "b", "ab"]
    path = _write_tokenizer_gguf(
        tmp_path / "pre.gguf",
        "gpt2",
        {
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.pre": "viking",
            "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.merges": ["a b"],
        },
    )
    with pytest.raises(TokenizerFileError, match=r"'viking'\) is not supported.*gpt-2.*llama-bpe.*qwen2"):
        tokenlens.load(str(path))
    path = _write_tokenizer_gguf(
        tmp_path / "t5.gguf",
        "t5",
        {"tokenizer.ggml.model": "t5", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": [0.0, 0.0, 0.0]},
    )
    with pytest.raises(TokenizerFileError, match=r"'t5' \(Unigram\)\) is not supported.*'llama'.*'gpt2'"):
        tokenlens.load(str(path))
    path = _write_tokenizer_gguf(tmp_path / "none.gguf", "llama", {"general.name": "adapter"})
    with pytest.raises(TokenizerFileError, match="holds no tokenizer"):
        tokenlens.load(str(path))


def test_unknown_architecture_is_refused_for_finetuning(exported, tmp_path):
    from tokenlens.finetune.models import check_causal_lm
    from tokenlens.gguf.metadata import read_metadata

    meta = read_metadata(exported["llama"].gguf)
    kv = {k: v for k, v in meta.fields.items() if k.startswith("tokenizer.")}
    kv["general.architecture"] = "mamba-x"
    kv.pop("tokenizer.chat_template", None)
    path = _write_tokenizer_gguf(tmp_path / "odd.gguf", "mamba-x", kv)
    assert tokenlens.tokenize("I love NLP", str(path)).ids  # the tokenizer still reads
    with pytest.raises(InputError, match="architecture 'mamba-x', which transformers cannot load from GGUF"):
        check_causal_lm(str(path))


def test_export_refuses_what_gguf_cannot_hold(tmp_path, models):
    folder, _model, _tok = models["gpt2"]
    odd = tmp_path / "bert"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(InputError, match="'bert' model; GGUF export supports gpt2, llama, mistral, qwen2"):
        tokenlens.export_gguf(odd)
    with pytest.raises(InputError, match="No trained model"):
        tokenlens.export_gguf(tmp_path / "nowhere")
    with pytest.raises(InputError, match="dtype 'q4'"):
        tokenlens.export_gguf(folder, dtype="q4")


# -- magics and the server ------------------------------------------------------------------------


def test_magics_take_gguf_names(store, exported, models, tmp_path):
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("%load_ext tokenlens", store_history=False)
        result = shell.run_cell("%%tokenize -t ollama:tiny -t gpt2\nI love NLP\n")
        assert result.success, result.error_in_exec
        assert result.result["ollama:tiny"].ids == models["llama"][2]("I love NLP")["input_ids"]
        folder = models["gpt2"][0]
        result = shell.run_cell(f"%finetune --export-gguf {folder} --out {tmp_path / 'm.gguf'} --export-dtype q8_0")
        assert result.success, result.error_in_exec
        assert result.result.gguf == tmp_path / "m.gguf" and result.result.dtype == "q8_0"
        assert (tmp_path / "Modelfile").is_file()
        result = shell.run_cell(f"%finetune --model {exported['llama'].gguf} --data {tmp_path / 'd.txt'} --dry-run")
        assert not result.success  # the data file does not exist: a usage error, not a traceback
        (tmp_path / "d.txt").write_text("\n".join(flores("ory_Orya")[:20]), encoding="utf-8")
        result = shell.run_cell(f"%finetune --model ollama:tiny --data {tmp_path / 'd.txt'} --dry-run --context 32")
        assert result.success, result.error_in_exec
    finally:
        InteractiveShell.clear_instance()


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyterlab_tokenlens": True}}}


async def test_routes_list_and_tokenize_ollama_models(store, models, jp_fetch):
    response = await jp_fetch("tokenlens", "tokenizers")
    names = {t["name"]: t for t in json.loads(response.body)["tokenizers"]}
    assert names["ollama:tiny:latest"] == {"name": "ollama:tiny:latest", "kind": "gguf", "source": "ollama"}
    body = {"text": "ଓଡ଼ିଆ ଭାଷା", "tokenizers": ["ollama:tiny", "ollama:me/tiny-gpt:v1"]}
    response = await jp_fetch("tokenlens", "tokenize", method="POST", body=json.dumps(body))
    results = json.loads(response.body)["results"]
    assert results[0]["ids"] == models["llama"][2]("ଓଡ଼ିଆ ଭାଷା")["input_ids"]
    assert results[1]["ids"] == models["gpt2"][2]("ଓଡ଼ିଆ ଭାଷା")["input_ids"]


# -- a real fine-tune from a GGUF, exported back (slow: a trainer process) ------------------------


@pytest.mark.slow
def test_finetune_from_gguf_and_export_back(exported, tmp_path, monkeypatch):
    import tokenlens.finetune as ft

    monkeypatch.setenv("TOKENLENS_RUNS", str(tmp_path / "runs"))
    data = tmp_path / "odia.txt"
    data.write_text("\n".join(flores("ory_Orya")[:200]), encoding="utf-8")
    run = ft.finetune(
        str(data),
        "from-gguf",
        model=str(exported["llama"].gguf),
        max_steps=6,
        lr=1e-3,
        context=32,
        batch_size=4,
        eval_steps=100,
        save_steps=100,
        device="cpu",
        export="gguf",
        export_dtype="q8_0",
    )
    state = run.wait(timeout=900)
    assert state.status == "completed", run.log_tail()
    assert state.gguf and Path(state.gguf).is_file(), state.export_error
    before = tokenlens.tokenize(flores("ory_Orya")[0], str(exported["llama"].gguf)).ids
    assert tokenlens.tokenize(flores("ory_Orya")[0], state.gguf).ids == before
    assert (Path(state.gguf).parent / "Modelfile").is_file()


# -- llama.cpp itself, where llama-cpp-python is installed ----------------------------------------


def test_llama_cpp_runs_the_exported_file(exported):
    llama_cpp = pytest.importorskip(
        "llama_cpp",
        reason="llama-cpp-python is not installed (it compiles llama.cpp; pip install"
        " llama-cpp-python), so the exported files are not run in llama.cpp here",
    )
    for arch in ("gpt2", "llama"):
        path = str(exported[arch].gguf)
        llm = llama_cpp.Llama(model_path=path, n_ctx=64, verbose=False, seed=0)
        for text in [flores("eng_Latn")[0][:80], flores("hin_Deva")[0][:40], "I love NLP"]:
            ours = tokenlens.tokenize(text, path).ids
            theirs = llm.tokenize(
                text.encode("utf-8"), add_bos=bool(ours and ours[0] == llm.token_bos()), special=False
            )
            assert theirs == ours, (arch, text)
        out = llm.create_completion("I love", max_tokens=8, temperature=0.0)
        assert out["usage"]["completion_tokens"] > 0
