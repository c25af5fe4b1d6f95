"""tiktoken encodings from ``*.tiktoken`` rank files, with the patterns OpenAI published."""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tokenlens.backends.base import Backend
from tokenlens.core.tokenized import Tokenized, byte_lengths_to_char_spans
from tokenlens.errors import InputError, TokenizerFileError

#: encodings whose pattern and special tokens ``tiktoken_ext.openai_public`` defines
KNOWN_ENCODINGS = ("r50k_base", "p50k_base", "cl100k_base", "o200k_base")

_patch_lock = threading.Lock()


def _gpt2_byte_map() -> dict[int, str]:
    # GPT-2's printable stand-ins for bytes (Ġ for space), so pieces read like HF's vocab.json.
    keep = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


BYTE_TO_UNICODE = _gpt2_byte_map()
UNICODE_TO_BYTE = {v: k for k, v in BYTE_TO_UNICODE.items()}


def _encoding_spec(encoding_name: str, rank_file: Path) -> dict:
    """The published constructor of ``encoding_name``, fed from a local rank file."""
    import tiktoken.load
    from tiktoken_ext import openai_public

    def load_local(_url: str, expected_hash: str | None = None):
        data = rank_file.read_bytes()
        if expected_hash and not tiktoken.load.check_hash(data, expected_hash):
            raise TokenizerFileError(
                f"{rank_file} is not the published {encoding_name} rank file (its sha256 differs)."
                " Replace it with an intact copy."
            )
        try:
            return {
                base64.b64decode(tok): int(rank) for tok, rank in (line.split() for line in data.splitlines() if line)
            }
        except Exception as exc:
            raise TokenizerFileError(
                f"{rank_file} is not a tiktoken rank file (lines of 'base64-token rank'): {exc}"
            ) from exc

    # The constructor names its download function as a module global; pointing it at the
    # local file keeps the published pattern and special tokens without any download.
    with _patch_lock:
        original = openai_public.load_tiktoken_bpe
        openai_public.load_tiktoken_bpe = load_local
        try:
            return getattr(openai_public, encoding_name)()
        finally:
            openai_public.load_tiktoken_bpe = original


