"""What a pipeline stage changed in the text, as runs in order: unchanged (``{"same": ...}``) or
changed (``{"was": ..., "now": ...}``, either may be empty). Joined, the runs spell the text
after the stage (``same`` + ``now``) and the text before it (``same`` + ``was``).

The normaliser's runs are read off the alignments the tokenizers engine keeps while it
rewrites the text; the decoder has no such alignments, so its runs come from a word diff that
looks ahead a bounded number of words. Both are linear in the text, where difflib's
SequenceMatcher was cubic on long texts with many small changes."""

from __future__ import annotations

import difflib

import numpy as np
import regex

#: words (letters, digits and their combining marks), runs of whitespace, or one grapheme; the
#: scripts written without spaces go a grapheme at a time, as they have no words to find
_WORDS = regex.compile(
    r"(?V1)[[\w\p{M}]--[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]]+|\s+|\X"
)
#: how many words the decoder diff looks ahead for the next word both texts share
WINDOW = 32
#: a changed stretch's middle at most this long (both sides) is matched character by character
REFINE_CHARS = 64


class _Runs:
    """Collects runs, joining neighbours of the same kind (parts are joined once, at the end)."""

    def __init__(self) -> None:
        self._runs: list[tuple[list[str], list[str]] | list[str]] = []

    def same(self, text: str) -> None:
        if not text:
            return
        if self._runs and isinstance(self._runs[-1], list):
            self._runs[-1].append(text)
        else:
            self._runs.append([text])

    def change(self, was: str, now: str) -> None:
        if not was and not now:
            return
        if not self._runs or isinstance(self._runs[-1], list):
            self._runs.append(([], []))
        self._runs[-1][0].append(was)
        self._runs[-1][1].append(now)

    def refined(self, was: str, now: str) -> None:
        """A changed stretch, with what both sides share kept as the same: first the start and
        end they share (so "Aa" → "aa" marks "A" → "a", where a character matcher pairs letters
        by value and reports the capital dropped and an "a" added), then, in a short middle, the
        characters a matcher finds (so "Tokenizers" → "tokenizers " marks "T" and the space)."""
        n = min(len(was), len(now))
        p = 0
        while p < n and was[p] == now[p]:
            p += 1
        s = 0
        while s < n - p and was[-1 - s] == now[-1 - s]:
            s += 1
        self.same(was[:p])
        mid_was, mid_now = was[p : len(was) - s], now[p : len(now) - s]
        if mid_was and mid_now and len(mid_was) + len(mid_now) <= REFINE_CHARS:
            matcher = difflib.SequenceMatcher(None, mid_was, mid_now, autojunk=False)
            for op, a0, a1, b0, b1 in matcher.get_opcodes():
                if op == "equal":
                    self.same(mid_now[b0:b1])
                else:
                    self.change(mid_was[a0:a1], mid_now[b0:b1])
        else:
            self.change(mid_was, mid_now)
        self.same(was[len(was) - s :])

    def segments(self) -> list[dict[str, str]]:
        return [
            {"same": "".join(r)} if isinstance(r, list) else {"was": "".join(r[0]), "now": "".join(r[1])}
            for r in self._runs
        ]


