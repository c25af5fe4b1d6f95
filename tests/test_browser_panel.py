"""The side panel as a daily tool, in a real JupyterLab and Debian's Chromium: it follows code and
markdown cells, selections and the file editor; several tokenizers with counts; settings applied
live; commands; the status-bar count; click-to-select; plain words when the server part is
missing or another version.

Screenshots land in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from .test_browser import (  # noqa: F401 - `lab` is a fixture
    ARTIFACTS,
    _panel_ids,
    _wait_for_ids,
    chromium_page,
    lab,
)

pytestmark = pytest.mark.browser

PANEL = "#tokenlens-panel"
STATUS_ITEM = ".tl-statusbar"


def _gpt2(text: str) -> list[int]:
    import tokenlens

    return list(tokenlens.tokenize(text, "gpt2").ids)


def _count(text: str, tokenizer: str, add_special_tokens: bool = True) -> int:
    import tokenlens

    return len(tokenlens.tokenize(text, tokenizer, add_special_tokens=add_special_tokens))


def _cells(cells: list[tuple[str, str]]) -> dict:
    out = []
    for i, (kind, src) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"p{i}", "metadata": {}, "source": src}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {
        "cells": out,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def files(lab):
    root = lab["root"]
    (root / "panel.ipynb").write_text(
        json.dumps(_cells([("code", "hello world"), ("markdown", "# Title here"), ("code", "second cell")]))
    )
    (root / "other.ipynb").write_text(json.dumps(_cells([("code", "NLP")])))
    texts = {
        "notes.txt": "I love NLP",
        "readme.md": "# Title here",
        "script.py": "def f(x):\n    return x\n",
        "data.json": '{"a": 1}',
        "rows.jsonl": '{"a": 1}\n{"b": 2}\n',
    }
    for name, text in texts.items():
        (root / name).write_text(text, encoding="utf-8")
    return texts


async def _wait(page, expr: str, arg=None, timeout: float = 30_000) -> None:
    await page.wait_for_function(expr, arg=arg, timeout=timeout)


def _url(lab, path: str = "panel.ipynb") -> str:
    # A workspace of its own for each page: what one test left open is not restored in the next.
    return f"{lab['url']}/lab/workspaces/w{next(_WORKSPACES)}/tree/{path}?token={lab['token']}"


_WORKSPACES = itertools.count()


async def _open(page, lab, path: str = "panel.ipynb") -> None:
    await page.goto(_url(lab, path))
    await page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content", timeout=60_000)
    await _wait(page, "window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:copy-ids')")
    await page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")
    await page.wait_for_selector(PANEL, state="visible")
    await page.wait_for_selector(f"{PANEL} input.tl-tokenizer-option", state="attached", timeout=30_000)


async def _cell(page, index: int):
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
    await cell.locator(".cm-content").click()
    return cell


async def _editor_selection(page) -> list[int]:
    """The active editor's primary selection as sorted UTF-16 offsets."""
    return await page.evaluate(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const ed = w.content.activeCell ? w.content.activeCell.editor : w.content.editor;
          const s = ed.getSelection();
          const a = ed.getOffsetAt(s.start), b = ed.getOffsetAt(s.end);
          return [Math.min(a, b), Math.max(a, b)];
        }"""
    )


async def _close_current(page) -> None:
    """Save and close the current document (a notebook is dirty once its kernel metadata is set)."""
    await page.evaluate(
        """async () => {
          const app = window.jupyterapp;
          const w = app.shell.currentWidget;
          if (!w) { return; }
          if (w.context) { await w.context.save(); }
          w.close();
        }"""
    )
    await page.wait_for_timeout(300)


async def _status_count(page, expected: int) -> None:
    await _wait(
        page,
        "n => document.querySelector('.tl-statusbar')?.dataset.count === String(n)",
        arg=expected,
    )


async def test_panel_follows_cells_selection_and_notebooks(lab, files):
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        await _open(page, lab)

        # a code cell, then typing in it; the status bar counts for the first tokenizer
        await _cell(page, 0)
        await _wait_for_ids(page, [31373, 995])
        assert await page.get_attribute(PANEL, "data-source-kind") == "code"
        await _status_count(page, 2)
        await page.keyboard.press("Control+a")
        await page.keyboard.type("I love NLP")
        await _wait_for_ids(page, [40, 1842, 399, 19930])
        await _status_count(page, 4)
        assert "4 tokens" in await page.locator(f"{PANEL} .tl-status").inner_text()
        assert (
            await page.locator(f"{PANEL} .tl-chooser-option[data-tokenizer='gpt2'] .tl-chooser-count").inner_text()
            == "4"
        )
        # the chooser's "· 4" badge style stays on the badge: the result header reads "4 tokens"
        header_count = page.locator(f"{PANEL} .tl-result-header .tl-count")
        assert await header_count.evaluate("el => getComputedStyle(el, '::before').content") in ("none", "normal")

        # a markdown cell (rendered: selected by a click on it)
        await page.locator(".jp-Notebook .jp-Cell").nth(1).click()
        await _wait_for_ids(page, _gpt2("# Title here"))
        assert await page.get_attribute(PANEL, "data-source-kind") == "markdown"
        # a click on a token of the rendered cell opens its editor with those characters selected
        await page.locator(f"{PANEL} .tl-token[data-id='{_gpt2('# Title here')[1]}']").click()
        selected = "() => window.jupyterapp.shell.currentWidget.content.activeCell"
        await _wait(page, f"() => ({selected})().rendered === false")
        await _wait(
            page,
            f"() => {{ const e = ({selected})().editor; const r = e.getSelection();"
            " return e.getOffsetAt(r.end) - e.getOffsetAt(r.start) > 0; }",
        )
        await page.keyboard.press("Escape")

        # a selection: only the selected text is tokenized; collapsing it brings the whole cell back
        await _cell(page, 0)
        await page.keyboard.press("Control+End")
        for _ in range(3):
            await page.keyboard.press("Shift+ArrowLeft")
        await _wait_for_ids(page, _gpt2("NLP"))
        assert await page.get_attribute(PANEL, "data-selection") == "true"
        assert "Selection in code cell 1" in await page.locator(f"{PANEL} .tl-source").inner_text()
        await page.keyboard.press("End")
        await _wait_for_ids(page, [40, 1842, 399, 19930])
        assert await page.get_attribute(PANEL, "data-selection") == "false"

        # clicking a token selects its characters in the editor: code points become UTF-16 offsets
        await page.keyboard.press("Control+a")
        await page.keyboard.type("hi 😀 there")
        await _wait_for_ids(page, _gpt2("hi 😀 there"))
        # characters are counted as the token view counts them (the emoji is one, not two)
        assert "11 characters" not in await page.locator(f"{PANEL} .tl-source").inner_text()
        assert "10 characters" in await page.locator(f"{PANEL} .tl-source").inner_text()
        await page.locator(f"{PANEL} .tl-token[data-id='612']").click()
        await page.keyboard.press("Escape")  # the click also pinned the card
        assert await _editor_selection(page) == [5, 11]  # " there" after a surrogate pair
        # the panel keeps showing the whole cell: a selection it made is not the user's
        await page.wait_for_timeout(400)
        assert await _panel_ids(page) == _gpt2("hi 😀 there")

        # another notebook: the panel follows it; closing it returns to the first
        await page.evaluate("window.jupyterapp.commands.execute('docmanager:open', {path: 'other.ipynb'})")
        await page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content")
        await _cell(page, 0)
        await _wait_for_ids(page, _gpt2("NLP"))
        await _close_current(page)
        await _wait_for_ids(page, _gpt2("hi 😀 there"))

        # closing the last one: nothing to follow; reopening: followed again
        for _ in range(await page.evaluate("Array.from(window.jupyterapp.shell.widgets('main')).length")):
            await _close_current(page)  # closing the last tab may open a launcher: no notebook, no file
        await _wait(page, "() => document.querySelector('#tokenlens-panel').dataset.sourceKind === 'none'")
        assert "Nothing to tokenize" in await page.locator(f"{PANEL} .tl-status").inner_text()
        assert await _panel_ids(page) == []
        await page.evaluate("window.jupyterapp.commands.execute('docmanager:open', {path: 'other.ipynb'})")
        await page.wait_for_selector(".jp-NotebookPanel .jp-Cell .cm-content")
        await _cell(page, 0)
        await _wait_for_ids(page, _gpt2("NLP"))

        # the layout restorer keeps the panel open across a reload
        await page.wait_for_timeout(1500)  # the workspace is saved shortly after a change
        await page.reload()
        await page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60_000)
        await page.wait_for_selector(PANEL, state="visible", timeout=30_000)


async def test_file_editor_settings_commands_and_themes(lab, files):
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        await _open(page, lab)

        # the file editor, for each kind of text file
        for name, text in files.items():
            await page.evaluate(
                "p => window.jupyterapp.commands.execute('docmanager:open', {path: p, factory: 'Editor'})", name
            )
            await _wait(page, "p => window.jupyterapp.shell.currentWidget?.title.label === p", arg=name)
            await _wait_for_ids(page, _gpt2(text))
            assert await page.get_attribute(PANEL, "data-source-kind") == "file"
            assert name in await page.locator(f"{PANEL} .tl-source").inner_text()
        # typing and a selection in the file editor
        await page.evaluate(
            "() => window.jupyterapp.commands.execute('docmanager:open', {path: 'notes.txt', factory: 'Editor'})"
        )
        await _wait(page, "() => window.jupyterapp.shell.currentWidget?.title.label === 'notes.txt'")
        editor = page.locator(".jp-MainAreaWidget:not(.lm-mod-hidden) .jp-FileEditor .cm-content")
        await editor.click()
        await page.keyboard.press("Control+End")
        await page.keyboard.type(" today")
        await _wait_for_ids(page, _gpt2("I love NLP today"))
        await page.keyboard.press("Shift+Home")
        await _wait(page, "() => document.querySelector('#tokenlens-panel').dataset.selection === 'true'")
        await _wait_for_ids(page, _gpt2("I love NLP today"))
        await page.keyboard.press("End")
        await page.keyboard.type("!")
        await _wait_for_ids(page, _gpt2("I love NLP today!"))

        # commands: copy ids as a Python list; add tokenizers (listed, and a typed unknown name)
        copied = await page.evaluate("window.jupyterapp.commands.execute('tokenlens:copy-ids')")
        assert copied == "[" + ", ".join(map(str, _gpt2("I love NLP today!"))) + "]"
        await page.evaluate(
            "window.jupyterapp.commands.execute('tokenlens:add-tokenizer', {name: 'bert-base-uncased'})"
        )
        badge = f"{PANEL} .tl-chooser-option[data-tokenizer='bert-base-uncased'] .tl-chooser-count"
        n_bert = str(_count("I love NLP today!", "bert-base-uncased"))
        await _wait(page, f'n => document.querySelector("{badge}")?.textContent === n', arg=n_bert)
        # the view's special-token toggle asks again without [CLS] … [SEP], and back
        special = page.locator(f"{PANEL} .tl-opt-special input")
        assert await special.is_checked()
        await special.click()
        n_bare = str(_count("I love NLP today!", "bert-base-uncased", add_special_tokens=False))
        assert int(n_bare) == int(n_bert) - 2
        await _wait(page, f'n => document.querySelector("{badge}")?.textContent === n', arg=n_bare)
        await special.click()
        await _wait(page, f'n => document.querySelector("{badge}")?.textContent === n', arg=n_bert)
        await page.evaluate("window.jupyterapp.commands.execute('tokenlens:add-tokenizer')")
        assert await page.evaluate("document.activeElement.classList.contains('tl-chooser-search')")
        await page.keyboard.type("no-such-tokenizer")
        await page.keyboard.press("Enter")
        bad = f"{PANEL} .tl-chooser-option[data-tokenizer='no-such-tokenizer'] .tl-chooser-count"
        await _wait(page, f"() => document.querySelector(\"{bad}\")?.dataset.kind === 'error'")
        # the others still show; the unknown name says what went wrong in its own row
        assert await page.locator(badge).inner_text() == n_bert
        assert "no-such-tokenizer" in await page.locator(f"{PANEL} .tl-status").inner_text()
        # search filters the list; unticking removes a typed name
        await page.locator(f"{PANEL} .tl-chooser-option[data-tokenizer='no-such-tokenizer'] input").click()
        await _wait(page, "() => !document.querySelector(\"#tokenlens-panel [data-tokenizer='no-such-tokenizer']\")")
        await page.locator(f"{PANEL} .tl-chooser-search").fill("o200")
        assert await page.locator(f"{PANEL} .tl-chooser-option[data-tokenizer='cl100k_base']").is_hidden()
        assert await page.locator(f"{PANEL} .tl-chooser-option[data-tokenizer='o200k_base']").is_visible()
        await page.locator(f"{PANEL} .tl-chooser-search").fill("")
        await page.locator(f"{PANEL} .tl-chooser-option[data-tokenizer='bert-base-uncased'] input").click()

        # a settings change is applied live (through the settings editor, as a user does)
        await page.evaluate("window.jupyterapp.commands.execute('settingeditor:open', {query: 'Token Lens'})")
        field = page.locator("select[id$='colorBy']").first
        await field.wait_for(timeout=30_000)
        await field.select_option("position")
        await _wait(page, "() => document.querySelector('#tokenlens-panel .tl-body.tl-color-position')")
        await page.locator("input[id$='showIds']").first.click()
        await _wait(page, "() => !document.querySelector('#tokenlens-panel .tl-opt-ids input').checked")
        await page.screenshot(path=str(ARTIFACTS / "panel-settings.png"))
        await page.evaluate("window.jupyterapp.shell.currentWidget.close()")

        # light and dark themes, English and Odia, four tokenizers with their ids
        await page.evaluate(
            "() => window.jupyterapp.commands.execute('docmanager:open', {path: 'notes.txt', factory: 'Editor'})"
        )
        await page.locator(f"{PANEL} .tl-opt-color button[data-value='id']").click()
        await page.locator(f"{PANEL} .tl-opt-ids input").click()
        for name in FOUR[1:]:
            await page.evaluate("n => window.jupyterapp.commands.execute('tokenlens:add-tokenizer', {name: n})", name)
        await _wait(
            page,
            "n => document.querySelectorAll('#tokenlens-panel .tl-counts tbody tr').length === n"
            " && document.querySelector('#tokenlens-panel .tl-aligned .tl-bar-id')",
            arg=len(FOUR),
        )
        # the first view shows ids: GPT-2's lane carries each token's id
        order = await page.locator(f"{PANEL} .tl-counts tbody tr").evaluate_all(
            "els => els.map(e => e.dataset.tokenizer)"
        )
        gpt2_lane = f"{PANEL} .tl-aligned .tl-lane[data-lane='{order.index('gpt2')}'] .tl-bar-id"
        assert [int(x) for x in await page.locator(gpt2_lane).all_inner_texts()] == _gpt2("I love NLP today!")
        assert await page.evaluate(CLIPPED) == []
        await page.screenshot(path=str(ARTIFACTS / "panel-file-light.png"))
        light = await page.evaluate("getComputedStyle(document.querySelector('#tokenlens-panel')).backgroundColor")
        await page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
        await _wait(page, "document.body.dataset.jpThemeLight === 'false'")
        await page.wait_for_timeout(800)
        dark = await page.evaluate("getComputedStyle(document.querySelector('#tokenlens-panel')).backgroundColor")
        assert light != dark
        await page.screenshot(path=str(ARTIFACTS / "panel-file-dark.png"))
        await editor.click()
        await page.keyboard.press("Control+a")
        await page.keyboard.type("ଓଡ଼ିଆ ଭାଷା ସୁନ୍ଦର")
        await _wait(
            page, "() => document.querySelector('#tokenlens-panel .tl-source').textContent.includes('17 characters')"
        )
        await page.wait_for_timeout(800)
        await page.screenshot(path=str(ARTIFACTS / "panel-odia-dark.png"))
        # at the panel's default width nothing is cut: the counts, the tokenizers' full names
        assert await page.evaluate(CLIPPED) == []
        names = await page.locator(f"{PANEL} .tl-counts .tl-n-name").all_inner_texts()
        assert sorted(names) == sorted(FOUR)
        # each tokenizer's vocabulary size, from the server's answer
        vocab = f"{PANEL} .tl-counts tr[data-tokenizer='gpt2'] .tl-n-vocab"
        assert await page.locator(vocab).inner_text() == "50,257"
        labels = page.locator(f"{PANEL} .tl-aligned .tl-col-label").first.locator(".tl-lane-label")
        assert sorted(await labels.all_inner_texts()) == sorted(FOUR)
        await page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
        await _wait(page, "document.body.dataset.jpThemeLight === 'true'")
        await page.wait_for_timeout(800)
        await page.screenshot(path=str(ARTIFACTS / "panel-odia-light.png"))
        # leave the module's settings as they were
        await page.evaluate(
            "window.jupyterapp.commands.execute('docmanager:open', {path: 'notes.txt', factory: 'Editor'})"
        )
        for name in FOUR[1:]:
            await page.locator(f"{PANEL} .tl-chooser-option[data-tokenizer='{name}'] input").click()

        # chips readable in every theme, high contrast included: token text and ids at WCAG AA
        await editor.click()
        await page.keyboard.press("Control+a")
        await page.keyboard.type("ଓଡ଼ିଆ ଭାଷା. I love NLP, 2024 😀 <|endoftext|>")
        await _wait(page, "() => document.querySelectorAll('#tokenlens-panel .tl-token[data-id]').length > 20")
        contrast = {}
        for theme in ("JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast"):
            await page.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
            await _wait(page, "t => document.body.dataset.jpThemeName === t", arg=theme)
            await page.wait_for_timeout(800)
            contrast[theme] = await _min_contrast(page)
        await page.screenshot(path=str(ARTIFACTS / "panel-high-contrast.png"))
        await page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
        print("chip contrast", contrast)
        for theme, c in contrast.items():
            # WCAG AA for small text is 4.5:1, for the token text and for the id under it
            assert c["n"] > 20 and c["text"] >= 4.5 and c["ids"] >= 4.5, (theme, c)
        # the high-contrast theme is higher still (AAA: 7:1)
        assert contrast["JupyterLab Dark High Contrast"]["text"] >= 7
        assert contrast["JupyterLab Dark High Contrast"]["ids"] >= 7


FOUR = ["gpt2", "bert-base-uncased", "llama-2", "cl100k_base"]

# What the panel's compare view cuts off: a box whose content is wider than it (the counts
# table, a cell, a lane's name, an id), or that reaches past the panel's right edge.
CLIPPED = """() => {
  const panel = document.querySelector('#tokenlens-panel');
  const edge = panel.getBoundingClientRect().right;
  const out = [];
  const boxes = '.tl-counts-wrap, .tl-counts td, .tl-lane-label, .tl-bar-id, .tl-marker';
  for (const el of panel.querySelectorAll(boxes)) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;  // not drawn, so not cut
    if (el.scrollWidth > el.clientWidth + 0.5 || el.getBoundingClientRect().right > edge + 0.5) {
      out.push([el.className, el.textContent, el.scrollWidth, el.clientWidth]);
    }
  }
  return out;
}"""


# The lowest WCAG contrast ratio, over the panel's token chips, of the token text and of the
# id under it against the chip's own background (alpha blended over the panel's background).
MIN_CONTRAST = """() => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const over = (fg, bg) => { const a = fg.length > 3 ? fg[3] : 1; return [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a)); };
  const lum = rgb => { const l = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const panel = parse(getComputedStyle(document.querySelector('#tokenlens-panel')).backgroundColor);
  let text = 99, ids = 99, n = 0;
  for (const chip of document.querySelectorAll('#tokenlens-panel .tl-token:not(.tl-special)')) {
    const cs = getComputedStyle(chip);
    const bg = over(parse(cs.backgroundColor), panel);
    text = Math.min(text, ratio(over(parse(cs.color), bg), bg));
    ids = Math.min(ids, ratio(over(parse(getComputedStyle(chip, '::after').color), bg), bg));
    n++;
  }
  return { text, ids, n };
}"""


async def _min_contrast(page) -> dict:
    return await page.evaluate(MIN_CONTRAST)


async def _route_tokenizers(page, handler) -> None:
    await page.route("**/tokenlens/tokenizers*", handler)


async def test_server_missing_or_another_version_is_said_plainly(lab, files):
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:

        async def missing(route):
            await route.fulfill(status=404, content_type="text/html", body="<html>404: Not Found</html>")

        await _route_tokenizers(page, missing)
        await page.route(
            "**/tokenlens/tokenize*",
            lambda route: route.fulfill(status=404, content_type="text/html", body="<html>404</html>"),
        )
        await page.goto(_url(lab))
        await _wait(page, "window.jupyterapp && window.jupyterapp.commands.hasCommand('tokenlens:copy-ids')")
        await page.evaluate("window.jupyterapp.shell.activateById('tokenlens-panel')")
        notice = page.locator(f"{PANEL} .tl-notice[data-kind='missing']")
        await notice.wait_for(timeout=30_000)
        text = await notice.inner_text()
        assert "pip install jupyterlab-tokenlens" in text and "enable" in text
        # the status bar shows a warning mark, and says why on hover, not a count that never comes
        status = page.locator(".tl-statusbar[data-error='true']")
        await status.wait_for(timeout=30_000)
        assert (await status.inner_text()).startswith("⚠")
        assert "server part" in await status.get_attribute("title")
        await page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content", timeout=60_000)
        await page.screenshot(path=str(ARTIFACTS / "panel-server-missing.png"))

    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:

        async def other_version(route):
            response = await route.fetch()
            body = await response.json()
            body["version"] = "9.9.9"
            await route.fulfill(response=response, json=body)

        await _route_tokenizers(page, other_version)
        await _open(page, lab)
        notice = page.locator(f"{PANEL} .tl-notice[data-kind='version']")
        await notice.wait_for(timeout=30_000)
        text = await notice.inner_text()
        assert "9.9.9" in text and "pip install" in text
        # the panel still works with what the server sends
        await _cell(page, 2)
        await _wait_for_ids(page, [12227, 2685])


async def _until(ready) -> None:
    while not ready():
        await asyncio.sleep(0.05)


BROWSER_COUNTS = "n => document.querySelector('#tokenlens-panel').dataset.browserCounts === n"
COUNTED = (
    "([n, by]) => { const p = document.querySelector('#tokenlens-panel');"
    " return p.dataset.chars === String(n) && p.dataset.countedBy === by; }"
)


async def test_counts_made_in_the_page_paint_before_the_answer_and_are_checked(lab, files):
    """GPT-2's count is made in the page (src/lab/bpe.ts) while the server's answer is still held
    back; the answer then draws the tokens and checks the count."""
    (lab["root"] / "count.ipynb").write_text(json.dumps(_cells([("code", "hello")])))
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        release = asyncio.Event()
        held = []

        async def hold(route):
            held.append(route.request.post_data_json["text"])
            await release.wait()
            await route.continue_()

        await _open(page, lab, "count.ipynb")
        await _cell(page, 0)
        await _wait_for_ids(page, _gpt2("hello"))
        await _wait(page, BROWSER_COUNTS, "gpt2")
        await page.route("**/tokenlens/tokenize*", hold)
        try:
            await page.keyboard.press("Control+End")
            # keystrokes a few frames apart: the first one's request leaves (once its frame is
            # painted) before the next keystroke, and is held
            await page.keyboard.type(" world ଓଡ଼ିଆ", delay=60)
            text = "hello world ଓଡ଼ିଆ"
            await _wait(page, COUNTED, [len(text), "browser"])
            n = _count(text, "gpt2")
            await _status_count(page, n)
            assert f"{n} tokens · gpt2" in await page.locator(f"{PANEL} .tl-status").inner_text()
            chooser = page.locator(f"{PANEL} .tl-chooser-option[data-tokenizer='gpt2'] .tl-chooser-count")
            assert await chooser.inner_text() == str(n)
            # the server has not answered, yet the new text's tokens are drawn: made in the page
            await asyncio.wait_for(_until(lambda: held), 10)
            await _wait_for_ids(page, _gpt2(text))
            assert await page.get_attribute(PANEL, "data-drawn-chars") == str(len(text))
            # every count shown from now on, as the held answers come in
            await page.evaluate(
                """() => { const p = document.querySelector('#tokenlens-panel'); window.__chars = [];
                   new MutationObserver(() => window.__chars.push(p.dataset.chars))
                     .observe(p, { attributes: true, attributeFilter: ['data-chars'] }); }"""
            )
        finally:
            release.set()
        await _wait_for_ids(page, _gpt2(text))
        await _wait(page, COUNTED, [len(text), "server"])
        # the first answer held was for an older text ("hello "): it drew its tokens, but the
        # counts, already the newer text's, never went back to it
        assert held[0] != text
        assert set(await page.evaluate("window.__chars")) <= {str(len(text))}
        assert await page.get_attribute(PANEL, "data-count-mismatch") is None
        await page.unroute("**/tokenlens/tokenize*")
        await page.screenshot(path=str(ARTIFACTS / "panel-counted-in-page.png"))


async def test_a_count_the_server_disagrees_with_switches_counting_in_the_page_off(lab, files):
    """Rank tables damaged on the way (a token dropped): the page counts " world" as two tokens,
    the server as one. The server's count is shown, and GPT-2 is counted on the server from then on."""
    (lab["root"] / "mismatch.ipynb").write_text(json.dumps(_cells([("code", "hello")])))
    world = _gpt2(" world")[0]
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        warnings = []
        page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)

        async def damage(route):
            response = await route.fetch()
            table = await response.json()
            table["ranks"] = "\n".join(l for l in table["ranks"].split("\n") if not l.endswith(f" {world}"))
            await route.fulfill(response=response, json=table)

        await page.route("**/tokenlens/ranks*", damage)
        await _open(page, lab, "mismatch.ipynb")
        await _cell(page, 0)
        await _wait_for_ids(page, _gpt2("hello"))
        await _wait(page, BROWSER_COUNTS, "gpt2")
        await page.keyboard.press("Control+End")
        await page.keyboard.type(" world")
        await _wait_for_ids(page, _gpt2("hello world"))
        await _wait(page, "() => document.querySelector('#tokenlens-panel').dataset.countMismatch === 'gpt2'")
        await _status_count(page, 2)
        assert "2 tokens · gpt2" in await page.locator(f"{PANEL} .tl-status").inner_text()
        assert await page.get_attribute(PANEL, "data-browser-counts") == ""
        assert any("counted on the server only from now on" in w for w in warnings), warnings
        # the next keystroke's count is the server's
        await page.keyboard.type("s")
        await _wait(page, COUNTED, [len("hello worlds"), "server"])
        await _status_count(page, _count("hello worlds", "gpt2"))
