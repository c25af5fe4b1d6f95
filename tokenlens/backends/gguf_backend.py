"""GGUF files (llama.cpp, Ollama): the tokenizer their metadata describes.

A GGUF file carries no tokenizer.json. It stores the vocabulary, merges or scores, token types,
special ids and the name of a pre-tokenizer under ``tokenizer.ggml.*``. Those are read here with
the ``gguf`` package and rebuilt as a Hugging Face ``tokenizers`` pipeline, so encoding, spans and
explanations are the ones :class:`~tokenlens.backends.hf.HFBackend` gives every other tokenizer:

- ``tokenizer.ggml.model = "llama"``: SentencePiece-style BPE. Spaces become ``▁``, a ``▁`` is
  put before the text, characters outside the vocabulary fall back to ``<0xNN>`` byte tokens, and
  pieces merge in the order of the file's merges (or, where it has none, of the scores, as
  SentencePiece and llama.cpp do).
- ``tokenizer.ggml.model = "gpt2"``: byte-level BPE; the text is split by the regular expressions
  llama.cpp uses for the ``tokenizer.ggml.pre`` name (see :mod:`~tokenlens.backends.gguf_pretok`).
- ``tokenizer.ggml.model = "gemma4"``: BPE on raw UTF-8, spaces as ``▁``, split only at newlines,
  ``<0xNN>`` byte tokens for the rest, a bos always added (as llama.cpp does for Gemma 4).
- ``tokenizer.ggml.model = "bert"``: WordPiece (see :mod:`~tokenlens.backends.gguf_wordpiece`).

Every kind llama.cpp ships test vectors for gives its ids (tests/test_llama_vectors.py). Anything
else is refused with the list of what is supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenlens.backends.gguf_pretok import PRE_TOKENIZERS, PreTokenizer
from tokenlens.backends.hf import HFBackend
from tokenlens.errors import InputError, TokenizerFileError

# token types, as llama.cpp numbers them (gguf.TokenType)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

#: ``tokenizer.ggml.model`` values tokenlens reads, and what they are
MODELS = {
    "llama": "SentencePiece-style BPE with byte fallback",
    "gpt2": "byte-level BPE",
    "gemma4": "BPE on UTF-8 with byte fallback",
    "bert": "WordPiece",
}
_OTHER_MODELS = {"t5": "Unigram", "rwkv": "RWKV", "plamo2": "PLaMo-2", "ugm": "Unigram"}


@dataclass
class GGUFTokenizer:
    """What a GGUF file says about its tokenizer (``tokenizer.ggml.*`` and the chat template)."""

    path: str
    model: str
    tokens: list[str]
    pre: str | None = None
    scores: list[float] | None = None
    token_types: list[int] | None = None
    merges: list[str] | None = None
    bos_id: int | None = None
    eos_id: int | None = None
    unk_id: int | None = None
    pad_id: int | None = None
    #: llama.cpp's separator (WordPiece's [SEP]), under its spelling ``seperator_token_id``
    sep_id: int | None = None
    add_bos: bool | None = None
    add_eos: bool | None = None
    add_space_prefix: bool | None = None
    #: WordPiece normalisation; llama.cpp lowercases and strips accents when the file does not say
    lowercase: bool | None = None
    strip_accents: bool | None = None
    chat_template: str | None = None
    architecture: str | None = None
    model_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, token_id: int | None) -> str | None:
        if token_id is None or not 0 <= token_id < len(self.tokens):
            return None
        return self.tokens[token_id]

    def type_of(self, token_id: int) -> int:
        types = self.token_types
        return types[token_id] if types and token_id < len(types) else NORMAL


def read_tokenizer(path: Path) -> GGUFTokenizer:
    """The tokenizer metadata of a GGUF file, each field checked for its type and size; refuses
    files without a tokenizer, and anything malformed, with a :class:`TokenizerFileError`."""
    from tokenlens.core.limits import LIMITS, raise_hint
    from tokenlens.gguf.metadata import read_metadata

    meta = read_metadata(path)
    get = meta.fields.get
    if get("tokenizer.ggml.model") is None or get("tokenizer.ggml.tokens") is None:
        raise TokenizerFileError(
            f"{path} holds no tokenizer (no tokenizer.ggml.model / tokenizer.ggml.tokens in its"
            " metadata); it may be an adapter or a projector file rather than a model."
        )
    field = _FieldReader(path, meta.fields)
    model, tokens = field.text("tokenizer.ggml.model"), field.strings("tokenizer.ggml.tokens")
    if len(tokens) > LIMITS.gguf_vocab_tokens:
        raise TokenizerFileError(
            f"{path}: its vocabulary has {len(tokens):,} tokens, more than the {LIMITS.gguf_vocab_tokens:,}"
            f" tokenlens reads. {raise_hint('gguf_vocab_tokens')}"
        )
    longest = max(range(len(tokens)), key=lambda i: len(tokens[i]), default=None)
    if longest is not None and len(tokens[longest]) > LIMITS.gguf_piece_chars:
        raise TokenizerFileError(
            f"{path}: token {longest} of its vocabulary is {len(tokens[longest]):,} characters long, more"
            f" than the {LIMITS.gguf_piece_chars:,} tokenlens reads. {raise_hint('gguf_piece_chars')}"
        )
    merges = field.strings("tokenizer.ggml.merges", optional=True)
    if merges is not None:
        _check_merge_budget(path, len(merges), sum(map(len, merges)))
        # a merge is two pieces and a space; a longer one could only be cut by trying every space
        if merges and max(map(len, merges)) > 2 * LIMITS.gguf_piece_chars + 1:
            raise field._wrong("tokenizer.ggml.merges", "a list of merges of two vocabulary pieces each")
    template = get("tokenizer.chat_template")
    return GGUFTokenizer(
        path=str(path),
        model=model,
        tokens=tokens,
        pre=field.text("tokenizer.ggml.pre", optional=True),
        scores=field.numbers("tokenizer.ggml.scores", len(tokens), float),
        token_types=field.numbers("tokenizer.ggml.token_type", len(tokens), int),
        merges=merges,
        bos_id=field.token_id("tokenizer.ggml.bos_token_id", len(tokens)),
        eos_id=field.token_id("tokenizer.ggml.eos_token_id", len(tokens)),
        unk_id=field.token_id("tokenizer.ggml.unknown_token_id", len(tokens)),
        pad_id=field.token_id("tokenizer.ggml.padding_token_id", len(tokens)),
        sep_id=field.token_id("tokenizer.ggml.seperator_token_id", len(tokens)),
        add_bos=field.flag("tokenizer.ggml.add_bos_token"),
        add_eos=field.flag("tokenizer.ggml.add_eos_token"),
        add_space_prefix=field.flag("tokenizer.ggml.add_space_prefix"),
        lowercase=field.flag("tokenizer.ggml.normalizer.lowercase"),
        strip_accents=field.flag("tokenizer.ggml.normalizer.strip_accents"),
        chat_template=template if isinstance(template, str) else None,
        architecture=field.text("general.architecture", optional=True),
        model_name=field.text("general.name", optional=True),
    )


class _FieldReader:
    """Typed access to a GGUF file's metadata: a field of the wrong type or length is refused
    with its name, so nothing downstream meets a value it cannot use."""

    def __init__(self, path: Path, fields: dict[str, Any]):
        self.path, self.fields = path, fields

    def _wrong(self, key: str, wanted: str) -> TokenizerFileError:
        value = self.fields.get(key)
        shown = (
            f"a list of {len(value):,} items" if isinstance(value, list) else f"{type(value).__name__} {value!r:.60}"
        )
        return TokenizerFileError(
            f"{self.path}: its metadata field {key} should be {wanted}, but it is {shown}. The file is"
            " damaged or was written by a tool tokenlens does not know; export it again with"
            " llama.cpp's converter or tokenlens.export_gguf."
        )

    def text(self, key: str, optional: bool = False) -> str | None:
        value = self.fields.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or _has_bad_utf8(value):
            raise self._wrong(key, "UTF-8 text")
        return value

    def strings(self, key: str, optional: bool = False) -> list[str] | None:
        value = self.fields.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(key, "a list of strings")
        if _has_bad_utf8("".join(value)):
            bad = next(i for i, v in enumerate(value) if _has_bad_utf8(v))
            raise self._wrong(key, f"a list of UTF-8 strings (item {bad} is not UTF-8)")
        return value

    def numbers(self, key: str, length: int, kind: type) -> list | None:
        value = self.fields.get(key)
        if value is None:
            return None
        allowed = (int, float) if kind is float else (int,)
        if not isinstance(value, list) or not all(isinstance(v, allowed) for v in value):
            raise self._wrong(key, f"a list of {'numbers' if kind is float else 'whole numbers'}")
        if len(value) != length:
            raise self._wrong(key, f"a list of {length:,} items, one per token")
        return value

    def token_id(self, key: str, vocab_size: int) -> int | None:
        value = self.fields.get(key)
        if value is None:
            return None
        if type(value) is not int:
            raise self._wrong(key, "a token id (a whole number)")
        # llama.cpp ignores a special id outside the vocabulary, and so does tokenlens.
        return value if 0 <= value < vocab_size else None

    def flag(self, key: str) -> bool | None:
        value = self.fields.get(key)
        if value is None:
            return None
        if not isinstance(value, (bool, int)):
            raise self._wrong(key, "true or false")
        return bool(value)


def _has_bad_utf8(text: str) -> bool:
    """True where the metadata reader kept bytes that are not UTF-8 (as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_merge_budget(path: Path | str, count: int, chars: int) -> None:
    from tokenlens.core.limits import LIMITS, raise_hint

    if count > LIMITS.gguf_merges:
        raise TokenizerFileError(
            f"{path}: its tokenizer has more than {LIMITS.gguf_merges:,} merges, more than tokenlens"
            f" builds. {raise_hint('gguf_merges')}"
        )
    if chars > LIMITS.gguf_merge_chars:
        raise TokenizerFileError(
            f"{path}: its tokenizer's merges hold more than {LIMITS.gguf_merge_chars:,} characters"
            f" together, more than tokenlens builds. {raise_hint('gguf_merge_chars')}"
        )


def check_supported(info: GGUFTokenizer) -> None:
    """Refuse tokenizer kinds and pre-tokenizers that tokenlens cannot reproduce exactly."""
    if info.model not in MODELS:
        kind = _OTHER_MODELS.get(info.model)
        described = f"{info.model!r} ({kind})" if kind else repr(info.model)
        supported = "; ".join(f"{k!r} ({v})" for k, v in MODELS.items())
        raise TokenizerFileError(
            f"{Path(info.path).name}: its tokenizer (tokenizer.ggml.model = {described}) is not"
            f" supported. tokenlens reads GGUF tokenizers of type {supported}."
        )
    if info.model == "gpt2" and (info.pre or "default") not in PRE_TOKENIZERS:
        raise TokenizerFileError(
            f"{Path(info.path).name}: its pre-tokenizer (tokenizer.ggml.pre = {info.pre!r}) is not"
            " supported, so its text could not be split as the model expects. Supported:"
            f" {', '.join(sorted(PRE_TOKENIZERS))}."
        )
    if len(info.tokens) == 0:
        raise TokenizerFileError(f"{Path(info.path).name}: its vocabulary (tokenizer.ggml.tokens) is empty.")


#: pieces up to this long are cut at every position, which is quicker than the stacks for them
_SHORT_PIECE = 24


def merges_from_scores(info: GGUFTokenizer) -> list[tuple[str, str]]:
    """SentencePiece's merge order as a merge list: every split of a piece into two pieces of the
    vocabulary, best score of the merged piece first (what SentencePiece and llama.cpp do).

    A short piece is cut at every position. For a long one that would cost its length squared,
    so there, in sorted order, the vocabulary pieces that begin a piece sit on a stack of nested
    prefixes, and in the order of the reversed pieces, those that end it on a stack of nested
    suffixes. Each stack entry carries the lengths of the pieces under it as bits, so a piece's
    splits are the cuts where a prefix and a suffix meet, found in as many steps as the shorter
    of the two lists. Time grows with the vocabulary's characters (and two sorts); the merges
    themselves are bounded by ``gguf_merges`` and ``gguf_merge_chars``.
    """
    from tokenlens.core.limits import LIMITS

    ids: dict[str, int] = {}
    for i, tok in enumerate(info.tokens):
        if tok:
            ids.setdefault(tok, i)
    scores = info.scores or [0.0] * len(info.tokens)
    types = info.token_types or ()
    n_types = len(types)
    get = ids.get
    ranked: list[tuple[float, int, int, int]] = []
    chars = 0
    most, most_chars = LIMITS.gguf_merges, LIMITS.gguf_merge_chars
    long: list[str] = []
    for piece, i in ids.items():
        if i < n_types and types[i] not in (NORMAL, USER_DEFINED):
            continue
        size = len(piece)
        if size > _SHORT_PIECE:
            long.append(piece)
            continue
        for cut in range(1, size):
            li = get(piece[:cut])
            if li is not None:
                ri = get(piece[cut:])
                if ri is not None:
                    ranked.append((-float(scores[i]), i, li, ri))
                    chars += size
        if len(ranked) > most or chars > most_chars:
            _check_merge_budget(info.path, len(ranked), chars)
    if long:
        prefixes_of = _nested(sorted(ids), str.startswith)
        suffixes_of = _nested(sorted(ids, key=_backwards), str.endswith)
    for piece in long:
        prefixes, suffixes = prefixes_of.get(piece, 0), suffixes_of.get(piece, 0)
        size, i = len(piece), ids[piece]
        # walk the bits of the sparser mask, test the other at the matching cut
        if prefixes.bit_count() <= suffixes.bit_count():
            walk, other, flip = prefixes, suffixes, True
        else:
            walk, other, flip = suffixes, prefixes, False
        while walk and other:
            low = walk & -walk
            n = low.bit_length() - 1
            walk ^= low
            if other >> (size - n) & 1:
                cut = n if flip else size - n
                ranked.append((-float(scores[i]), i, ids[piece[:cut]], ids[piece[cut:]]))
                chars += size
        if len(ranked) > most or chars > most_chars:
            _check_merge_budget(info.path, len(ranked), chars)
    ranked.sort()
    tokens = info.tokens
    return [(tokens[li], tokens[ri]) for _s, _i, li, ri in ranked]


def _backwards(piece: str) -> str:
    return piece[::-1]


def _nested(pieces: list[str], contains) -> dict[str, int]:
    """For each piece that ``contains`` shorter pieces of the list (as a prefix, with
    ``str.startswith`` over sorted pieces; as a suffix, with ``str.endswith`` over pieces sorted
    backwards), their lengths as bits. In that order the contained pieces are exactly the stack
    left after dropping the entries the piece does not contain."""
    out: dict[str, int] = {}
    stack: list[str] = []
    masks: list[int] = []  # the lengths of stack[: k + 1], as bits
    for piece in pieces:
        while stack and not contains(piece, stack[-1]):
            stack.pop()
            masks.pop()
        inner = masks[-1] if masks else 0
        if inner:
            out[piece] = inner
        stack.append(piece)
        masks.append(inner | 1 << len(piece))
    return out


def _split_merge(merge: str, vocab: dict[str, int], path: str) -> tuple[str, str]:
    left, sep, right = merge.partition(" ")
    if not (sep and left in vocab and right in vocab):
        # a piece that itself holds a space: find the cut where both halves are tokens
        cut = next(
            (c for c, ch in enumerate(merge) if ch == " " and merge[:c] in vocab and merge[c + 1 :] in vocab), None
        )
        if cut is None:
            raise TokenizerFileError(
                f"{path}: its merge {merge!r:.80} does not join two tokens of its vocabulary, so the file"
                " is damaged. Download or export it again."
            )
        left, right = merge[:cut], merge[cut + 1 :]
    if left + right not in vocab:  # the engine, like llama.cpp, needs the merged piece as a token
        raise TokenizerFileError(
            f"{path}: its merge {merge!r:.80} makes {left + right!r:.80}, which is not in its vocabulary,"
            " so the file is damaged. Download or export it again."
        )
    return left, right


def _splitter(splits: tuple[str, ...]):
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(s), behavior="isolated") for s in splits])


