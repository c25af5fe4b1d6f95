"""Every tokenizer the page runs itself (src/lab/inpage/), in Debian's Chromium, against the Python
engine (``tokenlens.tokenize``): the shared tokenizers, a BPE, WordPiece and Unigram trained here
into the registry, and a GGUF vocabulary, each from the very file the server sends the page
(``tokenlens.core.page_files``), on FLORES in eight languages, edge texts and seeded random
strings. The ids and character spans must be identical, or the tokenizer is declined (``page:
false`` in the manifest) and the panel leaves it to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random

import pytest

from ._harness import page_bundle
from .conftest import FLORES, TOKENIZERS
from .test_browser import chromium_page, lab_args, serve_jupyter

pytestmark = pytest.mark.browser

SHARED = ["gpt2", "cl100k_base", "o200k_base", "bert-base-uncased", "llama-2"]
LANGS = ["eng_Latn", "spa_Latn", "hin_Deva", "ben_Beng", "ory_Orya", "tam_Taml", "arb_Arab", "zho_Hans"]

ENTRY = """
import { BrowserBpe } from './src/lab/bpe';
import { TiktokenEngine } from './src/lab/inpage/engine';
import { HfEngine } from './src/lab/inpage/hf';

/** The engine for one file of the manifest ({name, kind, engine, text}), as the panel makes it. */
export async function engineFor(f: { name: string; kind: string; engine: string; text: string }) {
  const json = JSON.parse(f.text);
  return f.kind === 'tiktoken'
    ? new TiktokenEngine(f.name, await BrowserBpe.fromTable(json))
    : new HfEngine(f.name, f.engine, json);
}
"""

EDGE = [
    "",
    " ",
    "   lead and trail   ",
    "a\tb\nc\r\nd\u00a0e\u2003f\u3000g\u2028h\u0085i\ufeffj",
    "x  y   z    w",
    "😀👍🏽 🇮🇳 👩\u200d👩\u200d👧 ❤️",
    "e\u0301 n\u0303 a\u0308\u0301 ậ ଓଡ଼ିଆ क्षि",
    "Ｈｅｌｌｏ ﬁ ① ㎏ Å",
    "İstanbul ǅemal STRASSE straße",
    "<|endoftext|> hi<|endoftext|>x",
    "[CLS] a [SEP] [MASK] [UNK] <s> </s> <unk>",
    "中文字符。日本語のテキスト",
    "def f(x):\n    return x  # done\n",
    "https://example.com/a?b=1&c=%20",
    "\u200bzero\u200cwidth\u200djoin",
    "١٢٣ ٤٥ 1234567 ୧୨",
    "☃ ♞ 𝐀𝐁 \U0001f9ec",
]
# Texts the page cuts into parts (src/lab/inpage/parts.ts: after a newline that follows a
# character other than white space, before a letter or a number), each part's tokens remembered.
LINES = [
    "# Title\nSome *text* here.\n- item\n1. first\nA line, and more:\nthe end.",
    "import os\nx = 1\ndef f(y):\n    return y\nprint(f(x))\n",
    "1\n2\n33\n444\nabc\n\nde\n \nfg\r\nhi\n\tj\nk",
    "end.\nStart\n!\nWord\n😀\nୟ\n中文\nİ\n[CLS]\nx<|endoftext|>\ny",
    "Hello\nHello\nHello\nworld\nHello",
]
POOL = list("abcXYZ 019'\"\n\t.,!?-<|>[]#") + [
    "\u00a0",
    "é",
    "\u0301",
    "ଓ",
    "ି",
    "୍",
    "中",
    "😀",
    "🏽",
    "\u200d",
    "İ",
    "ß",
    "ﬁ",
    "<|endoftext|>",
    "[CLS]",
    "  ",
    "\n\n",
]


def _texts() -> list[str]:
    texts = list(EDGE) + LINES
    for lang in LANGS:
        lines = (FLORES / f"{lang}.dev").read_text(encoding="utf-8").splitlines()
        texts.append("\n".join(lines[:20]))  # a paragraph
        texts.extend(lines[20:40])
    rng = random.Random(20261207)
    texts += ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 40))) for _ in range(250)]
    return texts


@pytest.fixture(scope="module")
def inpage_js() -> str:
    """src/lab/inpage's engines bundled for a plain page, as `window.TL`."""
    return page_bundle(ENTRY)


