"""The token views in a real JupyterLab and Chromium: the hover card, the compare view, a 1 MB cell.

Screenshots land in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import json
import time

import pytest

from .conftest import flores
from .test_browser import (  # noqa: F401 - `lab` is a fixture
    ARTIFACTS,
    _open_lab,
    _select_cell,
    _wait_for_ids,
    chromium_page,
    lab,
)

pytestmark = pytest.mark.browser

PANEL = "#tokenlens-panel"


async def _open_panel(page, lab) -> None:
    await _open_lab(page, lab)
    # activate, not toggle: the workspace may have restored the panel open
    await page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")
    await page.wait_for_selector(PANEL, state="visible")
    await page.wait_for_selector(f"{PANEL} input.tl-tokenizer-option", state="attached", timeout=30_000)


async def _choose(page, names: list[str]) -> None:
    """Tick exactly `names` in the panel's tokenizer chooser."""
    boxes = page.locator(f"{PANEL} input.tl-tokenizer-option")
    for k in range(await boxes.count()):
        box = boxes.nth(k)
        want = await box.get_attribute("value") in names
        if await box.is_checked() != want:
            await box.click()


async def _set_source(page, text: str) -> None:
    """Replace the active cell's source in one edit (typing a megabyte would take hours)."""
    await page.evaluate(
        "text => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.setSource(text)",
        text,
    )


async def test_hover_card_explains_a_gpt2_token(lab):
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        await _open_panel(page, lab)
        await _choose(page, ["gpt2"])
        await _select_cell(page, 0)
        await page.keyboard.press("Control+a")
        await page.keyboard.type("I love NLP")
        await _wait_for_ids(page, [40, 1842, 399, 19930])

        chip = page.locator(f"{PANEL} .tl-result[data-tokenizer='gpt2'] .tl-token[data-id='1842']")
        await chip.hover()
        card = page.locator(".tl-card:not([hidden])")
        await card.wait_for(timeout=5_000)
        assert await card.get_attribute("data-id") == "1842"
        await page.wait_for_selector(".tl-card[data-state='ready']", timeout=20_000)
        assert (await card.locator(".tl-card-display").inner_text()) == "“·love”"
        assert (await card.locator(".tl-card-piece").inner_text()) == "Ġlove"
        assert (await card.locator(".tl-card-bytes").inner_text()) == "20 6C 6F 76 65"
        assert (await card.locator(".tl-card-rank").inner_text()) == "1842"
        parents = card.locator(".tl-card-parents .tl-card-parent")
        assert await parents.count() == 3  # two parents, then the token they make
        ids = [int(x) for x in await parents.evaluate_all("els => els.map(e => e.dataset.id)")]
        assert ids[2] == 1842 and all(i < 1842 for i in ids[:2])
        texts = await parents.locator(".tl-token-text").all_inner_texts()
        assert texts[0] + texts[1] == texts[2] == "·love"
        await page.screenshot(path=str(ARTIFACTS / "card-light.png"))

        # click pins the card; Escape closes it
        await chip.click()
        await page.wait_for_selector(".tl-card[data-pinned='true']:not([hidden])")
        await page.mouse.move(5, 5)
        await page.wait_for_timeout(500)
        assert await card.count() == 1
        await page.keyboard.press("Escape")
        await page.wait_for_selector(".tl-card", state="hidden")

        # keyboard: the clicked token kept the focus; Home, arrows move it, Enter opens the card
        assert await page.evaluate("document.activeElement.dataset.id") == "1842"
        await page.keyboard.press("Home")
        assert await page.evaluate("document.activeElement.dataset.id") == "40"
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        focused = await page.evaluate("document.activeElement.dataset.id")
        assert focused == "399"
        await page.keyboard.press("Enter")
        await page.wait_for_selector(".tl-card[data-id='399'][data-pinned='true']:not([hidden])")
        tab_stops = await page.locator(f"{PANEL} .tl-result [tabindex='0']").count()
        assert tab_stops == 1
        await page.keyboard.press("Escape")


def _expected_boundaries(results) -> tuple[set[int], set[int]]:
    """All boundaries any tokenizer makes inside the text, and those that not all make."""
    n = results[0].n_chars
    cuts = []
    for r in results:
        cuts.append({p for s, e, _, _ in r.segments if e > s for p in (s, e)})
    union = set().union(*cuts) - {0, n}
    some = {p for p in union if not all(p in c for c in cuts)}
    return union, some


