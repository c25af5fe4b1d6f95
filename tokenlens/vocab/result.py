"""The result of a training run: the tokenizer, its merges with their frequencies, the fit, and
how a word is built. It displays as the training report and is stored beside the tokenizer
(``tokenlens_training.json``) so that it can be loaded again later."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenlens.core.limits import LIMITS
from tokenlens.errors import InputError
from tokenlens.views.display import ShownAsWidget
from tokenlens.vocab.merges import Merge, build_steps, initial_symbols
from tokenlens.vocab.options import _UNK, ALGORITHMS
from tokenlens.vocab.registry import TRAINING_FILE

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.vocab.train import Fit

TRAINING_FORMAT = 1


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("jupyterlab-tokenlens")
    except Exception:
        return "unknown"


@dataclass
class TrainingResult(ShownAsWidget):
    """A trained tokenizer and how it was made; displays as the training report.

    ``merges`` lists every merge in order with the pair's frequency at the moment it was merged;
    ``uses[id]`` is how often a token is used when the training words are split with every merge.
    The two differ on purpose: a token's id follows the order it was made in, not how often it
    ends up being used.
    """

    _widget_class = "tokenlens.views.train_report:TrainReportWidget"

    name: str
    #: the registry folder it was saved in (None: kept in memory only, ``save=False``)
    path: Path | None
    algorithm: str
    options: dict[str, Any]
    requested_vocab_size: int
    vocab_size: int
    alphabet_size: int
    special_tokens: list[str]
    merges: list[Merge]
    uses: list[int]
    corpus: dict[str, Any]
    fit: list[Fit] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)
    example_words: list[str] = field(default_factory=list)
    word: str = ""
    sample: list[dict] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    _tok: Any = field(default=None, repr=False, compare=False)
    _widget: Any = field(default=None, repr=False, compare=False)

    # -- loading -----------------------------------------------------------------------------
    @property
    def tokenizer(self):
        """The ``tokenizers.Tokenizer`` (loaded from the saved folder once)."""
        if self._tok is None:
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        return self._tok

    def load(self):
        """The tokenlens tokenizer, as ``tokenlens.load(name)`` gives it."""
        from tokenlens.core.api import load

        return load(self.name)

    @property
    def n_special(self) -> int:
        return len(self.special_tokens)

    # -- tokens --------------------------------------------------------------------------------
    def _vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab(with_added_tokens=False)

    def display(self, token_id: int) -> str:
        """How a token reads: bytes mapped back to text, ``▁`` shown as a space."""
        from tokenlens.backends.hf import HFBackend

        backend = getattr(self, "_display_backend", None)
        if backend is None:
            backend = HFBackend(self.name, self.tokenizer)
            self._display_backend = backend
        return backend.display(token_id)  # the engine's own display rule

    def token_bytes(self, token_id: int) -> bytes:
        """The text bytes a token stands for (markers such as ``##``, ``</w>``, ``▁`` resolved)."""
        from tokenlens.backends.tiktoken_backend import UNICODE_TO_BYTE

        piece = self.tokenizer.id_to_token(token_id) or ""
        if self.algorithm == "bpe":
            if all(c in UNICODE_TO_BYTE for c in piece):
                return bytes(UNICODE_TO_BYTE[c] for c in piece)
            return piece.encode("utf-8")  # a special token
        m = re.fullmatch(r"<0x([0-9A-Fa-f]{2})>", piece)
        if m and self.options.get("byte_fallback"):
            return bytes([int(m.group(1), 16)])
        prefix = self.options.get("continuing_subword_prefix")
        if prefix and piece.startswith(prefix) and token_id >= self.n_special:
            piece = piece[len(prefix) :]
        if piece.endswith("</w>") and self.options.get("algorithm") == "char-bpe" and len(piece) > 4:
            piece = piece[:-4]
        return piece.replace("\u2581", " ").encode("utf-8")

    def _merge_by_id(self) -> dict[int, Merge]:
        cache = getattr(self, "_by_id", None)
        if cache is None:
            cache = {}
            for m in self.merges:
                cache.setdefault(m.id, m)
            self._by_id = cache
        return cache

    def token_info(self, token_or_id: int | str) -> dict[str, Any]:
        """Id, merge rank, parents, frequency when merged, and uses of one token.

        >>> result.token_info("ieve")  # doctest: +SKIP
        {'id': 103, 'token': 'ieve', 'rank': 34, 'left': 'ie', 'right': 've', 'frequency': 812, 'uses': 97, ...}
        """
        vocab = self._vocab()
        if isinstance(token_or_id, str):
            token_id = vocab.get(token_or_id)
            if token_id is None:
                # also accept what the token reads as (" love" for "Ġlove")
                token_id = next((i for t, i in vocab.items() if self.display(i) == token_or_id), None)
            if token_id is None:
                raise InputError(f"{token_or_id!r} is not a token of {self.name}.")
        else:
            token_id = int(token_or_id)
            if not 0 <= token_id < self.vocab_size:
                raise InputError(f"{token_id} is outside {self.name}'s ids (0 to {self.vocab_size - 1}).")
        merge = self._merge_by_id().get(token_id)
        info: dict[str, Any] = {
            "id": token_id,
            "token": self.tokenizer.id_to_token(token_id),
            "display": self.display(token_id),
            "uses": self.uses[token_id] if token_id < len(self.uses) else 0,
            "special": token_id < self.n_special,
        }
        if merge is not None:
            info.update(rank=merge.rank, left=merge.left, right=merge.right, frequency=merge.frequency)
            # A merge's count is a bigram count, the n-gram model's own statistic, over the tokens of that step.
            info["bigram"] = (
                f"this pair was seen {merge.frequency:,} times: the bigram count of"
                f" ({self.display(merge.left_id)!r}, {self.display(merge.right_id)!r}) in the corpus at that step"
            )
        elif token_id >= self.n_special:
            info["kind"] = "alphabet" if self.algorithm != "unigram" else "piece"
        return info

    # -- how a word was built ------------------------------------------------------------------
    def build(self, text: str, limit: int | None = None) -> list[dict[str, Any]]:
        """How each pre-tokenized word of ``text`` (the first ``limit`` words) is built, merge by merge.

        For BPE (and the merges WordPiece grew its vocabulary with) one row per merge, from the
        characters (or bytes) to the final tokens. Unigram has no merges: it picks the most
        likely split, shown with each piece's log-probability.

        Each step of a word reads the whole word, so a word longer than
        ``LIMITS.report_word_chars`` is built from its start; its entry's ``"cut"`` is then the
        whole word's length (else 0). A word is split on its own, so the start of a word may end
        differently from the whole word near the cut.
        """
        tok = self.tokenizer
        vocab = self._vocab()
        out = []
        words = [self._cut(w) for w in self._words(text, limit)]
        if self.algorithm == "unigram":
            scores = {}
            spec = json.loads(tok.to_str())["model"]["vocab"]
            for i, (_piece, score) in enumerate(spec):
                scores[i] = score
            for piece, cut in words:
                ids = [t.id for t in tok.model.tokenize(piece)]
                out.append(
                    {
                        "word": self._surface(ids),
                        "start": ids,
                        "steps": [],
                        "final": ids,
                        "scores": [scores.get(i, 0.0) for i in ids],
                        "cut": cut,
                    }
                )
            return out
        ranks = self._merge_ranks()
        freq = {m.rank: m.frequency for m in self.merges}
        prefix = self.options.get("continuing_subword_prefix")
        suffix = "</w>" if self.options.get("algorithm") == "char-bpe" and self._has_suffix() else None
        for piece, cut in words:
            start = self._start_symbols(piece, vocab, prefix, suffix)
            steps = [
                {"rank": r, "left": a, "right": b, "id": new, "frequency": freq.get(r, 0), "symbols": syms}
                for r, a, b, new, syms in build_steps(start, ranks)
            ]
            final = [t.id for t in tok.model.tokenize(piece)]
            out.append({"word": self._surface(start), "start": start, "steps": steps, "final": final, "cut": cut})
        return out

    def _words(self, text: str, limit: int | None) -> list[str]:
        """The first ``limit`` pre-tokenized words of ``text`` (all without ``limit``).

        Only a prefix of the text is normalized and split, four times longer at each try, until
        it holds two words more than needed (the cut may change the last two: a word, and the
        spaces before it), so a long text costs what its first words cost.
        """
        tok = self.tokenizer
        size = 4096
        while True:
            whole = limit is None or size >= len(text)
            part = text if whole else text[:size]
            normalized = tok.normalizer.normalize_str(part) if tok.normalizer else part
            if tok.pre_tokenizer:
                words = [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(normalized)]
            else:
                words = [normalized] if normalized else []
            if whole or len(words) > limit + 2:
                return words[:limit]
            size *= 4

    def _cut(self, piece: str) -> tuple[str, int]:
        """``piece`` cut to ``LIMITS.report_word_chars`` (never inside a character's bytes), and
        its length when it was cut (else 0)."""
        from tokenlens.backends.tiktoken_backend import UNICODE_TO_BYTE

        keep = max(LIMITS.report_word_chars, 1)
        if len(piece) <= keep:
            return piece, 0
        if self.algorithm == "bpe" and all(c in UNICODE_TO_BYTE for c in piece[: keep + 1]):
            # byte-level: one character per byte; step back to the first byte of a character
            while keep > 1 and 0x80 <= UNICODE_TO_BYTE[piece[keep]] < 0xC0:
                keep -= 1
        return piece[:keep], len(piece)

    def _merge_ranks(self) -> dict[tuple[int, int], tuple[int, int]]:
        """``(left_id, right_id) -> (rank, new_id)`` of the merges (made once)."""
        cache = getattr(self, "_ranks", None)
        if cache is None:
            cache = {}
            for m in self.merges:
                cache.setdefault((m.left_id, m.right_id), (m.rank, m.id))
            self._ranks = cache
        return cache

    def _has_suffix(self) -> bool:
        return self.options.get("end_of_word_suffix") == "</w>"

    def _start_symbols(self, piece: str, vocab: dict[str, int], prefix, suffix) -> list[int]:
        """The symbols a word starts from; characters outside the alphabet become their bytes
        (byte fallback) or the unknown token, as the tokenizer would encode them."""
        out: list[int] = []
        last = len(piece) - 1
        for i, ch in enumerate(piece):
            ids = initial_symbols(ch, vocab, None, None)
            if ids:
                symbol = (prefix if (i and prefix) else "") + ch + (suffix if (i == last and suffix) else "")
                out.append(vocab.get(symbol, ids[0]))
            elif self.options.get("byte_fallback"):
                out.extend(vocab[f"<0x{b:02X}>"] for b in ch.encode("utf-8"))
            else:
                unk = _UNK.get(self.algorithm)
                if unk and unk in vocab:
                    out.append(vocab[unk])
        return out

    def _surface(self, ids: Sequence[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    # -- display -------------------------------------------------------------------------------
    def to_report(self) -> dict[str, Any]:
        """Everything the report widget shows, as JSON."""
        return {
            "name": self.name,
            "path": str(self.path),
            "algorithm": self.algorithm,
            "algorithm_label": ALGORITHMS.get(self.algorithm, self.algorithm),
            "options": self.options,
            "requested_vocab_size": self.requested_vocab_size,
            "vocab_size": self.vocab_size,
            "alphabet_size": self.alphabet_size,
            "special_tokens": self.special_tokens,
            # compact rows: [rank, left_id, right_id, id, frequency]
            "merges": [[m.rank, m.left_id, m.right_id, m.id, m.frequency] for m in self.merges],
            "displays": [self.display(i) for i in range(self.vocab_size)],
            "uses": list(self.uses[: self.vocab_size]),
            "corpus": self.corpus,
            "fit": [f.to_dict() for f in self.fit],
            "seconds": self.seconds,
            "memory": self.memory,
            "example_words": self.example_words,
            "sample": self.sample,
        }

    def __repr__(self) -> str:
        made = (
            f"{self.vocab_size - self.n_special:,} pieces"
            if self.algorithm == "unigram"
            else f"{self.alphabet_size} alphabet + {len(self.merges):,} merges"
        )
        lines = [
            f"TrainingResult({self.name!r}: {ALGORITHMS.get(self.algorithm, self.algorithm)}, "
            f"{self.vocab_size:,} tokens ({made} + {self.n_special} special), {f'saved in {self.path}' if self.path else 'not saved'})",
            f"  trained in {self.seconds.get('train', 0):.1f} s;"
            f" peak memory {self.memory.get('peak_rss', 0) / 2**20:.0f} MB",
        ]
        if self.corpus.get("seen"):
            lines.append(f"  {self.corpus['seen']}")
        for f in self.fit:
            lines.append(
                f"  {f.tokenizer}: {f.tokens:,} tokens, {f.chars_per_token:.2f} chars/token,"
                f" fertility {f.fertility:.2f}, continued words {f.continued_words:.0%}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from tokenlens.views.train_report import report_html

        return report_html(self)

    # -- storage -------------------------------------------------------------------------------
    def training_data(self) -> dict[str, Any]:
        """What goes into ``tokenlens_training.json`` beside the tokenizer."""
        return {
            "format": TRAINING_FORMAT,
            "name": self.name,
            "algorithm": self.algorithm,
            "options": self.options,
            "requested_vocab_size": self.requested_vocab_size,
            "vocab_size": self.vocab_size,
            "alphabet_size": self.alphabet_size,
            "special_tokens": self.special_tokens,
            # one entry per merge, in order; "frequency" is the pair's count when it was merged
            "merges": [m.to_dict() for m in self.merges],
            "uses": self.uses[: self.vocab_size],
            "corpus": self.corpus,
            "fit": [f.to_dict() for f in self.fit],
            "seconds": self.seconds,
            "memory": self.memory,
            "example_words": self.example_words,
            "word": self.word,
            "sample": self.sample,
            "versions": self.versions,
        }


def load_training(name_or_path: str | os.PathLike) -> TrainingResult:
    """The :class:`TrainingResult` of a tokenizer trained earlier (by name or folder)."""
    from tokenlens.core.resolve import registry_dir

    folder = Path(name_or_path)
    if not (folder / TRAINING_FILE).is_file():
        folder = registry_dir() / str(name_or_path)
    data_file = folder / TRAINING_FILE
    if not data_file.is_file():
        raise InputError(
            f"No training record for {name_or_path!r} ({data_file} is missing): only tokenizers"
            " trained with tokenlens keep one."
        )
    from tokenlens.vocab.train import Fit

    d = json.loads(data_file.read_text(encoding="utf-8"))
    return TrainingResult(
        name=d["name"],
        path=folder,
        algorithm=d["algorithm"],
        options=d["options"],
        requested_vocab_size=d["requested_vocab_size"],
        vocab_size=d["vocab_size"],
        alphabet_size=d["alphabet_size"],
        special_tokens=d["special_tokens"],
        merges=[Merge(**m) for m in d["merges"]],
        uses=d["uses"],
        corpus=d["corpus"],
        fit=[Fit(**f) for f in d.get("fit") or []],
        seconds=d.get("seconds") or {},
        memory=d.get("memory") or {},
        example_words=d.get("example_words") or [],
        word=d.get("word") or "",
        sample=d.get("sample") or [],
        versions=d.get("versions") or {},
    )


def example_words(result: TrainingResult, words: dict[str, int], limit: int = 12) -> list[str]:
    """Frequent words that take several merges to build (Unigram: several pieces): good first
    examples."""
    if result.algorithm == "unigram":
        model = result.tokenizer.model
        found: list[str] = []
        for word, _count in sorted(words.items(), key=lambda kv: -kv[1])[:5000]:
            if len(word) > LIMITS.report_word_chars:
                continue
            ids = [t.id for t in model.tokenize(word)]
            surface = result._surface(ids).strip()
            if len(surface) >= 3 and len(ids) >= 2 and surface not in found:
                found.append(surface)
                if len(found) >= limit:
                    break
        return found
    if not result.merges:
        return []
    ranks = result._merge_ranks()
    vocab = result._vocab()
    prefix = result.options.get("continuing_subword_prefix")
    suffix = "</w>" if result.options.get("algorithm") == "char-bpe" and result._has_suffix() else None
    out: list[str] = []
    for word, _count in sorted(words.items(), key=lambda kv: -kv[1])[:5000]:
        start = initial_symbols(word, vocab, prefix, suffix)
        surface = result._surface(start).strip()
        if len(surface) < 3 or len(start) > LIMITS.report_word_chars or surface in out:
            continue  # too short to show merges, or too long for the report to build whole
        if len(build_steps(start, ranks, max_steps=3)) >= 3:
            out.append(surface)
            if len(out) >= limit:
                break
    return out


__all__ = ["TRAINING_FORMAT", "TrainingResult", "example_words", "load_training"]
