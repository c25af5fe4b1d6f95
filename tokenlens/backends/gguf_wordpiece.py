"""WordPiece GGUF vocabularies (``tokenizer.ggml.model = "bert"``), read as llama.cpp reads them.

llama.cpp's converter writes a BERT vocabulary with a ``▁`` before every piece that begins a word
and the ``##`` taken off every piece that continues one. Its tokenizer (``llm_tokenizer_wpm`` in
src/llama-vocab.cpp) lowercases and strips accents unless the file says otherwise, splits at
whitespace, punctuation, ASCII symbols and CJK characters, drops control characters, and takes the
longest piece of the vocabulary at each position; a word that cannot be covered becomes the unknown
token. That is BERT's normaliser, pre-tokenizer and WordPiece model in ``tokenizers``, given the
vocabulary with its original spelling back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenlens.backends.gguf_backend import GGUFTokenizer

#: llama.cpp's ids for a BERT vocabulary whose file names none (``llama_vocab::load``)
DEFAULT_IDS = {"bos": 101, "unk": 100, "sep": 102}
_WORD_START = "\u2581"


def wordpiece_vocab(info: GGUFTokenizer) -> dict[str, int]:
    """The vocabulary in BERT's own spelling: ``▁the`` as ``the``, a continuing ``ing`` as ``##ing``.

    Control tokens ([CLS], [SEP]) keep their spelling; a spelling met twice keeps its first id,
    as elsewhere in the GGUF reader.
    """
    from tokenlens.backends.gguf_backend import CONTROL

    vocab: dict[str, int] = {}
    for i, piece in enumerate(info.tokens):
        if info.type_of(i) == CONTROL:
            spelled = piece
        elif piece.startswith(_WORD_START):
            spelled = piece[len(_WORD_START) :]
        else:
            spelled = "##" + piece
        if spelled:
            vocab.setdefault(spelled, i)
    return vocab


def special_id(info: GGUFTokenizer, which: str) -> int | None:
    """The file's bos / unk / sep id, else llama.cpp's default where the vocabulary has it."""
    given = {"bos": info.bos_id, "unk": info.unk_id, "sep": info.sep_id}[which]
    if given is not None:
        return given
    default = DEFAULT_IDS[which]
    return default if default < len(info.tokens) else None


def build_wordpiece(info: GGUFTokenizer):
    """The ``tokenizers.Tokenizer`` (without special tokens) and its vocabulary, for a ``bert`` file."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    from tokenlens.errors import TokenizerFileError

    vocab = wordpiece_vocab(info)
    unk = info.token(special_id(info, "unk"))
    if unk is None or unk not in vocab:
        raise TokenizerFileError(
            f"{info.path}: this WordPiece (bert) vocabulary has no unknown token (tokenizer.ggml."
            "unknown_token_id, or id 100), which llama.cpp gives a word it cannot cover. Export it again"
            " with llama.cpp's converter."
        )
    # llama.cpp has no longest-word limit; the engine's default (100 characters) would give [UNK]
    model = models.WordPiece(vocab, unk_token=unk, max_input_chars_per_word=1 << 30)
    tok = Tokenizer(model)
    lowercase = True if info.lowercase is None else info.lowercase
    strip = lowercase if info.strip_accents is None else info.strip_accents
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok, vocab


__all__ = ["DEFAULT_IDS", "build_wordpiece", "special_id", "wordpiece_vocab"]
