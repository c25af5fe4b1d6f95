"""A count-based n-gram language model over a tokenizer's ids, smoothed with interpolated
Kneser–Ney: what predicted the next token before attention, on the same ids a transformer reads.

Each text is its tokens (no special tokens) after ``n - 1`` start markers, so every token has a
full context. With discount ``D`` (0 < D < 1), for a context ``h`` and its shorter context ``h'``:

- highest order, raw counts:  P(w|h) = max(c(h w) − D, 0) / c(h·) + D · N(h·) / c(h·) · P(w|h')
- lower orders, continuation counts ``N(·h w)`` (how many distinct tokens came before ``h w``)
  in place of ``c(h w)``, by the same formula;
- below the unigram, the uniform distribution over the tokenizer's whole vocabulary, so every id
  has a probability and each distribution sums to 1. An unseen context passes straight down.

``N(h·)`` is the number of distinct tokens seen after ``h``.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tokenlens.core.api import TokenizerLike, check_text, load
from tokenlens.errors import InputError
from tokenlens.learn.predict import Generation, Position, Predictions, _check_new_tokens, _check_top_k

#: the context marker before a text's first token (no tokenizer id is negative)
START = -1
MAX_N = 6


class _Order:
    """One order's counts, grouped by context: followers' ids and counts, their total and types."""

    def __init__(self, grams: Counter):
        by_context: dict[tuple, dict[int, int]] = defaultdict(dict)
        for gram, count in grams.items():
            by_context[gram[:-1]][gram[-1]] = count
        self.counts = dict(by_context)
        self.total = {h: sum(f.values()) for h, f in self.counts.items()}
        self.arrays: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def followers(self, h: tuple) -> tuple[np.ndarray, np.ndarray]:
        if h not in self.arrays:  # made on first use: most contexts are never asked for whole
            f = self.counts[h]
            self.arrays[h] = (np.fromiter(f.keys(), np.int64, len(f)), np.fromiter(f.values(), np.float64, len(f)))
        return self.arrays[h]


class NGramLM:
    """An n-gram model trained by :func:`ngram_lm`; ``prob``, ``distribution``, ``perplexity``
    and ``next_tokens`` (a :class:`~tokenlens.learn.predict.Predictions`, as a transformer's)."""

    def __init__(self, backend, n: int, discount: float | None, sequences: list[list[int]]):
        self.backend = backend
        self.tokenizer = backend.name
        self.n = n
        self.discount = discount
        self.vocab_size = backend.vocab_size
        self.tokens_seen = sum(map(len, sequences))
        grams = Counter()
        for seq in sequences:
            padded = (START,) * (n - 1) + tuple(seq)
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
        # orders[k]: the counts of (k+1)-grams; the highest keeps raw counts, each lower one
        # counts the distinct tokens seen before it in the order above (its continuation count).
        orders = [_Order(grams)]
        for _ in range(n - 1):
            orders.insert(0, _Order(_continuations(orders[0])))
        self.orders = orders
        # Ney's estimate from each order's counts of ones and twos, unless a discount was given.
        self.discounts = [discount if discount is not None else _estimated_discount(o) for o in orders]
        self._special_mask: np.ndarray | None = None

    @property
    def name(self) -> str:
        return f"{_ORDER_NAMES.get(self.n, f'{self.n}-gram')} over {self.tokenizer}"

    def __repr__(self) -> str:
        return (
            f"NGramLM({self.name}: {self.tokens_seen} tokens seen, {len(self.orders[-1].counts)} contexts,"
            f" discounts {', '.join(f'{d:.2f}' for d in self.discounts)})"
        )

    def _context(self, history: Sequence[int]) -> tuple:
        padded = (START,) * (self.n - 1) + tuple(history)
        return padded[len(padded) - (self.n - 1) :] if self.n > 1 else ()

    def prob(self, token: int, history: Sequence[int] = ()) -> float:
        """P(token | the last n−1 ids of ``history``), start markers before a text's first token."""
        h = self._context(history)
        p = 1.0 / self.vocab_size
        for k, order in enumerate(self.orders):  # from the unigram up, each interpolating the one below
            ctx = h[len(h) - k :] if k else ()
            total = order.total.get(ctx)
            if not total:
                continue  # an unseen context passes the lower order's probability on
            f, d = order.counts[ctx], self.discounts[k]
            p = (max(f.get(token, 0) - d, 0.0) + d * len(f) * p) / total
        return p

    def distribution(self, history: Sequence[int] = ()) -> np.ndarray:
        """The probability of every id of the vocabulary after ``history`` (sums to 1)."""
        h = self._context(history)
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for k, order in enumerate(self.orders):
            ctx = h[len(h) - k :] if k else ()
            total = order.total.get(ctx)
            if not total:
                continue
            ids, counts = order.followers(ctx)
            d = self.discounts[k]
            p *= d * len(ids) / total
            p[ids] += np.maximum(counts - d, 0.0) / total
        return p

    def _sequences(self, texts: Any) -> list[list[int]]:
        return [self.backend.encode(t, add_special_tokens=False).ids for t in _texts(texts)]

    def log_likelihood(self, texts: Any) -> tuple[float, int]:
        """(sum of natural-log probabilities of every token of ``texts``, number of tokens)."""
        total, count = 0.0, 0
        for seq in self._sequences(texts):
            for i, token in enumerate(seq):
                total += math.log(self.prob(token, seq[max(0, i - self.n + 1) : i]))
            count += len(seq)
        return total, count

    def perplexity(self, texts: Any) -> float:
        """exp of the mean negative log-probability per token of ``texts`` (a string or strings)."""
        total, count = self.log_likelihood(texts)
        if not count:
            raise InputError("The texts give no tokens: perplexity needs at least one token to score.")
        return math.exp(-total / count)

    def next_tokens(self, text: str, top_k: int = 5) -> Predictions:
        """After each token of ``text``, the ``top_k`` most likely next ids with their
        probabilities, in the shape :func:`tokenlens.next_tokens` gives for a transformer."""
        text = check_text(text)
        top_k = _check_top_k(top_k)
        if not text:
            raise InputError("The text is empty: write a few words for the model to continue.")
        enc = self.backend.encode(text, add_special_tokens=False)
        seq = list(enc.ids)
        if not seq:
            raise InputError("The text gives no tokens: nothing to predict from.")
        spans = [tuple(map(int, s)) for s in np.asarray(enc.spans).reshape(-1, 2)]
        out = Predictions(text, self.name, top_k=top_k, generator=self.generate)
        for i, token in enumerate(seq):
            p = self.distribution(seq[max(0, i - self.n + 2) : i + 1])
            best = np.argsort(-p, kind="stable")[:top_k]
            top = [(int(t), self.backend.display(int(t)), float(p[t])) for t in best]
            actual = rank = None
            if i + 1 < len(seq):
                actual = float(p[seq[i + 1]])
                rank = int((p > actual).sum()) + 1
            out.positions.append(
                Position(i, token, enc.tokens[i], top, actual, rank, spans[i] if i < len(spans) else None)
            )
        return out

    def _special(self) -> np.ndarray:
        """A mask of the vocabulary's special ids: no text the model counted held one."""
        if self._special_mask is None:
            self._special_mask = np.array(self.backend.special_flags(range(self.vocab_size)), dtype=bool)
        return self._special_mask

    def generate(
        self,
        prompt: str,
        max_new_tokens: int = 20,
        greedy: bool = True,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> Generation:
        """Continue ``prompt`` one token at a time, as :func:`tokenlens.generate` does for a
        transformer: greedy takes the most likely next id after the last ``n − 1`` ids, else one
        is drawn (``temperature``, ``seed``); each step keeps its id, how it reads, its
        probability and the continuation decoded through the tokenizer so far. Special ids, which
        no counted text held, are never chosen; an empty prompt continues from a text's start."""
        prompt = check_text(prompt)
        max_new_tokens = _check_new_tokens(max_new_tokens)
        if not isinstance(greedy, bool):
            raise InputError(f"greedy must be True or False, not {greedy!r}.")
        if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not temperature > 0:
            raise InputError(
                f"temperature must be a number above 0 (1 keeps the model's probabilities), not {temperature!r}."
            )
        history = list(self.backend.encode(prompt, add_special_tokens=False).ids)
        rng = np.random.default_rng(seed)
        special = self._special()
        steps: list[dict] = []
        chosen: list[int] = []
        for _ in range(max_new_tokens):
            p = self.distribution(history[-(self.n - 1) :] if self.n > 1 else [])
            if temperature != 1:  # p ** (1/T), in logs so that a small T does not underflow to 0
                p = np.exp((np.log(p) - np.log(p.max())) / temperature)
                p /= p.sum()
            allowed = np.where(special, 0.0, p)
            if greedy:
                nxt = int(np.argmax(allowed))  # the first of equals, as argsort in next_tokens
            else:
                nxt = int(rng.choice(self.vocab_size, p=allowed / allowed.sum()))
            chosen.append(nxt)
            history.append(nxt)
            so_far = self.backend.decode(chosen)
            complete = so_far.rstrip("\ufffd")  # a character whose bytes have not all come yet
            steps.append(
                {
                    "id": nxt,
                    "token": self.backend.display(nxt),
                    "prob": float(p[nxt]),
                    "text": complete,
                    "pending": len(so_far) > len(complete),
                }
            )
        text = self.backend.decode(chosen)
        again = functools.partial(self.generate, temperature=temperature)
        return Generation(prompt, text, steps, self.name, greedy, "length", generator=again)


_ORDER_NAMES = {1: "unigram", 2: "bigram", 3: "trigram"}


def _continuations(order: _Order) -> Counter:
    """The continuation counts of the order below: each distinct n-gram adds one to its suffix."""
    out: Counter = Counter()
    for h, followers in order.counts.items():
        for w in followers:
            out[h[1:] + (w,)] += 1
    return out


def _estimated_discount(order: _Order) -> float:
    """D = n1 / (n1 + 2 n2), n1 and n2 the n-grams counted once and twice, kept within [0.1, 0.95]."""
    tally = Counter(c for f in order.counts.values() for c in f.values() if c <= 2)
    n1, n2 = tally[1], tally[2]
    return min(max(n1 / (n1 + 2 * n2), 0.1), 0.95) if n1 + n2 else 0.75


def _texts(texts: Any) -> Iterator[str]:
    """Each text, read by the one loader every other call uses (``tokenlens.sources``): a string,
    strings, a Series or column, or a ``Path`` (a file's lines, a folder's files, a glob)."""
    from tokenlens.sources import as_texts

    for t in as_texts(texts):
        yield check_text(t)


def ngram_lm(texts: Any, tokenizer: TokenizerLike = "gpt2", n: int = 3, *, discount: float | None = None) -> NGramLM:
    """Count the n-grams of ``tokenizer``'s ids in ``texts`` (a string or strings, one per line
    or document, or a ``Path``: a text file's lines, a folder's files) and return an interpolated Kneser–Ney model of order ``n`` (1 = unigram).
    ``discount``: one D for every order; by default each order's is estimated from its counts."""
    from tokenlens.core.limits import LIMITS, raise_hint

    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N:
        raise InputError(f"n must be a whole number from 1 to {MAX_N}, not {n!r}.")
    if discount is not None and (
        isinstance(discount, bool) or not isinstance(discount, int | float) or not 0 < discount < 1
    ):
        raise InputError(f"discount must be a number between 0 and 1 (0.75 is usual), not {discount!r}.")
    backend = load(tokenizer)
    sequences, tokens = [], 0
    for t in _texts(texts):
        seq = backend.encode(t, add_special_tokens=False).ids
        tokens += len(seq)
        if tokens > LIMITS.ngram_tokens:
            raise InputError(
                f"The texts give more than {LIMITS.ngram_tokens:,} tokens, more than an n-gram model"
                f" counts in memory here; train on fewer texts. {raise_hint('ngram_tokens')}"
            )
        sequences.append(list(seq))
    if not tokens:
        raise InputError("The texts give no tokens: give the model some text to count.")
    return NGramLM(backend, n, None if discount is None else float(discount), sequences)


__all__ = ["NGramLM", "ngram_lm"]