class TiktokenBackend(Backend):
    kind = "tiktoken"
    model = "BPE"
    bytes_per_token = 750  # r50k_base (GPT-2): 37 MB for 50,257 ranks with the per-id tables filled

    def __init__(self, name: str, encoding, source: Path | str | None = None):
        super().__init__(name, source)
        self.encoding = encoding
        self._special_ids = set(encoding._special_tokens.values())
        self._vocab_size = encoding.n_vocab
        self._lengths: np.ndarray | None = None
        self._chars: np.ndarray | None = None
        self._rank_table: dict | None = None

    @classmethod
    def from_file(cls, name: str, path: Path) -> TiktokenBackend:
        import tiktoken

        encoding_name = path.stem
        if encoding_name not in KNOWN_ENCODINGS:
            raise TokenizerFileError(
                f"{path.name}: tiktoken rank files carry no regex pattern, so tokenlens needs the"
                f" file named after its encoding, one of {', '.join(KNOWN_ENCODINGS)}"
                " (e.g. cl100k_base.tiktoken)."
            )
        spec = _encoding_spec(encoding_name, path)
        return cls(name, tiktoken.Encoding(**spec), source=path)

    @classmethod
    def from_encoding_name(cls, name: str) -> TiktokenBackend:
        import tiktoken

        return cls(name, tiktoken.get_encoding(name), source=f"tiktoken:{name}")

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    def token_bytes(self, token_id: int) -> bytes:
        return self.encoding.decode_single_token_bytes(token_id)

    def check_ids(self, ids: Sequence[int]) -> list[int]:
        ids = super().check_ids(ids)
        # cl100k_base has no token 100256 (between its ranks and its special tokens): without
        # this check the engine answers a KeyError
        unused = [i for i in ids if i in self._unused_ids()]
        if unused:
            raise InputError(
                f"Token id(s) {unused[:5]} are not used by {self.name}: no rank or special token has"
                " them, so no text encodes to them and they cannot be decoded."
            )
        return ids

    def _unused_ids(self) -> set[int]:
        unused = self.__dict__.get("_unused")
        if unused is None:
            used = set(self.encoding._mergeable_ranks.values()) | self._special_ids
            unused = self.__dict__["_unused"] = set(range(self.vocab_size)) - used
        return unused

    def is_special(self, token_id: int) -> bool:
        return token_id in self._special_ids

    def id_to_piece(self, token_id: int) -> str:
        if token_id in self._special_ids:
            return self.token_bytes(token_id).decode("utf-8")
        return "".join(BYTE_TO_UNICODE[b] for b in self.token_bytes(token_id))

    def token_to_id(self, token: str) -> int | None:
        if token in self.encoding._special_tokens:
            return self.encoding._special_tokens[token]
        ranks = self.encoding._mergeable_ranks
        if all(c in UNICODE_TO_BYTE for c in token):
            hit = ranks.get(bytes(UNICODE_TO_BYTE[c] for c in token))
            if hit is not None:
                return hit
        return ranks.get(token.encode("utf-8"))

    def _byte_lengths(self) -> np.ndarray:
        if self._lengths is None:
            lengths = np.zeros(self._vocab_size, dtype=np.int64)
            for token, rank in self.encoding._mergeable_ranks.items():
                lengths[rank] = len(token)
            for token, rank in self.encoding._special_tokens.items():
                lengths[rank] = len(token.encode("utf-8"))
            self._lengths = lengths
        return self._lengths

    def _char_lengths(self) -> np.ndarray:
        """Characters each token begins: the UTF-8 lead bytes among its bytes (0 for a token
        of a character's later bytes only)."""
        if self._chars is None:
            tokens = list(self.encoding._mergeable_ranks.items())
            tokens += [(t.encode("utf-8"), r) for t, r in self.encoding._special_tokens.items()]
            data = np.frombuffer(b"".join(t for t, _ in tokens), dtype=np.uint8)
            sizes = np.fromiter((len(t) for t, _ in tokens), dtype=np.int64, count=len(tokens))
            begins = np.cumsum((data & 0xC0) != 0x80, dtype=np.int64)
            ends = np.cumsum(sizes)
            through = np.where(ends > 0, begins[np.maximum(ends - 1, 0)], 0)
            chars = np.zeros(self._vocab_size, dtype=np.int32)  # small counts: half the memory per token
            chars[np.fromiter((r for _, r in tokens), dtype=np.int64, count=len(tokens))] = np.diff(through, prepend=0)
            self._chars = chars
        return self._chars

    def encode(self, text: str, add_special_tokens: bool = True) -> Tokenized:
        # Special-token text in the input ("<|endoftext|>") becomes the special token, as the
        # Hugging Face GPT-2 tokenizer does; tiktoken adds no BOS/EOS of its own.
        if add_special_tokens:
            ids = self.encoding.encode_to_numpy(text, allowed_special="all")
        else:
            ids = self.encoding.encode_to_numpy(text, disallowed_special=())
        # Tokens spell the text's bytes end to end, so character spans follow from the number
        # of characters each token begins: one prefix sum over the ids, no pass over the text.
        chars = self._char_lengths()[ids]
        # filled in place (no temporaries), int32 where the text allows: half the fresh memory
        spans = np.empty((len(ids), 2), dtype=np.int32 if len(text) < 2**31 else np.int64)
        np.cumsum(chars, out=spans[:, 1])
        if not len(ids) or int(spans[-1, 1]) == len(text):
            np.subtract(spans[:, 1], chars, out=spans[:, 0])
        else:  # not expected; the byte-exact mapping is always right
            spans = byte_lengths_to_char_spans(text, self._byte_lengths()[ids])
        return Tokenized(text, self.name, ids, spans, backend=self)

    def count(self, text: str, add_special_tokens: bool = True) -> int:
        if add_special_tokens:
            return len(self.encoding.encode_to_numpy(text, allowed_special="all"))
        return len(self.encoding.encode_to_numpy(text, disallowed_special=()))

    def _decode(self, ids: list[int]) -> str:
        return self.encoding.decode(ids)

    def rank_table(self) -> dict:
        """Everything a browser needs to run this encoding itself: its name, its regex pattern
        as tiktoken has it, its special tokens and its ranks as the lines of a ``.tiktoken``
        file (base64 token, space, rank). The Tokens panel counts with it in the keystroke's
        own frame and checks each count against the server's answer (``src/bpe.ts``)."""
        if self._rank_table is None:
            ranks = self.encoding._mergeable_ranks
            lines = "\n".join(
                f"{base64.b64encode(token).decode('ascii')} {rank}"
                for token, rank in sorted(ranks.items(), key=lambda item: item[1])
            )
            self._rank_table = {
                "tokenizer": self.name,
                "encoding": self.encoding.name,
                "pattern": self.encoding._pat_str,
                "special_tokens": dict(self.encoding._special_tokens),
                "n_vocab": self.encoding.n_vocab,
                "ranks": lines,
            }
        return self._rank_table

    def _explain_model(self, token_id: int) -> dict:
        if token_id in self._special_ids:
            return {}
        # In tiktoken the rank is the merge order and the id; the two parents are what byte
        # pair encoding of the token's own bytes joins last.
        parents = bpe_parents(self.token_bytes(token_id), self.encoding._mergeable_ranks)
        return {
            "rank": token_id,
            "parents": [
                {"id": r, "piece": self.id_to_piece(r), "display": self.display(r), "rank": r}
                for r in (self.encoding._mergeable_ranks[p] for p in parents)
            ],
        }

    # -- many texts at once, for tokenlens.measure.stats (see backends/batch.py) ---------------------
    def encode_batch_ids(self, texts, num_threads=None) -> list[list[int]]:
        """tiktoken's own threaded batch encoder; special-token text is encoded as text."""
        from tokenlens.backends.batch import default_threads

        return self.encoding.encode_ordinary_batch(list(texts), num_threads=num_threads or default_threads())

    def encode_batch_spans(self, texts, num_threads=None):
        # Tokens are byte strings laid end to end, so their lengths give the spans exactly.
        from tokenlens.backends.batch import BatchEncoding, flatten, joined_spans

        ids, counts = flatten(self.encode_batch_ids(texts, num_threads))
        starts, ends, sizes = joined_spans(self._byte_lengths()[ids], counts)
        return BatchEncoding(ids, counts, starts, ends, "byte", sizes=sizes, joined=True)

    def _make_token_table(self):
        import numpy as np

        from tokenlens.backends.batch import TokenTable, utf8_valid

        n = self.vocab_size
        partial = np.zeros(n, dtype=bool)
        for token, rank in self.encoding._mergeable_ranks.items():
            partial[rank] = not utf8_valid(token)
        # Byte-level BPE has no unknown token and no fallback pieces: every token is bytes.
        return TokenTable(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), partial, None)


def bpe_parents(token: bytes, ranks: dict[bytes, int]) -> list[bytes]:
    """The two parts byte pair encoding joins last to make ``token`` (none for one byte)."""
    parts = [token[i : i + 1] for i in range(len(token))]
    while len(parts) > 2:
        best, best_rank = -1, None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best_rank is None or rank < best_rank):
                best, best_rank = i, rank
        if best < 0:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts if len(parts) == 2 else []