@pytest.fixture
def tokenizers(tmp_path) -> dict[str, str]:
    """Name → the name or path the page and the engine load: the shared ones, three trained into
    the test's registry (conftest's), a GGUF written from GPT-2's ranks."""
    import tokenlens

    from .test_gguf import _tiktoken_gguf

    names = {n: n for n in SHARED}
    corpus = [
        line for lang in LANGS for line in (FLORES / f"{lang}.devtest").read_text(encoding="utf-8").splitlines()[:150]
    ]
    trained = {
        "page-bpe": dict(algorithm="bpe", vocab_size=800),
        "page-wordpiece": dict(
            algorithm="wordpiece", vocab_size=1000, limit_alphabet=300, lowercase=True, strip_accents=True
        ),
        "page-unigram": dict(algorithm="unigram", vocab_size=2000, normalizer="nfkc"),
    }
    for name, options in trained.items():
        tokenlens.train_tokenizer(corpus, name=name, progress=False, **options)
        names[name] = name
    names["gguf-gpt2"] = str(
        _tiktoken_gguf(tmp_path / "gpt2.gguf", TOKENIZERS / "gpt2" / "r50k_base.tiktoken", "gpt-2")
    )
    return names


COMPARE = """async ([files, texts, nPlain]) => {
  const out = {};
  for (const f of files) {
    const engine = await TL.engineFor(f);
    // the edge texts once more without special tokens (the panel's switch)
    const runs = [...texts.map(t => [t, true]), ...texts.slice(0, nPlain).map(t => [t, false])];
    out[f.name] = runs.map(([t, special]) => {
      const enc = engine.encode(t, special);
      // as one string each: Playwright carries a string far faster than nested arrays
      const made = enc === null ? null : JSON.stringify([enc.ids, enc.spans, enc.pieces]);
      // once more, from the parts remembered the first time (inpage/parts.ts)
      const again = engine.encode(t, special);
      const remembered = again === null ? null : JSON.stringify([again.ids, again.spans, again.pieces]);
      return remembered === made ? made : 'remembered: ' + remembered;
    });
  }
  return out;
}"""


EXPLAIN = """async ([files, ids]) => {
  const out = {};
  for (const f of files) {
    const engine = await TL.engineFor(f);
    out[f.name] = JSON.stringify(ids[f.name].map(id => engine.explain(id)));
  }
  return out;
}"""
# What the token card shows, made in the page (no server) as the server's explain makes it.
EXPLAINED = [
    "id",
    "piece",
    "display",
    "bytes",
    "model",
    "special",
    "unknown",
    "rank",
    "parents",
    "score",
    "continuation",
]