def normalizer_segments(normalizer, text: str) -> list[dict[str, str]]:
    """The runs of what a ``tokenizers`` normaliser changed in ``text``, from the original
    characters the engine records for each normalised character."""
    from tokenizers import PreTokenizedString, Regex, pre_tokenizers

    split = PreTokenizedString(text)
    split.normalize(normalizer.normalize)
    # One split per normalised character, so each gets its own original span (cut in the engine:
    # slicing from Python costs a walk from the start per slice).
    pre_tokenizers.Split(Regex(r"[\s\S]"), "isolated").pre_tokenize(split)
    splits = split.get_splits("original", "char")
    if not splits:
        return [{"was": text, "now": ""}] if text else []
    now = "".join(s[0] for s in splits)
    spans = np.array([s[1] for s in splits], dtype=np.int64)
    a, b = spans[:, 0], spans[:, 1]
    # Normalised characters from the same original characters (ﬁ → f, i; 中 → " 中 ") form one unit.
    reach = np.maximum.accumulate(b)
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] >= reach[:-1]) & ((a[1:] != a[:-1]) | (b[1:] != b[:-1]))
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(a))
    unit_a, unit_b = a[starts], reach[ends - 1]
    # A unit of one character kept as it was joins the kept unit right before it: the Python loop
    # below then walks the changes and the kept stretches, not every character.
    kept = (ends - starts == 1) & (unit_b - unit_a == 1)
    text_codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    now_codes = np.frombuffer(now.encode("utf-32-le"), dtype=np.uint32)
    kept[kept] = text_codes[unit_a[kept]] == now_codes[starts[kept]]
    joins = np.zeros(len(starts), dtype=bool)
    joins[1:] = kept[1:] & kept[:-1] & (unit_a[1:] == unit_b[:-1])
    heads = np.flatnonzero(~joins)
    lasts = np.append(heads[1:], len(starts)) - 1
    runs = _Runs()
    pos = 0
    for is_kept, ua, ub, s0, s1 in zip(
        kept[heads].tolist(),
        unit_a[heads].tolist(),
        unit_b[lasts].tolist(),
        starts[heads].tolist(),
        ends[heads].tolist(),
    ):
        ua = max(ua, pos)
        runs.change(text[pos:ua], "")  # characters the normaliser dropped
        if is_kept:
            runs.same(text[ua:ub])
        else:
            was, unit_now = text[ua:ub], now[s0:s1]
            at = unit_now.find(was) if was else -1
            if at >= 0:  # kept, with characters put around it (BERT's spaces around CJK, a prefix ▁)
                runs.change("", unit_now[:at])
                runs.same(was)
                runs.change("", unit_now[at + len(was) :])
            else:
                runs.refined(was, unit_now)
        pos = max(pos, ub)
    runs.change(text[pos:], "")
    return runs.segments()


def diff_segments(before: str, after: str) -> list[dict[str, str]]:
    """The runs of ``after`` against ``before``: a word diff that, at each difference, looks at
    most ``WINDOW`` words ahead on either side for the nearest word both share, then refines each
    changed stretch (:meth:`_Runs.refined`)."""
    if before == after:
        return [{"same": after}] if after else []
    a, b = _WORDS.findall(before), _WORDS.findall(after)
    runs = _Runs()
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            runs.same(a[i])
            i, j = i + 1, j + 1
            continue
        di, dj = _resync(a, i, b, j)
        runs.refined("".join(a[i : i + di]), "".join(b[j : j + dj]))
        i, j = i + di, j + dj
    runs.refined("".join(a[i:]), "".join(b[j:]))
    return runs.segments()


def _resync(a: list[str], i: int, b: list[str], j: int) -> tuple[int, int]:
    """The smallest step (di, dj) after which a[i + di] == b[j + dj], within the window; (1, 1)
    when none is near, so the diff always moves on."""
    # one word put in or dropped, the commonest difference, without building the table below
    if j + 1 < len(b) and a[i] == b[j + 1]:
        return 0, 1
    if i + 1 < len(a) and a[i + 1] == b[j]:
        return 1, 0
    first: dict[str, int] = {}
    for dj, word in enumerate(b[j : j + WINDOW]):
        first.setdefault(word, dj)
    best: tuple[int, int] | None = None
    for di, word in enumerate(a[i : i + WINDOW]):
        if best is not None and di >= best[0] + best[1]:
            break
        dj = first.get(word)
        if dj is not None and (best is None or di + dj < best[0] + best[1]):
            best = (di, dj)
    return best or (1, 1)


def changes(segments: list[dict[str, str]]) -> list[dict[str, str]]:
    """The changed runs alone (empty when nothing changed)."""
    return [s for s in segments if "same" not in s]
