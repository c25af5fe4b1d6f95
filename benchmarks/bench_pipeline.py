"""``tokenlens.pipeline`` now against the same call with the diff it used before (difflib's
SequenceMatcher with autojunk off, on the whole text), side by side, in one run.

"Before" is today's ``pipeline()`` with its two diffs (the normaliser's runs and the decoder's
runs) swapped for one SequenceMatcher each, as the old code computed them. The old code ran
SequenceMatcher twice per changed stage (once for ``changes``, once for ``diff``), so this
baseline is at most half the old cost there: the ratios printed are a lower bound.
A "before" that runs past ``--cap`` seconds is stopped and printed as ``>cap``.

Texts: FLORES-200 dev, repeated to the length asked: English in Title Case (every word changes
under an uncased normaliser, the old worst case), Odia, Chinese, and a mix of all eight
languages. Tokenizers: BERT uncased, GPT-2, Llama 2, and a BPE trained here (NFKC, accents
stripped, lower case).

    python benchmarks/bench_pipeline.py                       # 2,000 and 20,000 characters
    python benchmarks/bench_pipeline.py --chars 2000 --cap 30 --repeats 5
"""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOKENLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("TOKENLENS_PATH", str(SHARED / "tokenizers"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(ROOT))

import tokenlens  # noqa: E402
import tokenlens.learn.pipeline as pipeline_module  # noqa: E402

FLORES = SHARED / "flores200"
LANGS = ["eng_Latn", "spa_Latn", "hin_Deva", "ben_Beng", "ory_Orya", "tam_Taml", "arb_Arab", "zho_Hans"]


def flores(lang: str) -> str:
    return (FLORES / f"{lang}.dev").read_text(encoding="utf-8")


def texts(chars: int) -> dict[str, str]:
    def cut(text: str) -> str:
        return (text * (chars // len(text) + 1))[:chars]

    mixed = "".join(flores(lang)[:2000] for lang in LANGS)
    return {
        "English Title Case": cut(flores("eng_Latn").title()),
        "Odia": cut(flores("ory_Orya")),
        "Chinese": cut(flores("zho_Hans")),
        "mixed, 8 languages": cut(mixed),
    }


def trained_tokenizer(folder: Path) -> str:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFKD(), normalizers.StripAccents(), normalizers.NFC(), normalizers.Lowercase()]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    corpus = [line for lang in LANGS for line in flores(lang).splitlines()[:300]]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=2000, special_tokens=["[UNK]"]))
    tok.save(str(folder / "tokenizer.json"))
    return str(folder)


def _difflib_segments(before: str, after: str) -> list[dict[str, str]]:
    return [
        {"same": after[b0:b1]} if op == "equal" else {"was": before[a0:a1], "now": after[b0:b1]}
        for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    ]


class _TooLong(Exception):
    pass


def _alarm(_signum, _frame):
    raise _TooLong


def timed(text: str, name: str, before: bool, cap: float) -> float | None:
    """Seconds for one pipeline() call, or None when it ran past ``cap``."""
    saved = pipeline_module.normalizer_segments, pipeline_module.diff_segments
    if before:
        pipeline_module.normalizer_segments = lambda norm, t: _difflib_segments(t, norm.normalize_str(t))
        pipeline_module.diff_segments = _difflib_segments
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, cap)
    start = time.perf_counter()
    try:
        tokenlens.pipeline(text, name)
        return time.perf_counter() - start
    except _TooLong:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        pipeline_module.normalizer_segments, pipeline_module.diff_segments = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--cap", type=float, default=60.0, help="seconds after which a 'before' run is stopped")
    parser.add_argument("--repeats", type=int, default=3, help="runs of 'after' (the fastest is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        names = {
            "bert-base-uncased": "bert-base-uncased",
            "gpt2": "gpt2",
            "llama-2": "llama-2",
            "trained BPE": trained_tokenizer(Path(tmp)),
        }
        for name in names.values():
            tokenlens.pipeline("warm up", name)
        print(f"{'text':<20} {'tokenizer':<18} {'chars':>7} {'before s':>9} {'after s':>8} {'ratio':>8}")
        for chars in args.chars:
            for label, text in texts(chars).items():
                for shown, name in names.items():
                    after = min(timed(text, name, False, 3600) for _ in range(args.repeats))
                    before = timed(text, name, True, args.cap)
                    b = f"{before:9.3f}" if before is not None else f"{'>' + format(args.cap, 'g'):>9}"
                    r = (
                        f"{before / after:7.0f}×"
                        if before is not None
                        else f"{'>' + format(args.cap / after, '.0f'):>7}×"
                    )
                    print(f"{label:<20} {shown:<18} {chars:>7,} {b} {after:8.3f} {r}", flush=True)


if __name__ == "__main__":
    main()
