"""Hugging Face ``tokenizers``: tokenizer.json, WordPiece vocab.txt, vocab.json + merges.txt."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import TokenizerFileError
from ..tokenized import Tokenized, clamp_spans
from .base import Backend
from .tiktoken_backend import BYTE_TO_UNICODE, UNICODE_TO_BYTE

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
        self._special_ids = {
            t["id"] for t in spec.get("added_tokens") or [] if t.get("special")
        }
        self._vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_tokenizer_json(cls, name: str, path: Path) -> "HFBackend":
        from tokenizers import Tokenizer

        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # noqa: BLE001 - the engine raises plain Exception on bad JSON
            raise TokenizerFileError(
                f"{path} is not a readable tokenizer.json ({str(exc)[:200]}). Re-save it with"
                " tokenizer.save(path) or download it again."
            ) from exc
        return cls(name, tok, source=path)

    @classmethod
    def from_wordpiece_vocab(cls, name: str, path: Path) -> "HFBackend":
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
    def from_vocab_merges(cls, name: str, vocab: Path, merges: Path) -> "HFBackend":
        """GPT-2 style byte-level BPE from vocab.json + merges.txt."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

        try:
            model = models.BPE.from_file(str(vocab), str(merges))
        except Exception as exc:  # noqa: BLE001
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
        return self.tokenizer.token_to_id(unk) if isinstance(unk, str) else None

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
        enc = self.tokenizer.encode(text, add_special_tokens=add_special_tokens)
        ids = enc.ids
        return Tokenized(
            text,
            self.name,
            ids,
            clamp_spans(enc.offsets),
            backend=self,
            pieces=enc.tokens,
        )

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
                parents.append({"id": pid, "piece": part, "display": self.display(pid) if pid is not None else part,
                                "rank": pmade[0] if pmade else None})
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

    # -- many texts at once, for tokenlens.metrics (see backends/batch.py) ---------------------
    # The tokenizers library spreads a batch over its own thread pool (all cores; the
    # RAYON_NUM_THREADS environment variable limits it), so num_threads is not used here.
    def encode_batch_ids(self, texts, num_threads=None) -> list[list[int]]:
        encode = getattr(self.tokenizer, "encode_batch_fast", None) or self.tokenizer.encode_batch
        return [e.ids for e in encode(list(texts), add_special_tokens=False)]

    def encode_batch_spans(self, texts, num_threads=None):
        import itertools

        import numpy as np

        from .batch import BatchEncoding, flatten

        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ids, counts = flatten([e.ids for e in encodings])
        chain = itertools.chain.from_iterable
        flat = np.fromiter(chain(chain(e.offsets for e in encodings)), dtype=np.int64, count=2 * len(ids))
        # character offsets; the pieces of one split character all carry that character
        return BatchEncoding(ids, counts, flat[0::2], flat[1::2], "char")

    def _make_token_table(self):
        import numpy as np

        from .batch import TokenTable, utf8_valid

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
