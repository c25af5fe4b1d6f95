"""The browser's byte pair encoding of tiktoken encodings (src/lab/bpe.ts), run in Debian's Chromium
against tiktoken itself: the same ids for FLORES text in eight languages, text around special
tokens, whitespace that JavaScript and Rust class differently, and thousands of random strings.
The panel paints these counts before the server answers, so they must be the server's counts.
"""

from __future__ import annotations

import random

import pytest

from ._harness import page_bundle
from .conftest import FLORES
from .test_browser import chromium_page

pytestmark = pytest.mark.browser

ENCODINGS = ["gpt2", "cl100k_base", "o200k_base"]


@pytest.fixture(scope="module")
def bpe_js() -> str:
    """src/lab/bpe.ts bundled for a plain page, as `window.TL`."""
    return page_bundle("export * from './src/lab/bpe';")


EDGE = [
    "12345 1234567",
    "it's IT'S it'Ll we'VE they'd",
    "it'ſ x'ſ 'ſtuff",
    " I'ſ",  # ſ folds to s in Rust's (?i)
    "it\u2019s",
    "K x",
    "a \n\nb",
    "x\u0085y \u0085 ",
    "a\ufeffb \ufeff",
    "a  ",
    "  ",
    "\n",
    "\r\n\r\n x",
    "...\n\n\nX",
    "hi<|endoftext|>  <|endoftext|>",
    "<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|><|endofprompt|>",
    "a  <|endoftext|>",
    "<|endoftext",
    "😀👍🏽 test 🇮🇳",
    "e\u0301 ñ ṩ̃",
    "https://example.com/a/b?c=1&d=%20",
    "    def f(x):\n        return x  # done\n",
    "ABCdefGHI jklMNO ǅemal",
    "１２３４ ٣٤٥ ١٢ ୧୨୩୪",
    "a/b//c\n/\n",
    "x.\n/y\nz",
    "a  \nb\n c\n\nd\n1\n😀\nb\n𝐀\n𝐁",
    "end.\n\nNew\r\nline\n",
    "\t\t\tx\u3000y\u2028z\u00a0w",
    "ଓଡ଼ିଆ ଭାଷା",
    "中文字符。",
    "\u200bzero\u200dwidth",
]
POOL = list("abcXYZ 0129'’\"\n\r\t\u00a0\u0085\ufeff\u2028\u3000/.,!?-_<|>#$") + [
    "ſ",
    "K",
    "é",
    "ଓ",
    "ଡ଼",
    "ି",
    "୍",
    "中",
    "文",
    "😀",
    "🏽",
    "\u0301",
    "ß",
    "İ",
    "ǅ",
    "ʰ",
    "٣",
    "১",
    "<|endoftext|>",
    "'s",
    "'LL",
    "  ",
    "\n\n",
    "123456",
]


def _texts() -> list[str]:
    texts = list(EDGE)
    for path in sorted(FLORES.glob("*.dev")):
        lines = path.read_text(encoding="utf-8").splitlines()
        texts.append("\n".join(lines[:150]))  # one long text per language (counted line by line)
        texts.extend(lines[150:250])  # and lines on their own
    rng = random.Random(20261207)
    for _ in range(1500):
        texts.append("".join(rng.choice(POOL) for _ in range(rng.randint(1, 60))))
    return texts


COMPARE = """async ([table, texts]) => {
  const bpe = await TL.BrowserBpe.fromTable(table, 5000);
  const out = { ids: [[], []], counts: [[], []] };
  for (const [k, allow] of [[0, true], [1, false]]) {
    for (const t of texts) {
      out.ids[k].push(bpe.encode(t, allow));
      out.counts[k].push(bpe.count(t, allow));
    }
  }
  return out;
}"""


async def test_browser_bpe_gives_tiktokens_ids(bpe_js):
    from tokenlens.core.resolve import resolve

    texts = _texts()
    async with chromium_page() as page:
        await page.set_content("<html><body></body></html>")
        await page.add_script_tag(content=bpe_js)
        for name in ENCODINGS:
            backend = resolve(name)
            got = await page.evaluate(COMPARE, [backend.rank_table(), texts])
            for k, allowed in ((0, "all"), (1, ())):
                special = {"allowed_special": "all"} if allowed == "all" else {"disallowed_special": ()}
                wrong = [
                    (t, ids, backend.encoding.encode(t, **special))
                    for t, ids in zip(texts, got["ids"][k])
                    if ids != backend.encoding.encode(t, **special)
                ]
                assert not wrong, f"{name} (special {allowed!r}): {len(wrong)} texts differ, first {wrong[0]}"
                assert got["counts"][k] == [len(ids) for ids in got["ids"][k]]


async def test_browser_bpe_declines_what_it_cannot_count(bpe_js):
    from tokenlens.core.resolve import resolve

    table = resolve("gpt2").rank_table()
    async with chromium_page() as page:
        await page.set_content("<html><body></body></html>")
        await page.add_script_tag(content=bpe_js)
        result = await page.evaluate(
            """async (table) => {
              const bpe = await TL.BrowserBpe.fromTable(table);
              const other = await TL.BrowserBpe.fromTable({ ...table, pattern: table.pattern + '|x' });
              return {
                lone: bpe.count('a\\uD800b'),                  // the server refuses it too
                loneLow: bpe.count('a\\uDC00'),
                pair: bpe.count('a\\uD83D\\uDE00'),            // a proper pair is fine
                longPiece: bpe.count('x'.repeat(300)),         // merging it would cost a frame
                shortPiece: bpe.count('x'.repeat(200)),
                unknownPattern: other === null,
                // a 100,000-character line edited 60 times: the remembered lines stay bounded
                longLine: (() => {
                  let line = 'word '.repeat(20000), worst = 0, counts = [];
                  for (let k = 0; k < 60; k++) {
                    line += 'x';
                    counts.push(bpe.count(line));
                    worst = Math.max(worst, bpe.cachedLineChars);
                  }
                  return { worst, limit: TL.CACHE_LINE_CHARS, counts };
                })(),
              };
            }""",
            table,
        )
    assert result["lone"] is None and result["loneLow"] is None
    assert result["pair"] == len(resolve("gpt2").encoding.encode("a😀"))
    assert result["longPiece"] is None
    assert result["shortPiece"] == len(resolve("gpt2").encoding.encode("x" * 200))
    assert result["unknownPattern"] is True
    long_line = result["longLine"]
    assert 0 < long_line["worst"] <= long_line["limit"] < 60 * 100_000
    encoding = resolve("gpt2").encoding
    assert long_line["counts"] == [len(encoding.encode("word " * 20000 + "x" * k)) for k in range(1, 61)]
