"""A merge's pair count is a bigram count: the training report says so, and it is true."""

from __future__ import annotations

import json

from tokenizers import models

from tests.conftest import flores
from tokenlens.vocab.train import train_tokenizer

CORPUS = flores("eng_Latn")[:200]


def _bigram_count(tok, merges: list, left: int, right: int) -> int:
    """How often ``left`` is followed by ``right`` in the corpus split with only ``merges``."""
    vocab = json.loads(tok.to_str())["model"]["vocab"]
    bpe = models.BPE(vocab, [tuple(m) for m in merges])
    count = 0
    for line in CORPUS:
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(line):
            ids = [t.id for t in bpe.tokenize(word)]
            count += sum(1 for a, b in zip(ids, ids[1:]) if (a, b) == (left, right))
    return count


def test_each_merge_count_is_the_bigram_count_at_its_step():
    result = train_tokenizer(CORPUS, name="bigram-bpe", vocab_size=420, progress=False, save=False)
    merges = json.loads(result.tokenizer.to_str())["model"]["merges"]
    for m in result.merges[:: max(1, len(result.merges) // 25)]:
        assert m.frequency == _bigram_count(result.tokenizer, merges[: m.rank], m.left_id, m.right_id), m
        info = result.token_info(m.id)
        assert info["bigram"] == (
            f"this pair was seen {m.frequency:,} times: the bigram count of"
            f" ({result.display(m.left_id)!r}, {result.display(m.right_id)!r}) in the corpus at that step"
        )
