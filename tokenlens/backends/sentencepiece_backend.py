"""SentencePiece ``*.model`` files (Llama 2, TinyLlama, T5, …) through the sentencepiece library."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from tokenlens.backends.base import Backend
from tokenlens.core.tokenized import Tokenized, byte_spans_to_char_spans, clamp_spans
from tokenlens.errors import TokenizerFileError

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")

_MODEL_TYPES = {1: "Unigram", 2: "BPE", 3: "WordLevel", 4: "Char"}


class SentencePieceBackend(Backend):
    kind = "sentencepiece"
    bytes_per_token = 300  # Llama 2's 32,000 pieces: 9 MB with its per-id tables filled

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
        proto = self.model_proto()
        self.model = _MODEL_TYPES.get(proto.trainer_spec.model_type, "") if proto else ""
        n = self.sp.get_piece_size()
        self._pieces = [self.sp.id_to_piece(i) for i in range(n)]
        self._byte = [None] * n
        for i, piece in enumerate(self._pieces):
            m = _BYTE_PIECE.match(piece)
            if m and self.sp.is_byte(i):
                self._byte[i] = int(m.group(1), 16)
        norm = proto.normalizer_spec if proto else None
        # When pieces are the text's own bytes (no normalisation, nothing dropped, no <unk>),
        # spans follow from piece lengths alone, without the slow per-piece offset protos.
        self._bytes_are_text = bool(
            proto
            and norm.name == "identity"
            and not norm.remove_extra_whitespaces
            and proto.trainer_spec.byte_fallback
            and not proto.trainer_spec.treat_whitespace_as_suffix
        )
        self._dummy_prefix = bool(norm.add_dummy_prefix) if norm else False
        # without the model's proto (no protobuf) every text takes the slow, exact path
        self._rules = (
            bool(
                proto
                and norm.name == "identity"
                and not norm.remove_extra_whitespaces
                and not proto.trainer_spec.treat_whitespace_as_suffix
            ),
            self._dummy_prefix,
        )
        self._lengths: np.ndarray | None = None
        self._chars: np.ndarray | None = None
        self._raw = None

    def model_proto(self):
        """The model's own ``ModelProto`` (pieces, scores, trainer and normaliser specs), or None
        when ``sentencepiece`` cannot give it (its protobuf module missing)."""
        try:
            from sentencepiece import sentencepiece_model_pb2 as pb

            proto = pb.ModelProto()
            proto.ParseFromString(self.sp.serialized_model_proto())
            return proto
        except Exception:
            return None

    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    @property
    def unk_id(self) -> int | None:
        unk = self.sp.unk_id()
        return unk if unk >= 0 else None

    def id_to_piece(self, token_id: int) -> str:
        return self._pieces[token_id]

    def token_to_id(self, token: str) -> int | None:
        found = self.sp.piece_to_id(token)
        if found != self.sp.unk_id() or token == self._pieces[found]:
            return found
        found = self.sp.piece_to_id(token.replace(" ", "\u2581"))
        return found if found != self.sp.unk_id() else None

    def is_special(self, token_id: int) -> bool:
        return bool(self.sp.is_control(token_id) or self.sp.is_unknown(token_id))

    def token_bytes(self, token_id: int) -> bytes | None:
        if self.is_special(token_id):
            return None
        b = self._byte[token_id]
        if b is not None:
            return bytes([b])
        return self._pieces[token_id].replace("\u2581", " ").encode("utf-8")

    def _byte_lengths(self) -> np.ndarray:
        """UTF-8 length of each piece as it appears in text (0 for control pieces and <unk>)."""
        if self._lengths is None:
            self._surface_tables()
        return self._lengths

    def _char_lengths(self) -> np.ndarray:
        """Characters each piece begins: its UTF-8 lead bytes (a byte-fallback piece of a
        character's later bytes begins none; 0 for control pieces and <unk>)."""
        if self._chars is None:
            self._surface_tables()
        return self._chars

    def _surface_tables(self) -> None:
        n = self.vocab_size
        lengths = np.zeros(n, dtype=np.int64)
        chars = np.zeros(n, dtype=np.int64)
        for i in range(n):
            data = self.token_bytes(i)
            if data:
                lengths[i] = len(data)
                chars[i] = sum(1 for b in data if b & 0xC0 != 0x80)
        self._lengths, self._chars = lengths, chars

    def _encode_ids(self, text: str) -> np.ndarray:
        """Ids of one text as an int32 array, straight from the engine's buffer where it can."""
        try:
            return self.sp.encode(text, return_type="numpy")
        except (TypeError, ValueError):  # sentencepiece before 0.2.1: a list of ints
            return np.array(self.sp.encode(text), dtype=np.int32)

    def encode(self, text: str, add_special_tokens: bool = True) -> Tokenized:
        bos = self.sp.bos_id() if add_special_tokens else -1  # Llama-style models add BOS only
        if self._bytes_are_text:
            # The pieces spell the text, so each token's character span follows from the
            # number of characters each piece begins: one prefix sum over the ids, no offsets
            # from the engine and no pass over the text's bytes.
            ids = self._encode_ids(text)
            chars = self._char_lengths()[ids]
            # rows filled in place (no temporaries); a BOS gets the empty first row
            first = 1 if bos >= 0 else 0
            out = np.zeros((len(ids) + first, 2), dtype=np.int64)
            spans = out[first:]
            np.cumsum(chars, out=spans[:, 1])
            # the dummy prefix is a space that is not in the text
            shift = 1 if self._dummy_prefix and len(ids) else 0
            if not len(ids) or int(spans[-1, 1]) == len(text) + shift:
                if shift:
                    spans[:, 1] -= shift
                np.subtract(spans[:, 1], chars, out=spans[:, 0])
                if shift:
                    np.maximum(spans, 0, out=spans)
                if bos >= 0:
                    ids = np.concatenate([np.array([bos], dtype=ids.dtype), ids])
                return Tokenized(text, self.name, ids, out, backend=self)
            # pieces that do not add up to the text (an <unk>): the engine's own offsets
        ids, spans = self._encode_with_offsets(text)
        if bos >= 0:
            ids = [bos, *ids]
            spans = np.concatenate([np.zeros((1, 2), dtype=np.int64), spans])
        return Tokenized(text, self.name, ids, clamp_spans(spans), backend=self)

    def count(self, text: str, add_special_tokens: bool = True) -> int:
        bos = self.sp.bos_id() if add_special_tokens else -1
        return len(self.sp.encode(text)) + (bos >= 0)

    def _encode_with_offsets(self, text: str) -> tuple[list[int], np.ndarray]:
        pieces = list(self.sp.encode(text, out_type="proto").pieces)
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
        arr = np.asarray(byte_spans, dtype=np.int64).reshape(-1, 2)
        return [p.id for p in pieces], byte_spans_to_char_spans(text, arr[:, 0], arr[:, 1])

    def _decode(self, ids: list[int]) -> str:
        return self.sp.decode(ids)

    def _explain_model(self, token_id: int) -> dict:
        score = float(self.sp.get_score(token_id))
        if self.model != "BPE" or self.is_special(token_id) or self._byte[token_id] is not None:
            return {"score": score}
        # SentencePiece BPE scores pieces by merge order (higher = earlier); replaying the
        # merges over the piece's characters finds the two pieces joined last.
        parts = list(self._pieces[token_id])
        while len(parts) > 2:
            best, best_score = -1, None
            for i in range(len(parts) - 1):
                pid = self.sp.piece_to_id(parts[i] + parts[i + 1])
                if pid == self.sp.unk_id():
                    continue
                s = self.sp.get_score(pid)
                if best_score is None or s > best_score:
                    best, best_score = i, s
            if best < 0:
                break
            parts[best : best + 2] = [parts[best] + parts[best + 1]]
        parents = []
        if len(parts) == 2:
            for part in parts:
                pid = self.sp.piece_to_id(part)
                parents.append(
                    {
                        "id": pid,
                        "piece": part,
                        "display": self.display(pid),
                        "rank": None,
                        "score": float(self.sp.get_score(pid)),
                    }
                )
        return {"score": score, "parents": parents}

    # -- many texts at once, for tokenlens.measure.stats (see backends/batch.py) ---------------------
    def encode_batch_ids(self, texts, num_threads=None) -> list[list[int]]:
        """sentencepiece's own threaded batch encoder (no BOS/EOS)."""
        from tokenlens.backends.batch import default_threads

        return self.sp.encode(list(texts), num_threads=num_threads or default_threads())

    def encode_batch_spans(self, texts, num_threads=None):
        # Piece lengths give exact byte spans when the model does not normalize; a text whose
        # pieces do not add up to its bytes (an <unk>, a literal ▁, a normalizing model) is
        # encoded again with offsets. Encoding with offsets for every text would be several
        # times slower.
        import numpy as np

        from tokenlens.backends.batch import BatchEncoding, joined_spans

        texts = list(texts)
        ids, counts = self._encode_batch_arrays(texts, num_threads)
        exact, dummy_prefix = self._surface_rules()
        raw = list(map(str.encode, texts))  # kept: measuring joins these bytes
        nbytes = np.fromiter(map(len, raw), dtype=np.int64, count=len(texts))
        # the ▁ put before every non-empty text stands for no byte of it: it sits on the
        # separator before the text
        lead = (nbytes > 0).astype(np.int64) if dummy_prefix else 0
        table = self._surface_lengths()
        if int(nbytes.sum()) + len(texts) < 2**31 - 1:  # spans of this batch fit in int32: half the memory traffic
            table = table.astype(np.int32, copy=False)
        starts, ends, got = joined_spans(table[ids], counts, nbytes, lead)
        redo = np.arange(len(texts)) if not exact else np.flatnonzero(got != nbytes + lead)
        if len(redo):
            first = np.cumsum(counts) - counts
            text_start = np.cumsum(nbytes + 1) - nbytes
            for i in redo:
                spans = self._proto_byte_spans(texts[int(i)])
                f, c = int(first[i]), int(counts[i])
                if len(spans) == c:
                    base = int(text_start[i])
                    starts[f : f + c] = [s + base for s, _ in spans]
                    ends[f : f + c] = [e + base for _, e in spans]
        return BatchEncoding(ids, counts, starts, ends, "byte", sizes=nbytes, joined=True, raw=raw)

    def _encode_batch_arrays(self, texts: list[str], num_threads=None):
        """(all ids, ids per text): numpy buffers straight from the engine where it can."""
        import numpy as np

        from tokenlens.backends.batch import default_threads, flatten

        threads = num_threads or default_threads()
        raw = self._raw_batch_encoder()
        if raw is not None:
            buffers = raw(texts, threads)
            counts = np.fromiter(map(len, map(memoryview, buffers)), dtype=np.int64, count=len(buffers))
            return np.frombuffer(b"".join(buffers), dtype=np.int32), counts
        try:
            arrays = self.sp.encode(texts, num_threads=threads, return_type="numpy")
        except (TypeError, ValueError):  # sentencepiece before 0.2.1: lists of ints
            return flatten(self.sp.encode(texts, num_threads=threads))
        counts = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        ids = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32)  # int32, as the engine gives them
        return ids, counts

    def _raw_batch_encoder(self):
        """The engine's batch encoder one level below ``encode(..., return_type="numpy")``: it
        hands back one int32 buffer per text, which ``encode`` wraps in a numpy array each (a
        Python call per text, ≈6% of the encode for short texts). Joined in one go instead.
        Used only where the installed sentencepiece has it and it gives the public call's
        ids on a probe; otherwise None (the public call is used)."""
        if self._raw is None:
            self._raw = False
            method = getattr(getattr(self.sp, "_processor", None), "_EncodeAsBufferBatch", None)
            if method is not None:
                sp = self.sp

                def raw(texts, threads):
                    # the argument order of sentencepiece 0.2.x's Encode for a batch
                    return method(
                        texts,
                        threads,
                        None,
                        sp._enable_sampling,
                        sp._nbest_size,
                        sp._alpha,
                        sp._add_bos,
                        sp._add_eos,
                        sp._reverse,
                    )

                probe = ["I love NLP", "", "ଓଡ଼ିଆ 🙂 中文 \t x"]
                try:
                    got = [np.frombuffer(b, dtype=np.int32).tolist() for b in raw(probe, 1)]
                    if got == self.sp.encode(probe):
                        self._raw = raw
                except Exception:
                    pass
        return self._raw or None

    def _surface_lengths(self):
        """UTF-8 length of each piece as it appears in text (0 for <unk> and control pieces:
        a text holding an <unk> then fails the length check and is encoded with offsets)."""
        return self._byte_lengths()

    def _surface_rules(self) -> tuple[bool, bool]:
        """(pieces spell the text unchanged, a ▁ is prepended to every text); read once."""
        return self._rules

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

        from tokenlens.backends.batch import TokenTable

        n = len(self._pieces)
        unknown = np.array([self.sp.is_unknown(i) for i in range(n)], dtype=bool)
        fallback = np.array([b is not None for b in self._byte], dtype=bool)
        partial = np.array([b is not None and b >= 0x80 for b in self._byte], dtype=bool)
        unk = self.sp.unk_id()
        return TokenTable(unknown, fallback, partial, self._pieces[unk] if 0 <= unk < n else None)