async def test_the_page_tokenizes_as_the_engine_or_declines(inpage_js, tokenizers):
    import tokenlens
    from tokenlens.core.api import NO_SANDBOX
    from tokenlens.core.page_files import page_file, page_manifest

    texts = _texts()
    files = []
    declined = {}
    for label, name in tokenizers.items():
        entry = page_manifest([name], NO_SANDBOX)[0]
        if entry.get("page") is False:
            declined[label] = entry["reason"]
            continue
        data, _ = page_file(name, NO_SANDBOX)
        kind = tokenlens.load(name).kind  # the server's kind, as the panel knows it from the list
        files.append({"name": label, "kind": entry["kind"], "engine": kind, "text": data.decode("utf-8")})
    async with chromium_page() as page:
        await page.set_content("<html><body></body></html>")
        await page.add_script_tag(content=inpage_js)
        got = await page.evaluate(COMPARE, [files, texts, len(EDGE)])
        # the token card's explanations without a server: the tokens of a paragraph and the
        # specials, for the engines whose server side reads the same file (tiktoken, tokenizer.json)
        explained_by = [f for f in files if f["engine"] in ("tiktoken", "hf")]
        sample = {
            f["name"]: sorted(
                set(tokenlens.tokenize(texts[len(EDGE) + len(LINES)], tokenizers[f["name"]]).ids[:80])
                | set(tokenlens.tokenize(EDGE[9] + EDGE[10], tokenizers[f["name"]]).ids)  # specials, [UNK]
            )
            for f in explained_by
        }
        explained = await page.evaluate(EXPLAIN, [explained_by, sample])
    problems = {}
    handed: dict[str, list[str]] = {}
    for label, results in got.items():
        name = tokenizers[label]
        wrong = []
        runs = [(t, True) for t in texts] + [(t, False) for t in EDGE]
        for (text, special), result in zip(runs, results):
            if result is None:
                handed.setdefault(label, []).append(text)  # the page hands this text to the server
                continue
            expected = tokenlens.tokenize(text, name, add_special_tokens=special)
            # the pieces too: the token card and the Ġ/▁/## legend read them
            want = [
                list(map(int, expected.ids)),
                [list(map(int, s)) for s in expected.spans],
                list(expected.pieces),
            ]
            if json.loads(result) != want:
                wrong.append((text, json.loads(result), want))
        if wrong:
            text, result, want = wrong[0]
            problems[label] = f"{len(wrong)} of {len(runs)} texts differ; first {text!r}: page {result}, engine {want}"
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    assert set(explained) >= {"gpt2", "cl100k_base", "o200k_base", "bert-base-uncased", "page-bpe", "page-unigram"}
    for label, made in explained.items():
        backend = tokenlens.load(tokenizers[label])
        for page_says, token_id in zip(json.loads(made), sample[label]):
            server_says = json.loads(json.dumps(backend.explain(int(token_id))))
            want = {k: server_says.get(k) for k in EXPLAINED}
            said = {k: page_says.get(k) for k in EXPLAINED}
            # a Unigram score as JSON carries the same double, up to its last digit's rounding
            if want["score"] is not None and said["score"] is not None:
                assert said.pop("score") == pytest.approx(want.pop("score"), rel=1e-12), (label, token_id)
            assert said == want, (label, token_id)
    # texts handed over (characters that combine under NFC, whitespace JavaScript classes
    # otherwise) are rare: the page tokenizes nearly everything itself
    assert all(len(h) <= len(texts) // 20 for h in handed.values()), {k: len(h) for k, h in handed.items()}
    # every tokenizer is run in the page, or declined with a reason the panel can show
    assert set(got) | set(declined) == set(tokenizers)
    assert all(declined.values())


# -- the panel in a real JupyterLab: chips made in the page, checked by the server, or no server --


@pytest.fixture(scope="module")
def jlab(tmp_path_factory):
    """One JupyterLab for the panel tests, as tests/test_browser.py's `lab`."""
    root = tmp_path_factory.mktemp("lab")
    yield from serve_jupyter(
        root,
        "jupyterlab",
        lab_args(root),
    )


DRAWN = """() => {
  const shell = window.jupyterapp.shell;
  const panel = [...shell.widgets('left'), ...shell.widgets('right')].find(w => w.id === 'tokenlens-panel');
  const results = panel._model.get('results') || [];
  return Object.fromEntries(results.map(r => [r.tokenizer, r.ids ? Array.from(r.ids) : null]));
}"""


async def _wait_drawn(page, text: str, name: str, timeout: float = 30) -> None:
    """Until the panel's token view holds `name`'s ids of `text` (whatever its layout)."""
    import time

    want = _ids(text, name)
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = (await page.evaluate(DRAWN)).get(name)
        if seen == want:
            return
        await page.wait_for_timeout(150)
    state = await page.evaluate(DRAWN.replace("r.ids ? Array.from(r.ids) : null", "r.ids ? r.ids.length : r.error"))
    status = await page.locator("#tokenlens-panel .tl-status").inner_text()
    raise AssertionError(f"the panel draws {name} as {seen}, the engine gives {want} ({state}; status {status!r})")


def _ids(text: str, name: str) -> list[int]:
    import tokenlens

    return list(map(int, tokenlens.tokenize(text, name).ids))


async def _choose(page, *names: str) -> None:
    for name in names:
        await page.evaluate(f"window.jupyterapp.commands.execute('tokenlens:add-tokenizer', {{name: '{name}'}})")


@contextlib.asynccontextmanager
async def _answers_held(page):
    """The server's tokenize answers held back while the block runs, then let through: what the
    panel draws meanwhile was made in the page."""
    release = asyncio.Event()

    async def hold(route):
        await release.wait()
        await route.continue_()

    await page.route("**/tokenlens/tokenize*", hold)
    try:
        yield
    finally:
        release.set()


async def _run_in_page(page, name: str) -> None:
    """Until the panel runs `name` in the page (its file fetched and the engine made)."""
    from .test_browser_panel import _wait

    await _wait(
        page,
        "n => (document.querySelector('#tokenlens-panel').dataset.browserCounts || '').split(' ').includes(n)",
        name,
    )


async def test_the_panel_draws_in_the_page_and_the_server_has_the_last_word(jlab):
    """BERT's chips for a new text are drawn before the server answers; a BERT file damaged on
    the way ("world" left out) disagrees with the server once: the server's tokens are shown, the
    console says which tokenizer and what length, and BERT is the server's from then on."""
    import hashlib

    from tokenlens.core.api import SERVER_SANDBOX
    from tokenlens.core.page_files import page_file

    from .test_browser_panel import PANEL, _cell, _cells, _open, _wait

    spec = json.loads(page_file("bert-base-uncased", SERVER_SANDBOX)[0])
    del spec["model"]["vocab"]["world"]
    damaged = json.dumps(spec).encode()
    (jlab["root"] / "inpage.ipynb").write_text(json.dumps(_cells([("code", "hello")])))
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        warnings = []
        page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)

        async def manifest(route):
            listed = await (await route.fetch()).json()
            for entry in listed["tokenizers"]:
                if entry["name"] == "bert-base-uncased":
                    entry.update(sha256=hashlib.sha256(damaged).hexdigest(), bytes=len(damaged))
            await route.fulfill(json=listed)

        await page.route("**/tokenlens/page-tokenizers?*", manifest)
        await page.route(
            "**/tokenlens/page-tokenizers/bert-base-uncased*",
            lambda route: route.fulfill(body=damaged, content_type="application/json"),
        )
        await _open(page, jlab, "inpage.ipynb")
        await _choose(page, "bert-base-uncased")
        await _cell(page, 0)
        await _run_in_page(page, "bert-base-uncased")
        await _wait_drawn(page, "hello", "bert-base-uncased")
        async with _answers_held(page):
            await page.keyboard.press("Control+End")
            await page.keyboard.type(" there")
            # the server is held: these chips were made in the page
            await _wait_drawn(page, "hello there", "bert-base-uncased")
        await page.unroute("**/tokenlens/tokenize*")
        await page.keyboard.type(" world")
        text = "hello there world"
        await _wait(
            page, "() => document.querySelector('#tokenlens-panel').dataset.countMismatch === 'bert-base-uncased'"
        )
        await _wait_drawn(page, text, "bert-base-uncased")
        said = [w for w in warnings if "bert-base-uncased made different ids" in w]
        assert said and f"a text of {len(text)} characters" in said[0], warnings
        names = await page.get_attribute(PANEL, "data-browser-counts")
        assert "bert-base-uncased" not in names.split() and "gpt2" in names.split()


