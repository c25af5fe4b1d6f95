"""tiktoken encodings from ``*.tiktoken`` rank files, with the patterns OpenAI published."""

from __future__ import annotations

import base64
import threading
from itertools import accumulate
from pathlib import Path

from ..errors import TokenizerFileError
from ..tokenized import Tokenized, byte_spans_to_char_spans, display_bytes
from .base import Backend

#: encodings whose pattern and special tokens ``tiktoken_ext.openai_public`` defines
KNOWN_ENCODINGS = ("r50k_base", "p50k_base", "cl100k_base", "o200k_base")

_patch_lock = threading.Lock()


def _gpt2_byte_map() -> dict[int, str]:
    # GPT-2's printable stand-ins for bytes (Ġ for space), so pieces read like HF's vocab.json.
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
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
                base64.b64decode(tok): int(rank)
                for tok, rank in (line.split() for line in data.splitlines() if line)
            }
        except Exception as exc:  # noqa: BLE001 - any parse failure means a corrupt file
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

    def __init__(self, name: str, encoding, source: Path | str | None = None):
        super().__init__(name, source)
        self.encoding = encoding
        self._special_ids = set(encoding._special_tokens.values())
        self._vocab_size = encoding.n_vocab

    @classmethod
    def from_file(cls, name: str, path: Path) -> "TiktokenBackend":
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
    def from_encoding_name(cls, name: str) -> "TiktokenBackend":
        import tiktoken

        return cls(name, tiktoken.get_encoding(name), source=f"tiktoken:{name}")

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    def token_bytes(self, token_id: int) -> bytes:
        return self.encoding.decode_single_token_bytes(token_id)

    def id_to_piece(self, token_id: int) -> str:
        if token_id in self._special_ids:
            return self.token_bytes(token_id).decode("utf-8")
        return "".join(BYTE_TO_UNICODE[b] for b in self.token_bytes(token_id))

    def encode(self, text: str, add_special_tokens: bool = True) -> Tokenized:
        # Special-token text in the input ("<|endoftext|>") becomes the special token, as the
        # Hugging Face GPT-2 tokenizer does; tiktoken adds no BOS/EOS of its own.
        if add_special_tokens:
            ids = self.encoding.encode(text, allowed_special="all")
        else:
            ids = self.encoding.encode(text, disallowed_special=())
        raw = [self.token_bytes(i) for i in ids]
        ends = list(accumulate(len(b) for b in raw))
        byte_spans = list(zip([0] + ends[:-1], ends))
        return Tokenized(
            text=text,
            tokenizer=self.name,
            ids=ids,
            tokens=[display_bytes(b) for b in raw],
            pieces=[self.id_to_piece(i) for i in ids],
            spans=byte_spans_to_char_spans(text, byte_spans),
            special=[i in self._special_ids for i in ids],
            kind=self.kind,
            model=self.model,
        )

    def _decode(self, ids: list[int]) -> str:
        return self.encoding.decode(ids)

    # -- many texts at once, for tokenlens.metrics (see backends/batch.py) ---------------------
    def encode_batch_ids(self, texts, num_threads=None) -> list[list[int]]:
        """tiktoken's own threaded batch encoder; special-token text is encoded as text."""
        from .batch import default_threads

        return self.encoding.encode_ordinary_batch(list(texts), num_threads=num_threads or default_threads())

    def encode_batch_spans(self, texts, num_threads=None):
        # Tokens are byte strings laid end to end, so their lengths give the spans exactly.
        from .batch import BatchEncoding, flatten, spans_from_lengths

        ids, counts = flatten(self.encode_batch_ids(texts, num_threads))
        starts, ends, sizes = spans_from_lengths(self._byte_lengths()[ids], counts)
        return BatchEncoding(ids, counts, starts, ends, "byte", sizes=sizes)

    def _byte_lengths(self):
        self.token_table()  # fills _lengths on first use
        return self.__dict__["_lengths"]

    def _make_token_table(self):
        import numpy as np

        from .batch import TokenTable, utf8_valid

        n = self.vocab_size
        lengths = np.zeros(n, dtype=np.int64)
        partial = np.zeros(n, dtype=bool)
        for i in range(n):
            try:
                data = self.token_bytes(i)
            except KeyError:  # ids between the vocabulary and the special tokens are unused
                continue
            lengths[i] = len(data)
            partial[i] = not utf8_valid(data)
        self.__dict__["_lengths"] = lengths
        # Byte-level BPE has no unknown token and no fallback pieces: every token is bytes.
        return TokenTable(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), partial, None)
