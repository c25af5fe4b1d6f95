"""Hugging Face ``tokenizers``: tokenizer.json, WordPiece vocab.txt, vocab.json + merges.txt."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np

from tokenlens.backends.base import Backend
from tokenlens.backends.batch import flatten
from tokenlens.backends.tiktoken_backend import BYTE_TO_UNICODE, UNICODE_TO_BYTE
from tokenlens.core.tokenized import Tokenized, clamp_spans
from tokenlens.errors import TokenizerFileError

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


class HFBackend(Backend):
    kind = "hf"

    def __init__(self, name: str, tokenizer, source: Path | str | None = None):
        super().__init__(name, source)
        self.tokenizer = tokenizer
        spec = json.loads(tokenizer.to_str())
        self._spec_model = spec.get("model") or {}
        self._merge_index: dict[str, tuple[int, str, str]] | None = None
        self.model = self._spec_model.get("type") or ""
        decoder = spec.get("decoder") or {}
        kinds = {decoder.get("type")} | {d.get("type") for d in decoder.get("decoders") or []}
        pre = spec.get("pre_tokenizer") or {}
        pre_kinds = {pre.get("type")} | {p.get("type") for p in pre.get("pretokenizers") or []}
        # How a vocabulary string maps back to text decides how a token is displayed.
        self._byte_level = "ByteLevel" in kinds or "ByteLevel" in pre_kinds
        self._metaspace = "Metaspace" in kinds or "Metaspace" in pre_kinds or "Replace" in kinds
        self._special_ids = {t["id"] for t in spec.get("added_tokens") or [] if t.get("special")}
        self._vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        self._newline_safe: bool | None = None
        self._wrap = None

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_tokenizer_json(cls, name: str, path: Path) -> HFBackend:
        from tokenizers import Tokenizer

        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:
            raise TokenizerFileError(
                f"{path} is not a readable tokenizer.json ({str(exc)[:200]}). Re-save it with"
                " tokenizer.save(path) or download it again."
            ) from exc
        return cls(name, tok, source=path)

    @classmethod
    def from_wordpiece_vocab(cls, name: str, path: Path) -> HFBackend:
        """A BERT-style tokenizer from vocab.txt (one token a line, id = line number)."""
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

        try:
            vocab_lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise TokenizerFileError(f"{path} is not UTF-8 text, so not a WordPiece vocab.txt.") from exc
        vocab = {tok: i for i, tok in enumerate(vocab_lines)}
        missing = [t for t in ("[UNK]", "[CLS]", "[SEP]") if t not in vocab]
        if missing:
            raise TokenizerFileError(
                f"{path} lacks the WordPiece special tokens {missing}; a BERT vocab.txt holds"
                " [PAD], [UNK], [CLS], [SEP] and [MASK] among its lines."
            )
        lowercase = _wordpiece_lowercases(path, vocab_lines)
        tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
        )
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )
        tok.decoder = decoders.WordPiece(prefix="##")
        specials = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in vocab]
        tok.add_special_tokens(specials)
        return cls(name, tok, source=path)

    @classmethod
    def from_vocab_merges(cls, name: str, vocab: Path, merges: Path) -> HFBackend:
        """GPT-2 style byte-level BPE from vocab.json + merges.txt."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

        try:
            model = models.BPE.from_file(str(vocab), str(merges))
        except Exception as exc:
            raise TokenizerFileError(
                f"{vocab.name} + {merges.name} do not form a BPE model ({str(exc)[:200]}); every"
                " merge must join two tokens of vocab.json."
            ) from exc
        tok = Tokenizer(model)
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        return cls(name, tok, source=vocab.parent)

    # -- interface ----------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    @property
    def unk_id(self) -> int | None:
        unk = self._spec_model.get("unk_token")
        if isinstance(unk, str):
            return self.tokenizer.token_to_id(unk)
        unk_id = self._spec_model.get("unk_id")  # Unigram names it by id
        return unk_id if isinstance(unk_id, int) else None

    def memory_estimate(self) -> int:
        """A vocabulary costs about 400 bytes a token (BERT's 30,522: 11 MB); each merge about 700
        more, kept by the engine and in the parsed spec (50,256 tokens, 86,119 merges: 81 MB)."""
        return 400 * self.vocab_size + 700 * len(self._spec_model.get("merges") or ())

    def id_to_piece(self, token_id: int) -> str:
        piece = self.tokenizer.id_to_token(token_id)
        return piece if piece is not None else ""

    def token_to_id(self, token: str) -> int | None:
        found = self.tokenizer.token_to_id(token)
        if found is None and self._byte_level:
            found = self.tokenizer.token_to_id("".join(BYTE_TO_UNICODE[b] for b in token.encode("utf-8")))
        if found is None and self._metaspace:
            found = self.tokenizer.token_to_id(token.replace(" ", "\u2581"))
        return found

    def is_special(self, token_id: int) -> bool:
        return token_id in self._special_ids

    def token_bytes(self, token_id: int) -> bytes | None:
        if token_id in self._special_ids:
            return None
        piece = self.id_to_piece(token_id)
        if self._byte_level and all(c in UNICODE_TO_BYTE for c in piece):
            return bytes(UNICODE_TO_BYTE[c] for c in piece)
        if self._metaspace:
            m = _BYTE_PIECE.match(piece)
            if m:
                return bytes([int(m.group(1), 16)])
            return piece.replace("\u2581", " ").encode("utf-8")
        return None  # WordPiece and others: the piece itself is what a person reads

    def encode(self, text: str, add_special_tokens: bool = True) -> Tokenized:
        # Offsets come back as Python tuples; they go into one int64 array through a flat
        # iterator (several times cheaper than np.asarray on the list of tuples). Pieces are
        # looked up per id when first asked for, not copied out of the Encoding.
        chunks = self._line_chunks(text)
        if chunks is not None:
            ids, offsets = self._encode_chunks(chunks, add_special_tokens)
        else:
            enc = self.tokenizer.encode(text, add_special_tokens=add_special_tokens)
            ids, offsets = np.asarray(enc.ids, dtype=np.int64), _flat_offsets([enc.offsets])
        return Tokenized(text, self.name, ids, clamp_spans(offsets), backend=self)

    # -- long texts: lines encoded in parallel, only where that is provably the same ----------
    def _line_chunks(self, text: str) -> list[str] | None:
        """``text`` cut after newlines into pieces of about CHUNK_CHARS, or None when it is
        short or this tokenizer could tokenize across a newline (see :meth:`_splits_at_newlines`)."""
        size = self.CHUNK_CHARS
        if len(text) < 2 * size or not self._splits_at_newlines():
            return None
        chunks, pos, n = [], 0, len(text)
        while pos < n:
            cut = text.find("\n", pos + size)
            cut = n if cut < 0 else cut + 1
            chunks.append(text[pos:cut])
            pos = cut
        return chunks if len(chunks) > 1 else None

    #: characters per piece when a long text is encoded in parallel
    CHUNK_CHARS = 16_384

    def _encode_chunks(self, chunks: list[str], add_special_tokens: bool) -> tuple[np.ndarray, np.ndarray]:
        """Ids and (n, 2) character offsets of the chunks laid end to end, as one encode of
        their concatenation gives them (the engine's threads share the chunks)."""
        encodings = self.tokenizer.encode_batch(chunks, add_special_tokens=False)
        ids, counts = flatten([e.ids for e in encodings])
        offsets = _flat_offsets([e.offsets for e in encodings])
        base = np.cumsum([0] + [len(c) for c in chunks[:-1]], dtype=np.int64)
        offsets += np.repeat(base, counts)[:, None]
        if add_special_tokens:
            (pre_ids, pre_off), (post_ids, post_off) = self._wrapping()
            ids = np.concatenate([pre_ids, ids, post_ids])
            offsets = np.concatenate([pre_off, offsets, post_off])
        return ids, offsets

    def _splits_at_newlines(self) -> bool:
        """Whether every newline is a hard border for this pipeline, so that text cut after a
        newline tokenizes exactly as the whole text does (ids and offsets).

        True only for pipelines made of parts known to act per character or per word: a
        pre-tokenizer that drops whitespace (BERT's, ``Whitespace``, ``WhitespaceSplit``), a
        normalizer of per-character steps, a post-processor that only adds special tokens
        around the text, added tokens without whitespace or stripping, no truncation or
        padding. Anything else (byte-level BPE, Metaspace, Strip, Replace, …) is encoded whole.
        """
        if self._newline_safe is None:
            self._newline_safe = _newline_safe(json.loads(self.tokenizer.to_str())) and self._wrapping() is not None
        return self._newline_safe

    def _wrapping(self):
        """(ids, offsets) the post-processor puts before and after a text's tokens, read off
        the encoding of a probe; None if it does anything else."""
        if self._wrap is None:
            with_special = self.tokenizer.encode("a")
            plain = self.tokenizer.encode("a", add_special_tokens=False)
            mask = with_special.special_tokens_mask
            p = next((k for k, m in enumerate(mask) if not m), len(mask))
            q = p + len(plain.ids)
            ok = with_special.ids[p:q] == plain.ids and with_special.offsets[p:q] == plain.offsets and all(mask[q:])
            if not ok:
                self._wrap = False
            else:
                ids = np.asarray(with_special.ids, dtype=np.int64)
                off = _flat_offsets([with_special.offsets])
                self._wrap = ((ids[:p], off[:p]), (ids[q:], off[q:]))
        return self._wrap or None

    def count(self, text: str, add_special_tokens: bool = True) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=add_special_tokens).ids)

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    def _explain_model(self, token_id: int) -> dict:
        piece = self.id_to_piece(token_id)
        if self.model == "BPE":
            made = self._merges().get(piece)
            if made is None:
                return {}
            rank, left, right = made
            parents = []
            for part in (left, right):
                pid = self.tokenizer.token_to_id(part)
                pmade = self._merges().get(part)
                parents.append(
                    {
                        "id": pid,
                        "piece": part,
                        "display": self.display(pid) if pid is not None else part,
                        "rank": pmade[0] if pmade else None,
                    }
                )
            return {"rank": rank, "parents": parents}
        if self.model == "Unigram":
            vocab = self._spec_model.get("vocab") or []
            if token_id < len(vocab):
                return {"score": float(vocab[token_id][1])}
        if self.model == "WordPiece":
            prefix = self._spec_model.get("continuing_subword_prefix") or "##"
            return {"continuation": piece.startswith(prefix) and not self.is_special(token_id)}
        return {}

    def _merges(self) -> dict[str, tuple[int, str, str]]:
        """merged piece → (rank, left, right), from the model's ordered merge list."""
        if self._merge_index is None:
            index: dict[str, tuple[int, str, str]] = {}
            for rank, merge in enumerate(self._spec_model.get("merges") or []):
                left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
                index.setdefault(left + right, (rank, left, right))
            self._merge_index = index
        return self._merge_index

    # -- many texts at once, for tokenlens.measure.stats (see backends/batch.py) ---------------------
    # The tokenizers library spreads a batch over its own thread pool (all cores; the
    # RAYON_NUM_THREADS environment variable limits it), so num_threads is not used here.
    def encode_batch_ids(self, texts, num_threads=None) -> list[list[int]]:
        encode = getattr(self.tokenizer, "encode_batch_fast", None) or self.tokenizer.encode_batch
        return [e.ids for e in encode(list(texts), add_special_tokens=False)]

    def encode_batch_spans(self, texts, num_threads=None):
        import itertools

        import numpy as np

        from tokenlens.backends.batch import BatchEncoding, flatten

        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ids, counts = flatten([e.ids for e in encodings])
        chain = itertools.chain.from_iterable
        flat = np.fromiter(chain(chain(e.offsets for e in encodings)), dtype=np.int64, count=2 * len(ids))
        # character offsets; the pieces of one split character all carry that character
        return BatchEncoding(ids, counts, flat[0::2], flat[1::2], "char")

    def _make_token_table(self):
        import numpy as np

        from tokenlens.backends.batch import TokenTable, utf8_valid

        n = self.vocab_size
        unknown = np.zeros(n, dtype=bool)
        fallback = np.zeros(n, dtype=bool)
        partial = np.zeros(n, dtype=bool)
        model = json.loads(self.tokenizer.to_str()).get("model") or {}
        unk_token = model.get("unk_token")
        if unk_token is None and isinstance(model.get("unk_id"), int):  # Unigram names it by id
            unk_token = self.tokenizer.id_to_token(model["unk_id"])
        for piece, i in self.tokenizer.get_vocab(with_added_tokens=True).items():
            if not 0 <= i < n:
                continue
            m = _BYTE_PIECE.match(piece)
            if m and not self._byte_level:
                fallback[i] = True
                partial[i] = int(m.group(1), 16) >= 0x80
            elif self._byte_level and i not in self._special_ids and all(c in UNICODE_TO_BYTE for c in piece):
                partial[i] = not utf8_valid(bytes(UNICODE_TO_BYTE[c] for c in piece))
        unk_id = self.tokenizer.token_to_id(unk_token) if unk_token else None
        if unk_id is not None and 0 <= unk_id < n:
            unknown[unk_id] = True
        return TokenTable(unknown, fallback, partial, unk_token if unk_id is not None else None)