async def test_a_keystroke_in_a_long_cell_is_tokenized_in_the_page(jlab):
    """A cell of 40,000 characters in eight languages, GPT-2 and Llama 2: the parts of the text
    are made ready between frames (src/lab/inpage/parts.ts), then a keystroke's chips come from
    the page while the server's answer is held, with the engine's ids for the whole new text."""
    from .test_browser_panel import PANEL, _cell, _cells, _open, _wait

    lines = [line for lang in LANGS for line in (FLORES / f"{lang}.dev").read_text(encoding="utf-8").splitlines()[:40]]
    text = "\n".join(lines)[:40_000]
    (jlab["root"] / "long.ipynb").write_text(json.dumps(_cells([("code", text)])))
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        await _open(page, jlab, "long.ipynb")
        await _choose(page, "gpt2", "llama-2")
        await _run_in_page(page, "llama-2")
        await _cell(page, 0)
        await page.keyboard.press("Control+End")
        async with _answers_held(page):
            # the first keystroke in the text may find its parts not ready (made between frames
            # from then on); one of the next ones is tokenized in the page
            for _ in range(6):
                await page.keyboard.type("x")
                text += "x"
                try:
                    await page.wait_for_function(
                        "n => document.querySelector('#tokenlens-panel').dataset.drawnChars === String(n)",
                        arg=len(text),
                        timeout=5_000,
                    )
                    break
                except Exception:
                    continue
            else:
                raise AssertionError("no keystroke in the long cell was tokenized in the page")
            assert await page.get_attribute(PANEL, "data-counted-by") == "browser"
            drawn = await page.evaluate(DRAWN)
            assert drawn["gpt2"] == _ids(text, "gpt2")
            assert drawn["llama-2"] == _ids(text, "llama-2")
        # the answers held go on to the page, and check what it drew
        await _wait(page, "() => document.querySelector('#tokenlens-panel').dataset.countedBy === 'server'")
        assert await page.get_attribute(PANEL, "data-count-mismatch") is None