def _pre_of(info: GGUFTokenizer) -> PreTokenizer | None:
    """The pre-tokenizer a BPE vocabulary is split with; llama.cpp names Gemma 4's itself."""
    if info.model == "gemma4":
        return PRE_TOKENIZERS["gemma4"]
    if info.model == "gpt2":
        return PRE_TOKENIZERS[info.pre or "default"]
    return None


def build_tokenizer(info: GGUFTokenizer):
    """A ``tokenizers.Tokenizer`` that encodes as the GGUF file's tokenizer does."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, processors

    check_supported(info)
    vocab: dict[str, int] = {}
    for i, tok in enumerate(info.tokens):
        vocab.setdefault(tok, i)  # a repeated entry (padding rows) keeps its first id
    pre = _pre_of(info)
    if info.model == "bert":
        from tokenlens.backends.gguf_wordpiece import build_wordpiece

        tok, vocab = build_wordpiece(info)
        add_bos = True  # llama.cpp puts the CLS (bos) and SEP tokens around every text
    elif info.merges is not None:
        merges = [_split_merge(m, vocab, info.path) for m in info.merges]
    elif info.model == "llama":
        merges = merges_from_scores(info)
    else:
        raise TokenizerFileError(
            f"{Path(info.path).name}: a BPE tokenizer of type {info.model!r} needs tokenizer.ggml.merges,"
            " which this file lacks. Export it again with llama.cpp's converter."
        )
    if info.model == "llama":
        unk = info.token(info.unk_id)
        tok = Tokenizer(models.BPE(vocab, merges, unk_token=unk, byte_fallback=True, fuse_unk=True))
        prefix = info.add_space_prefix is not False
        # SentencePiece puts a space before the text even when it starts with one, and llama.cpp
        # also after each special token: a normaliser on every stretch of plain text does both.
        steps = [normalizers.Replace(" ", "\u2581")]
        if prefix:
            steps.insert(0, normalizers.Prepend("\u2581"))
        tok.normalizer = normalizers.Sequence(steps)
        steps = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
        if prefix:
            steps.append(decoders.Strip(content=" ", left=1, right=0))
        tok.decoder = decoders.Sequence(steps)
        add_bos = True if info.add_bos is None else info.add_bos
    elif pre is not None and pre.raw_utf8:
        tok = Tokenizer(models.BPE(vocab, merges, byte_fallback=True))
        tok.normalizer = normalizers.Replace(" ", "\u2581")
        tok.pre_tokenizer = _splitter(pre.splits)
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
        add_bos = True  # llama.cpp overrides a file's add_bos_token = false for Gemma 4 (its PR 21500)
    elif pre is not None:
        from tokenizers import pre_tokenizers

        # byte-level BPE never needs an unknown token
        tok = Tokenizer(models.BPE(vocab, merges, ignore_merges=pre.ignore_merges))
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [_splitter(pre.splits), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
        tok.decoder = decoders.ByteLevel()
        add_bos = pre.add_bos if info.add_bos is None else info.add_bos
    # Control tokens are special; user-defined ones are matched whole in the text, as llama.cpp does.
    specials, added = [], []
    for i, t in enumerate(info.tokens):
        kind = info.type_of(i)
        if vocab.get(t) != i:
            continue
        if kind == CONTROL or (kind == UNKNOWN and i == info.unk_id):
            specials.append(AddedToken(t, special=True, normalized=False))
        elif kind == USER_DEFINED:
            added.append(AddedToken(t, special=False, normalized=False))
    for i in (info.bos_id, info.eos_id, info.pad_id):
        t = info.token(i)
        if t is not None and vocab.get(t) == i and info.type_of(i) not in (CONTROL, USER_DEFINED):
            specials.append(AddedToken(t, special=True, normalized=False))
    if specials:
        tok.add_special_tokens(specials)
    if added:
        tok.add_tokens(added)
    bos, eos = info.token(info.bos_id), info.token(info.eos_id) if info.add_eos else None
    if info.model == "bert":
        from tokenlens.backends.gguf_wordpiece import special_id

        bos, eos = info.token(special_id(info, "bos")), info.token(special_id(info, "sep"))
    first = [bos] if add_bos and bos is not None else []
    last = [eos] if eos is not None else []
    if first or last:
        tok.post_processor = processors.TemplateProcessing(
            single=[*first, "$A", *last],
            pair=[*first, "$A", *last, *first, "$B:1", *last],
            special_tokens=[(t, vocab[t]) for t in dict.fromkeys(first + last)],
        )
    return tok


class GGUFBackend(HFBackend):
    """The tokenizer of a GGUF file, encoding through a rebuilt ``tokenizers`` pipeline."""

    kind = "gguf"

    def __init__(self, name: str, info: GGUFTokenizer, source: Path | str | None = None):
        super().__init__(name, build_tokenizer(info), source=source or info.path)
        self.info = info
        # The file's list is the vocabulary, padding rows and repeated entries included.
        self._vocab_size = len(info.tokens)
        self._special_ids |= {i for i in range(len(info.tokens)) if info.type_of(i) == CONTROL}

    @classmethod
    def from_file(cls, name: str, path: Path) -> GGUFBackend:
        return cls(name, read_tokenizer(Path(path)), source=path)

    @property
    def unk_id(self) -> int | None:
        if self.info.model == "bert":
            from tokenlens.backends.gguf_wordpiece import special_id

            return special_id(self.info, "unk")
        return self.info.unk_id if self.info.model == "llama" else None

    def id_to_piece(self, token_id: int) -> str:
        return self.info.tokens[token_id]

    def memory_estimate(self) -> int:
        # Measured: Llama 2 and GPT-2 as GGUF, 36 and 60 MB, about 1,200 bytes a token; merges
        # made from scores cost little each, but their characters are copied several times.
        merges = self._spec_model.get("merges") or ()
        chars = sum(len(m) if isinstance(m, str) else sum(map(len, m)) for m in merges)
        return 1200 * len(self.info.tokens) + 4 * chars

    def _explain_model(self, token_id: int) -> dict:
        out = super()._explain_model(token_id)
        if self.info.scores and token_id < len(self.info.scores) and self.info.model == "llama":
            out["score"] = float(self.info.scores[token_id])
        return out

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text for ``messages`` from the chat template stored in the GGUF file."""
        from tokenlens.core.chat_template import render_chat

        if not self.info.chat_template:
            raise InputError(
                f"{self.name} has no chat template (the GGUF file holds no tokenizer.chat_template);"
                " it is probably a base model rather than a chat model."
            )
        config = {
            "bos_token": self.info.token(self.info.bos_id) or "",
            "eos_token": self.info.token(self.info.eos_id) or "",
            "unk_token": self.info.token(self.info.unk_id) or "",
            "pad_token": self.info.token(self.info.pad_id) or "",
        }
        origin = f"{self.source} (tokenizer.chat_template)"
        return render_chat(self.info.chat_template, config, messages, add_generation_prompt, origin=origin)

    def describe(self) -> dict:
        out = super().describe()
        out.update(
            gguf_model=self.info.model,
            pre_tokenizer=self.info.pre,
            architecture=self.info.architecture,
            chat_template=bool(self.info.chat_template),
        )
        return out


__all__ = ["MODELS", "PRE_TOKENIZERS", "GGUFBackend", "GGUFTokenizer", "build_tokenizer", "read_tokenizer"]
