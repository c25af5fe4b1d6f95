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
