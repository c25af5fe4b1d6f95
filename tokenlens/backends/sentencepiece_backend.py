"""SentencePiece ``*.model`` files (Llama 2, TinyLlama, T5, …) through the sentencepiece library."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import TokenizerFileError
from ..tokenized import Tokenized, byte_spans_to_char_spans, clamp_spans, display_bytes
from .base import Backend

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")

_MODEL_TYPES = {1: "Unigram", 2: "BPE", 3: "WordLevel", 4: "Char"}


class SentencePieceBackend(Backend):
    kind = "sentencepiece"

    def __init__(self, name: str, path: Path):
        import sentencepiece as spm

        super().__init__(name, path)
        try:
            self.sp = spm.SentencePieceProcessor(model_file=str(path))
        except (RuntimeError, OSError) as exc:
            raise TokenizerFileError(
                f"{path} is not a readable SentencePiece model ({exc}). Check that the file is"
                " complete (re-download it) and that it is a .model file, not a .vocab file."
            ) from exc
        self.model = self._model_type()
        n = self.sp.get_piece_size()
        self._pieces = [self.sp.id_to_piece(i) for i in range(n)]
        self._special = [self.sp.is_control(i) or self.sp.is_unknown(i) for i in range(n)]
        self._byte = [None] * n
        for i, piece in enumerate(self._pieces):
            m = _BYTE_PIECE.match(piece)
            if m and self.sp.is_byte(i):
                self._byte[i] = int(m.group(1), 16)

    def _model_type(self) -> str:
        try:
            from sentencepiece import sentencepiece_model_pb2 as pb

            proto = pb.ModelProto()
            proto.ParseFromString(self.sp.serialized_model_proto())
            return _MODEL_TYPES.get(proto.trainer_spec.model_type, "")
        except Exception:  # noqa: BLE001 - the model type is informative only
            return ""

    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    def id_to_piece(self, token_id: int) -> str:
        return self._pieces[token_id]

    def _token_bytes(self, token_id: int) -> bytes:
        b = self._byte[token_id]
        if b is not None:
            return bytes([b])
        return self._pieces[token_id].replace("\u2581", " ").encode("utf-8")

    def encode(self, text: str, add_special_tokens: bool = True) -> Tokenized:
        proto = self.sp.encode(text, out_type="proto")
        pieces = list(proto.pieces)
        byte_spans = [(p.begin, p.end) for p in pieces]
        # Byte-fallback pieces of one character all point at the character start except the
        # last, which holds the whole character; give each piece its own byte instead.
        run: list[int] = []
        for k, p in enumerate(pieces):
            if self._byte[p.id] is None:
                run = []
                continue
            if p.begin == p.end:
                run.append(k)
                continue
            if p.end - p.begin == len(run) + 1:
                for j, idx in enumerate(run):
                    byte_spans[idx] = (p.begin + j, p.begin + j + 1)
                byte_spans[k] = (p.end - 1, p.end)
            run = []
        ids = [p.id for p in pieces]
        spans = byte_spans_to_char_spans(text, byte_spans)
        if add_special_tokens:
            bos, eos = self.sp.bos_id(), self.sp.eos_id()
            # Llama-style models add BOS only; the model proto says whether EOS is appended too.
            if bos >= 0:
                ids.insert(0, bos)
                spans.insert(0, (0, 0))
        spans = clamp_spans(spans)
        return Tokenized(
            text=text,
            tokenizer=self.name,
            ids=ids,
            tokens=[
                self._pieces[i] if self._special[i] else display_bytes(self._token_bytes(i))
                for i in ids
            ],
            pieces=[self._pieces[i] for i in ids],
            spans=spans,
            special=[self._special[i] for i in ids],
            kind=self.kind,
            model=self.model,
        )

    def _decode(self, ids: list[int]) -> str:
        return self.sp.decode(ids)

    # -- many texts at once, for tokenlens.metrics (see backends/batch.py) ---------------------
    def encode_batch_ids(self, texts, num_threads=None) -> list[list[int]]:
        """sentencepiece's own threaded batch encoder (no BOS/EOS)."""
        from .batch import default_threads

        return self.sp.encode(list(texts), num_threads=num_threads or default_threads())

    def encode_batch_spans(self, texts, num_threads=None):
        # Piece lengths give exact byte spans when the model does not normalize; a text whose
        # pieces do not add up to its bytes (an <unk>, a normalizing model) is encoded again
        # with offsets. Encoding with offsets for every text would be several times slower.
        import numpy as np

        from .batch import BatchEncoding, spans_from_lengths

        texts = list(texts)
        ids, counts = self._encode_batch_arrays(texts, num_threads)
        lengths = self._surface_lengths()[ids]
        starts, ends, got = spans_from_lengths(lengths, counts)
        exact, dummy_prefix = self._surface_rules()
        nbytes = np.fromiter(map(len, map(str.encode, texts)), dtype=np.int64, count=len(texts))
        expected = nbytes + ((nbytes > 0) if dummy_prefix else 0)
        if dummy_prefix:
            # the ▁ added before every text stands for no byte of it: it sits at -1
            starts -= 1
            ends -= 1
        redo = np.arange(len(texts)) if not exact else np.flatnonzero(got != expected)
        first = np.cumsum(counts) - counts
        for i in redo:
            spans = self._proto_byte_spans(texts[int(i)])
            f, c = int(first[i]), int(counts[i])
            if len(spans) == c:
                starts[f : f + c] = [s for s, _ in spans]
                ends[f : f + c] = [e for _, e in spans]
        return BatchEncoding(ids, counts, starts, ends, "byte", sizes=nbytes)

    def _encode_batch_arrays(self, texts: list[str], num_threads=None):
        """(all ids, ids per text): numpy buffers straight from the engine where it can."""
        import numpy as np

        from .batch import default_threads, flatten

        threads = num_threads or default_threads()
        try:
            arrays = self.sp.encode(texts, num_threads=threads, return_type="numpy")
        except (TypeError, ValueError):  # sentencepiece before 0.2.1: lists of ints
            return flatten(self.sp.encode(texts, num_threads=threads))
        counts = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        ids = np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, dtype=np.int64)
        return ids, counts

    def _surface_lengths(self):
        """UTF-8 length of each piece as it appears in text; -1 where it cannot be known."""
        lengths = self.__dict__.get("_lengths")
        if lengths is None:
            import numpy as np

            lengths = np.array(
                [
                    1 if self._byte[i] is not None
                    else -1 if self.sp.is_unknown(i)
                    else 0 if self.sp.is_control(i)
                    else len(piece.replace("\u2581", " ").encode("utf-8"))
                    for i, piece in enumerate(self._pieces)
                ],
                dtype=np.int64,
            )
            self.__dict__["_lengths"] = lengths
        return lengths

    def _surface_rules(self) -> tuple[bool, bool]:
        """(pieces spell the text unchanged, a ▁ is prepended to every text)."""
        try:
            from sentencepiece import sentencepiece_model_pb2 as pb

            proto = pb.ModelProto()
            proto.ParseFromString(self.sp.serialized_model_proto())
        except Exception:  # noqa: BLE001 - unknown layout: take the slow, exact path
            return False, False
        norm = proto.normalizer_spec
        exact = (
            norm.name == "identity"
            and not norm.remove_extra_whitespaces
            and not proto.trainer_spec.treat_whitespace_as_suffix
        )
        return exact, bool(norm.add_dummy_prefix)

    def _proto_byte_spans(self, text: str) -> list[tuple[int, int]]:
        """Byte spans from the engine's offsets, each byte-fallback piece on its own byte."""
        pieces = list(self.sp.encode(text, out_type="proto").pieces)
        spans = [(p.begin, p.end) for p in pieces]
        run: list[int] = []
        for k, p in enumerate(pieces):
            if self._byte[p.id] is None:
                run = []
            elif p.begin == p.end:
                run.append(k)
            else:
                if p.end - p.begin == len(run) + 1:
                    for j, idx in enumerate(run):
                        spans[idx] = (p.begin + j, p.begin + j + 1)
                    spans[k] = (p.end - 1, p.end)
                run = []
        return spans

    def _make_token_table(self):
        import numpy as np

        from .batch import TokenTable

        n = len(self._pieces)
        unknown = np.array([self.sp.is_unknown(i) for i in range(n)], dtype=bool)
        fallback = np.array([b is not None for b in self._byte], dtype=bool)
        partial = np.array([b is not None and b >= 0x80 for b in self._byte], dtype=bool)
        unk = self.sp.unk_id()
        return TokenTable(unknown, fallback, partial, self._pieces[unk] if 0 <= unk < n else None)
