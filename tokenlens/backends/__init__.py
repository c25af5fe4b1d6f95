"""One adapter per tokenizer engine behind :class:`Backend`; ``open_path`` picks the right one."""

from __future__ import annotations

import re
from pathlib import Path

from tokenlens.backends.base import Backend
from tokenlens.errors import TokenizerFileError

#: file names (or suffixes) that mark a folder as holding a tokenizer, in order of preference
TOKENIZER_FILES = ("tokenizer.json", "*.tiktoken", "tokenizer.model", "*.model", "vocab.json", "vocab.txt", "*.gguf")


def find_tokenizer_file(folder: Path) -> Path | None:
    """The file in ``folder`` that tokenlens would load, or None."""
    for pattern in TOKENIZER_FILES:
        hits = sorted(folder.glob(pattern))
        if pattern == "vocab.json" and hits and not (folder / "merges.txt").is_file():
            continue
        if hits:
            return hits[0]
    return None


def open_path(name: str, path: Path) -> Backend:
    """Load the tokenizer at ``path`` (a file or a folder holding one)."""
    path = Path(path)
    if path.is_dir():
        found = find_tokenizer_file(path)
        if found is None:
            listing = ", ".join(sorted(p.name for p in path.iterdir())[:10]) or "nothing"
            raise TokenizerFileError(
                f"The folder {path} holds no tokenizer file (it has: {listing}). A tokenizer"
                " folder holds one of: tokenizer.json, a *.tiktoken file, a SentencePiece"
                " *.model, vocab.json with merges.txt, or a WordPiece vocab.txt."
            )
        path = found
    if not path.is_file():
        raise TokenizerFileError(f"{path} does not exist.")
    suffix, fname = path.suffix.lower(), path.name.lower()
    if _OLLAMA_BLOB.match(path.name) and _starts_with_gguf(path):  # a blob's name has no suffix
        suffix = ".gguf"
    if fname.endswith(".tiktoken"):
        from tokenlens.backends.tiktoken_backend import TiktokenBackend

        return TiktokenBackend.from_file(name, path)
    if suffix == ".gguf":
        from tokenlens.backends.gguf_backend import GGUFBackend

        return GGUFBackend.from_file(name, path)
    if suffix == ".model":
        from tokenlens.backends.sentencepiece_backend import SentencePieceBackend

        return SentencePieceBackend(name, path)
    from tokenlens.backends.hf import HFBackend

    if suffix == ".json" and fname != "vocab.json":
        return HFBackend.from_tokenizer_json(name, path)
    if fname == "vocab.json":
        merges = path.parent / "merges.txt"
        if not merges.is_file():
            raise TokenizerFileError(
                f"{path} has no merges.txt beside it; a byte-level BPE needs both vocab.json"
                " and merges.txt (or a single tokenizer.json)."
            )
        return HFBackend.from_vocab_merges(name, path, merges)
    if fname == "merges.txt":
        vocab = path.parent / "vocab.json"
        if not vocab.is_file():
            raise TokenizerFileError(
                f"{path} has no vocab.json beside it; merges alone do not say which id each"
                " token has. Put the matching vocab.json in the same folder."
            )
        return HFBackend.from_vocab_merges(name, vocab, path)
    if suffix == ".txt":
        return HFBackend.from_wordpiece_vocab(name, path)
    raise TokenizerFileError(
        f"{path.name}: unknown tokenizer format. tokenlens reads tokenizer.json, *.tiktoken,"
        " SentencePiece *.model, vocab.json + merges.txt, WordPiece vocab.txt and GGUF model"
        " files (*.gguf)."
    )


#: the file name of a layer in the Ollama store; only these, besides *.gguf, may be GGUF files
_OLLAMA_BLOB = re.compile(r"^sha256-[0-9a-f]{64}$")


def _starts_with_gguf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


__all__ = ["TOKENIZER_FILES", "Backend", "find_tokenizer_file", "open_path"]
