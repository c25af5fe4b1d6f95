"""A tokenizer as one file a web page can run itself: the tiktoken rank table the panel's
``bpe.ts`` counts with, or a ``tokenizer.json`` for ``@huggingface/tokenizers`` (Hugging Face
files as they are, SentencePiece models converted, GGUF vocabularies as their rebuilt pipeline).

One home for the Jupyter server's ``/tokenlens/page-tokenizers`` routes and for the JupyterLite
build, which writes the same files and manifest beside the site: the panel with no server reads
``files/tokenlens/manifest.json`` (``{"tokenizers": [entries]}`` or the list itself) and each
file at the entry's ``url`` relative to it (``files/tokenlens/page-tokenizers/<name>``). Names
load in the caller's sandbox with downloads off, so only tokenizers already on this machine are
ever served.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import quote

from tokenlens.core.api import Sandbox, load
from tokenlens.core.limits import LIMITS, raise_hint
from tokenlens.errors import InputError

JSON = "application/json"

_lock = threading.Lock()
#: the last files made, keyed by name and held with the backend they were made from (a file
#: changed on disk loads as a new backend, and so makes a new file)
_made: OrderedDict[str, tuple[object, bytes]] = OrderedDict()
_KEEP = 8


def page_kind(backend) -> str:
    """``tiktoken`` (a rank table for bpe.ts) or ``tokenizers-json``."""
    return "tiktoken" if backend.kind == "tiktoken" else "tokenizers-json"


def page_manifest(names: Iterable[str], sandbox: Sandbox) -> list[dict]:
    """One entry per name: ``{name, kind, sha256, bytes, url}`` (``url`` relative to the
    manifest). Every kind the engines load is run by the page (tests/test_inpage_browser.py
    holds it to the Python engine's ids and spans); a name whose file cannot be made raises, and
    the server's manifest lists it as ``page: false`` with the reason instead."""
    entries = []
    for name in names:
        backend = _load(name, sandbox)
        data = _file_of(name, backend)
        entries.append(
            {
                "name": name,
                "kind": page_kind(backend),
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "url": "page-tokenizers/" + quote(name, safe=""),
            }
        )
    return entries


def page_file(name: str, sandbox: Sandbox) -> tuple[bytes, str]:
    """The file the page runs ``name`` with, and its media type."""
    return _file_of(name, _load(name, sandbox)), JSON


def _load(name: str, sandbox: Sandbox):
    # Never a download: a page asks for files by name, and GET requests can come from any site.
    return load(name, sandbox=replace(sandbox, allow_downloads=False))


def _file_of(name: str, backend) -> bytes:
    with _lock:
        made = _made.get(name)
        if made is not None and made[0] is backend:
            _made.move_to_end(name)
    data = made[1] if made is not None and made[0] is backend else _make(backend)
    with _lock:
        _made[name] = (backend, data)
        while len(_made) > _KEEP:
            _made.popitem(last=False)
    if len(data) > LIMITS.page_file_bytes:
        raise InputError(
            f"{name}'s file for the page is {len(data):,} bytes; the page is sent at most"
            f" {LIMITS.page_file_bytes:,} (page_file_bytes), so it is counted on the server."
            f" {raise_hint('page_file_bytes')}"
        )
    return data


def _make(backend) -> bytes:
    if backend.kind == "tiktoken":
        import orjson

        return orjson.dumps(backend.rank_table())
    if backend.kind == "sentencepiece":
        return sentencepiece_json(backend).encode("utf-8")
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is None:
        raise InputError(f"{backend.name} is a {backend.kind} tokenizer, which the page cannot run.")
    source = backend.source
    if backend.kind == "hf" and source.endswith("tokenizer.json"):
        with open(source, "rb") as f:  # the file itself: what the server's engine read
            return f.read()
    return tokenizer.to_str().encode("utf-8")


def sentencepiece_json(backend) -> str:
    """A SentencePiece model as a ``tokenizers`` pipeline that splits like the sentencepiece
    library: its pieces and merges (read from the model's own proto, as transformers' converter
    reads them, without needing transformers),
    spaces as ``▁`` with the dummy prefix, words split as sentencepiece splits them, BOS added as the backend adds it. Control pieces are not
    added tokens, because sentencepiece reads ``<s>`` in a text as characters."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    proto = backend.model_proto()
    if proto is None:
        raise InputError(f"{backend.name}'s model could not be read as a SentencePiece proto (is protobuf installed?).")
    spec, norm = proto.trainer_spec, proto.normalizer_spec
    if norm.name not in ("identity", "") or norm.remove_extra_whitespaces or spec.treat_whitespace_as_suffix:
        raise InputError(
            f"{backend.name} normalises its text ({norm.name}); the page runs only SentencePiece models"
            " that do not, so it is counted on the server."
        )
    pieces = [p.piece for p in proto.pieces]
    if spec.model_type == 2:
        vocab = {piece: i for i, piece in enumerate(pieces)}
        # sentencepiece merges by the merged piece's score, not its id (Llama 2's ▁▁ comes last)
        merges = _merges_by_score(vocab, [(p.piece, p.score) for p in proto.pieces])
        model = models.BPE(
            vocab=vocab,
            merges=merges,
            unk_token=pieces[spec.unk_id] if 0 <= spec.unk_id < len(pieces) else None,
            fuse_unk=True,
            byte_fallback=spec.byte_fallback,
        )
    elif spec.model_type == 1:
        model = models.Unigram([(p.piece, p.score) for p in proto.pieces], spec.unk_id, spec.byte_fallback)
    else:
        raise InputError(f"{backend.name} is a SentencePiece model of a type the page cannot run.")
    tok = Tokenizer(model)
    # Spaces become ▁ (the dummy prefix too); a word is a run of ▁ and the text after it, as
    # sentencepiece splits with whitespace-only pieces allowed.
    steps = [normalizers.Prepend("\u2581")] if norm.add_dummy_prefix else []
    tok.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", "\u2581")])
    if spec.split_by_whitespace:
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("\u2581*[^\u2581]+|\u2581+"), "isolated")
    tok.decoder = decoders.Sequence(
        [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    bos = backend.sp.bos_id()
    if bos >= 0:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{pieces[bos]}:0 $A:0", special_tokens=[(pieces[bos], bos)]
        )
    return tok.to_str()


def _merges_by_score(vocab: dict[str, int], scores: list[tuple[str, float]]) -> list[tuple[str, str]]:
    """Every way a piece splits into two pieces, the highest-scoring merged piece first (ties: the
    longer left part first), as transformers' ``generate_merges`` orders them."""
    merges = []
    for piece, score in scores:
        local = [
            (piece[:i], piece[i:], score) for i in range(1, len(piece)) if piece[:i] in vocab and piece[i:] in vocab
        ]
        merges.extend(sorted(local, key=lambda m: (vocab[m[0]], vocab[m[1]])))
    merges.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [(left, right) for left, right, _ in merges]