def _flat_offsets(offset_lists) -> np.ndarray:
    """Lists of (start, end) tuples as one (n, 2) int64 array, without a tuple per row."""
    total = sum(map(len, offset_lists))
    chain = itertools.chain.from_iterable
    flat = np.fromiter(chain(chain(offset_lists)), dtype=np.int64, count=2 * total)
    return flat.reshape(-1, 2)


#: pipeline parts that never join text across a newline and leave each newline where it is
_NEWLINE_NORMALIZERS = {"BertNormalizer", "Lowercase", "NFD", "NFKD", "NFC", "NFKC", "StripAccents"}
#: pre-tokenizers that split at whitespace and drop it: a newline always ends a word
_WHITESPACE_DROPPING = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}
#: pre-tokenizers that only cut pieces smaller (after one of the above has cut at whitespace)
_SPLIT_ONLY = _WHITESPACE_DROPPING | {"Punctuation", "Digits", "UnicodeScripts", "CharDelimiterSplit"}


def _parts(spec: dict | None, key: str) -> list[dict]:
    if not spec:
        return []
    if spec.get("type") == "Sequence":
        return [p for sub in spec.get(key) or [] for p in _parts(sub, key)]
    return [spec]


def _newline_safe(spec: dict) -> bool:
    """See :meth:`HFBackend._splits_at_newlines`: decided from the tokenizer.json alone."""
    if spec.get("truncation") or spec.get("padding"):
        return False
    normalizers = _parts(spec.get("normalizer"), "normalizers")
    if any(n.get("type") not in _NEWLINE_NORMALIZERS for n in normalizers):
        return False
    pre = _parts(spec.get("pre_tokenizer"), "pretokenizers")
    if not pre or not any(p.get("type") in _WHITESPACE_DROPPING for p in pre):
        return False
    if any(p.get("type") not in _SPLIT_ONLY for p in pre):
        return False
    post = spec.get("post_processor")
    if post and post.get("type") not in ("TemplateProcessing", "BertProcessing"):
        return False
    for t in spec.get("added_tokens") or []:
        content = t.get("content") or ""
        if t.get("lstrip") or t.get("rstrip") or any(c.isspace() for c in content) or not content:
            return False
    model = spec.get("model") or {}
    return model.get("type") in ("WordPiece", "BPE", "WordLevel", "Unigram") and not model.get("dropout")


def _wordpiece_lowercases(path: Path, vocab_lines: list[str]) -> bool:
    """Whether a WordPiece vocabulary expects lower-cased input.

    tokenizer_config.json beside the file decides when present; otherwise a vocabulary with no
    capitalised words is an uncased one.
    """
    config = path.parent / "tokenizer_config.json"
    if config.is_file():
        try:
            value = json.loads(config.read_text(encoding="utf-8")).get("do_lower_case")
            if isinstance(value, bool):
                return value
        except (OSError, ValueError):
            pass
    # A cased vocabulary holds thousands of capitalised words; an uncased one a stray few
    # symbols (ℝ) at most.
    cased = sum(1 for t in vocab_lines if t[:1].isupper() or t[2:3].isupper())
    return cased < max(10, len(vocab_lines) // 1000)
