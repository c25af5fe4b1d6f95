"""The merge table of a trained BPE (or WordPiece) vocabulary, with the frequency of each pair at
the moment it was merged.

The ``tokenizers`` trainers keep the order of the merges but not how often each pair occurred
when it was chosen, so we count it ourselves: start from the words of the corpus (as the trainer
counted them, after normalising and pre-tokenising), split each into its alphabet symbols, and
replay the merges in order. Pair counts are kept up to date incrementally, touching only the words
that hold the merged pair (the way fast trainers do it), so thousands of merges over a corpus of
tens of thousands of distinct words take seconds, not hours.

:func:`count_pairs_naive` is the textbook version (count every pair again after every merge), kept
to check the fast one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Pair = tuple[int, int]


@dataclass(frozen=True)
class Merge:
    """One merge: ``left`` + ``right`` became ``token`` (with id ``id``) as the ``rank``-th merge."""

    rank: int
    left: str
    right: str
    token: str
    id: int
    left_id: int
    right_id: int
    #: how often the pair stood side by side in the corpus just before this merge
    frequency: int

    def to_dict(self) -> dict:
        # by hand: dataclasses.asdict deep-copies and is slow for thousands of merges
        return {
            "rank": self.rank,
            "left": self.left,
            "right": self.right,
            "token": self.token,
            "id": self.id,
            "left_id": self.left_id,
            "right_id": self.right_id,
            "frequency": self.frequency,
        }


@dataclass
class Replay:
    """The result of replaying the merges over the corpus words."""

    merges: list[Merge]
    #: for each token id, how often it is used when the training words are split with every merge
    uses: list[int]
    #: the words the trainer counted, with their counts
    n_words: int
    n_word_occurrences: int


def initial_symbols(
    word: str,
    vocab: Mapping[str, int],
    prefix: str | None = None,
    suffix: str | None = None,
) -> list[int]:
    """The alphabet ids a word starts as, the way the ``tokenizers`` BPE trainer splits it.

    Characters outside the alphabet are left out (the trainer drops them too, e.g. after
    ``limit_alphabet``); characters after the first carry ``prefix`` and the last one ``suffix``.
    """
    out = []
    last = len(word) - 1
    for i, ch in enumerate(word):
        if ch not in vocab:
            continue
        symbol = ch
        if i > 0 and prefix:
            symbol = prefix + symbol
        if i == last and suffix:
            symbol = symbol + suffix
        token_id = vocab.get(symbol)
        if token_id is not None:
            out.append(token_id)
    return out


def merge_pair(seq: Sequence[int], left: int, right: int, new: int) -> list[int]:
    """``seq`` with every occurrence of ``(left, right)`` replaced by ``new``, left to right."""
    out: list[int] = []
    i, n = 0, len(seq)
    while i < n:
        if i + 1 < n and seq[i] == left and seq[i + 1] == right:
            out.append(new)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out


class _PairCounts:
    """Pair counts over weighted words, updated word by word as merges are applied."""

    def __init__(self, seqs: list[list[int]], counts: list[int]):
        self.seqs = seqs
        self.counts = counts
        self.pairs: dict[Pair, int] = defaultdict(int)
        # words that held a pair at some point; stale entries are harmless (merging is a no-op)
        self.where: dict[Pair, set[int]] = defaultdict(set)
        pairs, where = self.pairs, self.where
        for wi, seq in enumerate(seqs):
            c = counts[wi]
            for p in zip(seq, seq[1:]):
                pairs[p] += c
                where[p].add(wi)

    def get(self, pair: Pair) -> int:
        return self.pairs.get(pair, 0)

    def apply(self, left: int, right: int, new: int) -> None:
        """Merge ``(left, right)`` into ``new`` in every word that holds it.

        Only the pairs next to each merge change: ``(prev, left)`` becomes ``(prev, new)`` and
        ``(right, next)`` becomes ``(new, next)``, weighted by the word's count. Walking left to
        right, a merge right after another sees the new token as its ``prev``, so runs such as
        ``a b a b`` come out right. Occurrences are found with ``list.index`` (C speed), so a word
        costs little more than its merges.
        """
        pairs, where, seqs, counts = self.pairs, self.where, self.seqs, self.counts
        for wi in where.pop((left, right), ()):
            seq = seqs[wi]
            try:
                i = seq.index(left)
            except ValueError:  # a stale entry: the word lost the pair to an earlier merge
                continue
            n = len(seq)
            c = counts[wi]
            out: list[int] = []
            start = 0
            while True:
                if i + 1 < n and seq[i + 1] == right:
                    if i > 0:
                        prev = new if i == start and out else seq[i - 1]
                        pairs[(prev, left)] -= c
                        pairs[(prev, new)] += c
                        where[(prev, new)].add(wi)
                    if i + 2 < n:
                        nxt = seq[i + 2]
                        pairs[(right, nxt)] -= c
                        pairs[(new, nxt)] += c
                        where[(new, nxt)].add(wi)
                    out.extend(seq[start:i])
                    out.append(new)
                    start = i + 2
                    nxt_from = start
                else:
                    nxt_from = i + 1
                try:
                    i = seq.index(left, nxt_from)
                except ValueError:
                    break
            if out:
                out.extend(seq[start:])
                seqs[wi] = out
        pairs.pop((left, right), None)


def _words_as_symbols(
    words: Mapping[str, int], vocab: Mapping[str, int], prefix: str | None, suffix: str | None
) -> tuple[list[list[int]], list[int]]:
    seqs, counts = [], []
    for word, count in words.items():
        seq = initial_symbols(word, vocab, prefix, suffix)
        if seq:
            seqs.append(seq)
            counts.append(int(count))
    return seqs, counts


def _uses(seqs: list[list[int]], counts: list[int], size: int) -> list[int]:
    uses = [0] * size
    for seq, c in zip(seqs, counts):
        for t in seq:
            if t < size:
                uses[t] += c
    return uses


def _merge_triples(
    merges: Iterable[tuple[str, str]], vocab: Mapping[str, int], prefix: str | None
) -> list[tuple[int, str, str, str, int, int, int]]:
    """``(rank, left, right, token, left_id, right_id, new_id)`` for each merge that has a token."""
    out = []
    for rank, (a, b) in enumerate(merges):
        token = a + (b[len(prefix) :] if prefix and b.startswith(prefix) else b)
        new = vocab.get(token)
        if new is None:  # a vocabulary cut after training: the merge has no token any more
            continue
        out.append((rank, a, b, token, vocab[a], vocab[b], new))
    return out


def replay_merges(
    words: Mapping[str, int],
    merges: Iterable[tuple[str, str]],
    vocab: Mapping[str, int],
    prefix: str | None = None,
    suffix: str | None = None,
    model=None,
) -> Replay:
    """Frequencies of ``merges`` (pairs of token strings, in rank order) over ``words``.

    With ``model`` (the trained ``tokenizers`` BPE model) the words are split by the model itself
    and the counts are read off the merge trees (:func:`_counts_from_trees`), which takes a
    fraction of a second for tens of thousands of words. Otherwise, or when two merges made the
    same token, the merges are replayed one by one over the words (:class:`_PairCounts`).
    """
    triples = _merge_triples(merges, vocab, prefix)
    size = max(vocab.values(), default=-1) + 1
    if model is not None and len({t[6] for t in triples}) == len(triples):
        return _counts_from_trees(words, triples, vocab, model, size)
    seqs, counts = _words_as_symbols(words, vocab, prefix, suffix)
    state = _PairCounts(seqs, counts)
    out: list[Merge] = []
    for rank, a, b, token, left, right, new in triples:
        out.append(Merge(rank, a, b, token, new, left, right, state.get((left, right))))
        state.apply(left, right, new)
    return Replay(out, _uses(state.seqs, counts, size), len(seqs), sum(counts))


def _counts_from_trees(words, triples, vocab, model, size: int) -> Replay:
    """Merge frequencies from the final split of each word.

    Every time a merge is applied inside a word it makes a node of that word's merge trees, and
    nodes are never undone; so the times merge ``r`` was applied is the number of ``r`` nodes in
    the trees of all final tokens. Splitting the words with the model (Rust) and pushing the
    final token counts down the trees, from the last merge to the first, gives every count in one
    pass. When ``left != right`` each occurrence of the pair is merged, so applications equal the
    pair's frequency; for ``a + a`` a run of three or more ``a`` holds more pairs than merges, so
    those words are split back to the moment of the merge and counted exactly.
    """
    made_by: dict[int, int] = {}  # token id -> index into triples
    for k, t in enumerate(triples):
        made_by[t[6]] = k
    uses = [0] * size
    # for each token, the a + a merges inside its tree (only tokens that have some are kept)
    same: dict[int, tuple[int, ...]] = {}
    for k, t in enumerate(triples):  # in rank order, so both parents are done before the child
        inner = same.get(t[4], ()) + same.get(t[5], ()) + ((k,) if t[4] == t[5] else ())
        if inner:
            same[t[6]] = inner

    n_words = n_occ = 0
    in_vocab = vocab.__contains__
    corrections = [0] * len(triples)
    tokenize = model.tokenize
    for word, count in words.items():
        if not all(map(in_vocab, word)):  # the trainer drops characters outside the alphabet
            word = "".join(ch for ch in word if ch in vocab)
            if not word:
                continue
        count = int(count)
        ids = [t.id for t in tokenize(word)]
        n_words += 1
        n_occ += count
        for i in ids:
            uses[i] += count
        if same:
            marks = {k for i in ids if i in same for k in same[i]}
            for k in marks:
                corrections[k] += count * _run_excess(ids, k, triples, made_by)
    total = list(uses)
    out: list[Merge] = [None] * len(triples)  # type: ignore[list-item]
    for k in range(len(triples) - 1, -1, -1):
        rank, a, b, token, left, right, new = triples[k]
        applied = total[new]
        total[left] += applied
        total[right] += applied
        out[k] = Merge(rank, a, b, token, new, left, right, applied + corrections[k])
    return Replay(out, uses, n_words, n_occ)


def _run_excess(ids: list[int], k: int, triples, made_by: dict[int, int]) -> int:
    """For merge ``k`` = ``a + a``: pairs ``(a, a)`` in the word just before it, minus merges."""
    a = triples[k][4]
    new = triples[k][6]

    def before(tok: int) -> list[int]:
        j = made_by.get(tok)
        if j is None or j < k:
            return [tok]
        t = triples[j]
        return before(t[4]) + before(t[5])

    seq: list[int] = []
    for i in ids:
        seq.extend(before(i))
    pairs = sum(1 for x, y in zip(seq, seq[1:]) if x == a and y == a)
    merged = len(merge_pair(seq, a, a, new))
    return pairs - (len(seq) - merged)


def replay_wordpiece(
    words: Mapping[str, int],
    vocab: Mapping[str, int],
    first_merged_id: int,
    prefix: str = "##",
) -> Replay:
    """Like :func:`replay_merges` for a WordPiece vocabulary, which keeps no merge list.

    Its tokens from ``first_merged_id`` on were made by merges in id order; for each we find the
    pair that made it: of the ways to split it into two tokens that exist already, the one that
    occurs most often now (ties go to the smaller ids, as in the trainer).
    """
    id_to_token = {i: t for t, i in vocab.items()}
    seqs, counts = _words_as_symbols(words, vocab, prefix if prefix else None, None)
    state = _PairCounts(seqs, counts)
    out: list[Merge] = []
    for new in range(first_merged_id, max(vocab.values()) + 1):
        token = id_to_token.get(new)
        if token is None:
            continue
        cont = bool(prefix) and token.startswith(prefix)
        core = token[len(prefix) :] if cont else token
        best: tuple[int, int, int] | None = None
        for cut in range(1, len(core)):
            a = (prefix + core[:cut]) if cont else core[:cut]
            b = prefix + core[cut:]
            ia, ib = vocab.get(a), vocab.get(b)
            if ia is None or ib is None or ia >= new or ib >= new:
                continue
            f = state.get((ia, ib))
            if best is None or f > best[0] or (f == best[0] and (ia, ib) < (best[1], best[2])):
                best = (f, ia, ib)
        if best is None:
            continue
        f, ia, ib = best
        out.append(Merge(len(out), id_to_token[ia], id_to_token[ib], token, new, ia, ib, f))
        state.apply(ia, ib, new)
    return Replay(out, _uses(state.seqs, counts, max(vocab.values(), default=-1) + 1), len(seqs), sum(counts))


def count_pairs_naive(
    words: Mapping[str, int],
    merges: Sequence[tuple[int, int, int]],
    vocab: Mapping[str, int],
    prefix: str | None = None,
    suffix: str | None = None,
) -> list[int]:
    """The textbook way: before each merge, count every adjacent pair of every word again.

    ``merges`` are ``(left_id, right_id, new_id)``. Slow (merges × corpus); for checking.
    """
    seqs, counts = _words_as_symbols(words, vocab, prefix, suffix)
    out = []
    for left, right, new in merges:
        stats: dict[Pair, int] = defaultdict(int)
        for seq, c in zip(seqs, counts):
            for p in zip(seq, seq[1:]):
                stats[p] += c
        out.append(stats.get((left, right), 0))
        seqs = [merge_pair(s, left, right, new) for s in seqs]
    return out


def build_steps(
    symbols: list[int], ranks: Mapping[Pair, tuple[int, int]], max_steps: int | None = None
) -> list[tuple[int, int, int, int, list[int]]]:
    """How a word is built: apply the lowest-ranked mergeable pair until none is left.

    ``ranks`` maps ``(left_id, right_id)`` to ``(rank, new_id)``. Returns one step per merge:
    ``(rank, left_id, right_id, new_id, symbols_after)``. This is how a BPE tokenizer encodes a
    word, so the last step's symbols are the word's tokens. Each step reads the whole word, so a
    caller that needs only the first few passes ``max_steps``: the work is then linear in the word.
    """
    steps = []
    seq = list(symbols)
    while len(seq) > 1 and (max_steps is None or len(steps) < max_steps):
        best = None
        for p in zip(seq, seq[1:]):
            hit = ranks.get(p)
            if hit is not None and (best is None or hit[0] < best[1][0]):
                best = (p, hit)
        if best is None:
            break
        (left, right), (rank, new) = best
        seq = merge_pair(seq, left, right, new)
        steps.append((rank, left, right, new, list(seq)))
    return steps


__all__ = [
    "Merge",
    "Replay",
    "build_steps",
    "count_pairs_naive",
    "initial_symbols",
    "merge_pair",
    "replay_merges",
    "replay_wordpiece",
]