async def test_with_no_server_the_panel_runs_in_the_page(jlab):
    """The server part absent (every /tokenlens/ route 404s, as in JupyterLite) and the tokenizers'
    files beside the site (files/tokenlens/manifest.json, written by page_manifest/page_file):
    the panel counts and draws GPT-2, BERT and Llama 2 in the page and says so."""
    from tokenlens.core.api import SERVER_SANDBOX
    from tokenlens.core.page_files import page_file, page_manifest

    from .test_browser_panel import PANEL, _cell, _cells, _open

    site = jlab["root"] / "tokenlens"
    (site / "page-tokenizers").mkdir(parents=True, exist_ok=True)
    names = ["gpt2", "bert-base-uncased", "llama-2"]
    entries = page_manifest(names, SERVER_SANDBOX)
    for entry in entries:
        (site / entry["url"]).write_bytes(page_file(entry["name"], SERVER_SANDBOX)[0])
    (site / "manifest.json").write_text(json.dumps({"tokenizers": entries}))
    text = "Hello world, ଓଡ଼ିଆ 🙂"
    (jlab["root"] / "lite.ipynb").write_text(json.dumps(_cells([("code", text)])))
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        asked = []

        async def absent(route):
            asked.append(route.request.url)
            await route.fulfill(status=404, content_type="text/html", body="<html>404: Not Found</html>")

        await page.route(lambda url: "/tokenlens/" in url and "/files/" not in url, absent)
        await _open(page, jlab, "lite.ipynb")
        await _choose(page, "bert-base-uncased", "llama-2")
        await _cell(page, 0)
        for name in names:
            await _wait_drawn(page, text, name)
        status = await page.locator(f"{PANEL} .tl-status").inner_text()
        assert "in the page (no server)" in status
        assert await page.locator(f"{PANEL} .tl-notice[data-kind='missing']").count() == 0
        assert asked  # the server part was asked first, and was not there
        # reloaded, the page takes the files from its own store (IndexedDB, by sha256)
        fetched = []
        page.on("request", lambda r: fetched.append(r.url) if "/page-tokenizers/" in r.url else None)
        await page.reload()
        await page.wait_for_selector(f"{PANEL} input.tl-tokenizer-option", state="attached", timeout=60_000)
        await page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")  # however the layout restored
        await _cell(page, 0)
        for name in names:
            await _wait_drawn(page, text, name)
        assert fetched == []