async def test_compare_view_aligns_three_tokenizers(lab):
    import tokenlens

    names = ["gpt2", "bert-base-uncased", "llama-2"]
    text = "I love NLP. Tokenizers split ଓଡ଼ିଆ text."
    results = [tokenlens.tokenize(text, n) for n in names]
    union, some = _expected_boundaries(results)
    assert some, "the sample should make the tokenizers disagree"

    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        await _open_panel(page, lab)
        await _select_cell(page, 0)
        await _choose(page, names)
        await _set_source(page, text)
        view = page.locator(f"{PANEL} .tl-compare")
        # the compare view of this text (not of the cell's text before it: same tokenizers)
        await page.wait_for_function(
            "expected => Object.entries(expected).every(([name, n]) => document.querySelector("
            "`#tokenlens-panel .tl-counts tr[data-tokenizer='${name}'] .tl-n-tokens`)?.textContent === String(n))"
            " && document.querySelector('#tokenlens-panel .tl-aligned')",
            arg={r.tokenizer: len(r) for r in results},
            timeout=30_000,
        )
        # counts table: tokens, chars, bytes, chars/token per tokenizer
        for r in results:
            row = view.locator(f".tl-counts tr[data-tokenizer='{r.tokenizer}']")
            assert await row.locator(".tl-n-tokens").inner_text() == str(len(r))
            assert await row.locator(".tl-n-chars").inner_text() == str(r.n_chars)
            assert await row.locator(".tl-n-bytes").inner_text() == str(r.n_bytes)
            assert await row.locator(".tl-n-ratio").inner_text() == f"{r.n_chars / len(r):.2f}"

        # aligned view: one column per piece between boundaries; disagreeing cuts are marked
        cols = view.locator(".tl-aligned .tl-col:not(.tl-col-label):not(.tl-col-end)")
        starts = {int(x) for x in await cols.evaluate_all("els => els.map(e => e.dataset.start)")}
        assert starts - {0} == union
        marked = view.locator(".tl-aligned .tl-col[data-cut='some']")
        marked_at = {int(x) for x in await marked.evaluate_all("els => els.map(e => e.dataset.start)")}
        assert marked_at == some
        # every tokenizer has a lane (in the table's order), and each of its tokens shows up there
        order = await view.locator(".tl-counts tbody tr").evaluate_all("els => els.map(e => e.dataset.tokenizer)")
        assert sorted(order) == sorted(names)
        by_name = {r.tokenizer: r for r in results}
        for lane, name in enumerate(order):
            r = by_name[name]
            shown = await view.locator(f".tl-lane[data-lane='{lane}'] .tl-bar:not(.tl-cont)").evaluate_all(
                "els => els.map(e => Number(e.dataset.index))"
            )
            assert sorted(shown) == list(range(len(r)))
        # the Odia characters that GPT-2 builds from several byte tokens are drawn as parts
        gpt2 = order.index("gpt2")
        assert await view.locator(f".tl-lane[data-lane='{gpt2}'] .tl-bar-part").count() > 0
        await page.screenshot(path=str(ARTIFACTS / "compare-aligned.png"))

        # hovering a bar gives the same card as a chip
        bar = view.locator(f".tl-lane[data-lane='{gpt2}'] .tl-bar.tl-first[data-id='1842']")
        await bar.hover()
        await page.wait_for_selector(".tl-card[data-id='1842'][data-tokenizer='gpt2']:not([hidden])")
        await page.mouse.move(5, 5)

        # the stacked layout is one click away and shows each tokenizer's chips
        await page.locator(f"{PANEL} .tl-opt-layout button[data-value='stacked']").click()
        await page.wait_for_selector(f"{PANEL} .tl-result[data-tokenizer='llama-2'] .tl-token")
        assert await page.locator(f"{PANEL} .tl-aligned").count() == 0
        await page.locator(f"{PANEL} .tl-opt-layout button[data-value='aligned']").click()
        await page.wait_for_selector(f"{PANEL} .tl-aligned")
        await _choose(page, ["gpt2"])


def _megabyte_text() -> str:
    lines, k = [], 0
    english = flores("eng_Latn")
    odia = flores("ory_Orya")
    while sum(map(len, lines)) + len(lines) < 990_000:
        lines.append(english[k % len(english)] if k % 5 else odia[k % len(odia)])
        k += 1
    return "\n".join(lines)[:990_000]


