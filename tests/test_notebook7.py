"""A real Jupyter Notebook 7 in Debian's Chromium: the Tokens panel sits in Notebook's right sidebar
and follows the active cell of the notebook page and the text of the file editor page, with the
ids tokenlens gives in Python. Notebook 7 has no status bar, so the count is only in the panel.

Screenshots land in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import json

import pytest

from .test_browser import ARTIFACTS, _notebook, _select_cell, _wait_for_ids, chromium_page, serve_jupyter

pytestmark = pytest.mark.browser

PANEL = "#tokenlens-panel"
#: uncaught errors Notebook 7.6 raises by itself (seen with this extension disabled too)
NOTEBOOK_OWN_ERRORS = {"Cannot read properties of undefined (reading 'schema')"}


def _gpt2(text: str) -> list[int]:
    import tokenlens

    return list(tokenlens.tokenize(text, "gpt2").ids)


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook7")
    (root / "demo.ipynb").write_text(json.dumps(_notebook(["hello world", "second cell"])))
    (root / "notes.txt").write_text("Tokenizers split text into pieces.")
    yield from serve_jupyter(
        root,
        "notebook",
        [
            "--JupyterNotebookApp.expose_app_in_browser=True",
            f"--JupyterNotebookApp.user_settings_dir={root / '.settings'}",
            f"--JupyterNotebookApp.workspaces_dir={root / '.workspaces'}",
        ],
    )


async def _open(page, server, path: str, ready: str) -> list[str]:
    """Open a Notebook 7 page, wait for `ready` and our commands; collect uncaught errors and console errors naming tokenlens."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "tokenlens" in m.text.lower() else None)
    page.on("pageerror", lambda e: None if str(e) in NOTEBOOK_OWN_ERRORS else errors.append(f"{e} @ {e.stack}"))
    await page.goto(f"{server['url']}/{path}?token={server['token']}")
    await page.wait_for_selector(ready, timeout=60_000)
    await page.wait_for_function(
        "window.jupyterapp && window.jupyterapp.name === 'Jupyter Notebook'"
        " && window.jupyterapp.commands.hasCommand('tokenlens:toggle-panel')"
    )
    return errors


async def _toggle(page) -> None:
    await page.evaluate("window.jupyterapp.commands.execute('tokenlens:toggle-panel')")


async def _in_right_sidebar(page) -> bool:
    return await page.evaluate(
        "Array.from(window.jupyterapp.shell.widgets('right')).some(w => w.id === 'tokenlens-panel')"
    )


async def test_panel_follows_the_active_cell_in_notebook7(notebook7):
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        errors = await _open(page, notebook7, "notebooks/demo.ipynb", ".jp-Notebook .jp-Cell .cm-content")
        assert await _in_right_sidebar(page)
        await _toggle(page)
        await page.wait_for_selector(PANEL, state="visible")

        await _select_cell(page, 0)
        await _wait_for_ids(page, _gpt2("hello world"))
        await page.keyboard.press("Control+a")
        await page.keyboard.type("I love NLP")
        await _wait_for_ids(page, _gpt2("I love NLP"))
        assert "4 tokens" in await page.locator(f"{PANEL} .tl-status").inner_text()
        await _select_cell(page, 1)
        await _wait_for_ids(page, _gpt2("second cell"))
        await page.screenshot(path=str(ARTIFACTS / "notebook7-panel.png"))

        # Notebook 7 provides no status bar; the count would sit there if it did.
        has_status_bar = await page.evaluate("window.jupyterapp.hasPlugin('@jupyterlab/statusbar-extension:plugin')")
        status_items = page.locator(".tl-statusbar")
        if has_status_bar:
            assert "2 tokens" in await status_items.inner_text()
        else:
            assert await status_items.count() == 0

        # Toggling again closes the sidebar: Notebook's shell collapses without ILabShell.
        await _toggle(page)
        await page.wait_for_selector(PANEL, state="hidden", timeout=5_000)
        await _toggle(page)
        await page.wait_for_selector(PANEL, state="visible")
        assert not errors, errors


async def test_panel_follows_the_file_editor_in_notebook7(notebook7):
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        errors = await _open(page, notebook7, "edit/notes.txt", ".jp-FileEditor .cm-content")
        assert await _in_right_sidebar(page)
        await _toggle(page)
        await page.wait_for_selector(PANEL, state="visible")
        await _wait_for_ids(page, _gpt2("Tokenizers split text into pieces."))
        await page.locator(".jp-FileEditor .cm-content").click()
        await page.keyboard.press("Control+a")
        await page.keyboard.type("hello world")
        await _wait_for_ids(page, _gpt2("hello world"))
        await page.screenshot(path=str(ARTIFACTS / "notebook7-editor.png"))
        assert not errors, errors


async def test_magic_widget_renders_in_notebook7(notebook7):
    """%%tokenize's anywidget in a real kernel's output, drawn by Notebook 7's widget manager."""
    cells = ["%load_ext tokenlens", "%%tokenize -t gpt2\nI love NLP"]
    (notebook7["root"] / "widgets.ipynb").write_text(json.dumps(_notebook(cells)))
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        errors = await _open(page, notebook7, "notebooks/widgets.ipynb", ".jp-Notebook .jp-Cell .cm-content")
        await page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.connectionStatus"
            " === 'connected'",
            timeout=120_000,
        )
        await page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        chips = page.locator(".jp-OutputArea-output .tl-widget .tl-token")
        await chips.first.wait_for(timeout=120_000)
        shown = [int(i) for i in await chips.evaluate_all("els => els.map(e => e.dataset.id)")]
        assert shown == _gpt2("I love NLP")
        await page.screenshot(path=str(ARTIFACTS / "notebook7-widget.png"))
        assert not errors, errors