async def test_a_megabyte_cell_stays_responsive(lab):
    text = _megabyte_text()
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        await _open_panel(page, lab)
        await _choose(page, ["gpt2"])
        await _select_cell(page, 1)
        await _set_source(page, text)
        result = f"{PANEL} .tl-result[data-tokenizer='gpt2']"
        await page.wait_for_function(
            f'() => Number(document.querySelector("{result}")?.dataset.nTokens) > 100000',
            timeout=120_000,
        )
        n_tokens = int(await page.locator(result).get_attribute("data-n-tokens"))

        # A click right after the result arrives is handled at once (no frozen main thread).
        t = time.monotonic()
        await page.locator(f"{PANEL} .tl-opt-color button[data-value='position']").click(timeout=5_000)
        await page.wait_for_selector(f"{PANEL} .tl-body.tl-color-position", timeout=5_000)
        click_ms = (time.monotonic() - t) * 1000
        assert click_ms < 2_000, f"a click took {click_ms:.0f} ms to be handled"

        # Only what is near the visible part is in the DOM.
        nodes = await page.locator(f"{result} *").count()
        assert nodes < 30_000, f"{nodes} nodes for {n_tokens} tokens: not virtualised"

        # Every row is reachable: scroll to the middle and to the end, the tokens there are drawn.
        scroller = page.locator(f"{result} .tl-scroll")
        for fraction, index in ((0.5, None), (1.0, n_tokens - 1)):
            await scroller.evaluate("(el, f) => { el.scrollTop = (el.scrollHeight - el.clientHeight) * f; }", fraction)
            deadline = time.monotonic() + 10
            while True:
                await page.wait_for_timeout(150)
                if fraction == 1.0:
                    await scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
                shown = await scroller.locator(".tl-block:not(.tl-placeholder) .tl-token").count()
                done = shown > 0 and (
                    index is None or await scroller.locator(f".tl-token[data-index='{index}']").count() == 1
                )
                if done or time.monotonic() > deadline:
                    break
            assert done, f"nothing drawn after scrolling to {fraction:.0%}"
        last = scroller.locator(f".tl-token[data-index='{n_tokens - 1}']")
        assert await last.is_visible()
        await page.screenshot(path=str(ARTIFACTS / "megabyte-end.png"))
        await page.locator(f"{PANEL} .tl-opt-color button[data-value='id']").click()
        await _set_source(page, "second cell")
        await _wait_for_ids(page, [12227, 2685])


async def test_widgets_render_in_notebook_outputs(lab):
    """The notebook widgets (token view, pipeline) in a real kernel's outputs, in JupyterLab."""
    from .test_browser import _notebook

    cells = [
        "%load_ext tokenlens",
        "%%tokenize -t gpt2 -t bert-base-uncased\nI love NLP",
        "%%tokenize --pipeline -t bert-base-uncased\nHéllo NLP",
        "%%tokenize --ngrams 2 -t gpt2\nthe cat sat on the mat",
    ]
    (lab["root"] / "widgets.ipynb").write_text(json.dumps(_notebook(cells)))
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium_page(viewport={"width": 1300, "height": 1400}) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e) + " @ " + str(e.stack)[:1500]))
        await page.goto(f"{lab['url']}/lab/tree/widgets.ipynb?token={lab['token']}")
        await page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60_000)
        await page.wait_for_function(
            "window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:toggle-panel')"
        )
        # the workspace may restore other documents: this notebook must be the one in front
        await page.evaluate("() => window.jupyterapp.commands.execute('docmanager:open', {path: 'widgets.ipynb'})")
        await page.wait_for_function("() => window.jupyterapp.shell.currentWidget?.title.label === 'widgets.ipynb'")
        # a kernel must be up before running (the notebook starts one for its kernelspec)
        await page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.connectionStatus === 'connected'",
            timeout=120_000,
        )
        await page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        out = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output"
        # the token view: both tokenizers aligned, GPT-2's " love" with its id
        await page.wait_for_selector(f"{out} .tl-widget .tl-bar[data-id='1842']", timeout=120_000)
        await page.wait_for_selector(f"{out} .tl-widget .tl-counts tr[data-tokenizer='bert-base-uncased']")
        # the first view shows ids: each token's id in its bar, as notebook 01's first %%tokenize draws it
        gpt2_ids = f"{out} .tl-widget .tl-aligned .tl-lane[data-lane='0'] .tl-bar-id"
        assert [int(x) for x in await page.locator(gpt2_ids).all_inner_texts()] == [40, 1842, 399, 19930]
        bert_ids = f"{out} .tl-widget .tl-aligned .tl-lane[data-lane='1'] .tl-bar-id"
        assert [int(x) for x in await page.locator(bert_ids).all_inner_texts()] == [101, 1045, 2293, 17953, 2361, 102]
        # the pipeline view: its stages, and the lossy round trip said
        await page.wait_for_selector(f"{out} .tl-stage[data-stage='normalizer']", timeout=60_000)
        assert await page.locator(f"{out} .tl-stage").count() >= 6
        assert await page.locator(f"{out} .tl-lost").count() >= 1
        # n-grams beside the tokenizer's tokens
        await page.wait_for_selector(f"{out} .tokenlens-ngrams", timeout=60_000)
        assert "gpt2 tokens" in await page.locator(f"{out} .tokenlens-ngrams").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "notebook-widgets.png"), full_page=True)
        (ARTIFACTS / "notebook-errors.txt").write_text("\n\n".join(errors))
        assert not errors, errors
