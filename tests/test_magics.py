"""The magics in a fresh IPython shell."""

from __future__ import annotations

import tokenlens


def test_tokenize_cell_returns_comparison(shell):
    result = shell.run_cell("%%tokenize -t gpt2 -t bert-base-uncased -t llama-2\nI love NLP\n")
    assert result.success, result.error_in_exec
    cmp = result.result
    assert isinstance(cmp, tokenlens.Comparison)
    assert cmp.text == "I love NLP"
    assert cmp["gpt2"].ids == [40, 1842, 399, 19930]
    assert cmp["bert-base-uncased"].ids == [101, 1045, 2293, 17953, 2361, 102]
    assert cmp["llama-2"].ids == [1, 306, 5360, 405, 13208]


def test_default_tokenizer_and_out_variable(shell):
    result = shell.run_cell("%%tokenize --out toks\nI love NLP")
    assert result.success
    assert shell.user_ns["toks"]["gpt2"].ids == [40, 1842, 399, 19930]


def test_no_special(shell):
    result = shell.run_cell("%%tokenize -t bert-base-uncased --no-special\nI love NLP")
    assert result.result["bert-base-uncased"].ids == [1045, 2293, 17953, 2361]


def test_multiline_text_keeps_inner_newlines(shell):
    result = shell.run_cell("%%tokenize\nline one\nline two\n")
    assert result.result.text == "line one\nline two"


def test_help(shell, capsys):
    result = shell.run_cell("%%tokenize --help\nI love NLP")
    assert result.success and result.result is None
    out = capsys.readouterr().out
    assert "--tokenizer" in out and "%%tokenize -t gpt2" in out


def test_unknown_tokenizer_is_a_usage_error(shell, capsys):
    result = shell.run_cell("%%tokenize -t gpt-2\nI love NLP")
    assert not result.success
    err = capsys.readouterr().err
    assert "UsageError" in err and "did you mean 'gpt2'" in err
    assert "Traceback" not in err


def test_bad_out_name(shell, capsys):
    result = shell.run_cell("%%tokenize --out 1x\nI love NLP")
    assert not result.success
    assert "Python variable name" in capsys.readouterr().err


def test_result_displays_as_widget_with_static_fallback(shell):
    cmp = shell.run_cell("%%tokenize -t gpt2 -t llama-2\nI love NLP").result
    data, _meta = shell.display_formatter.format(cmp)
    view = data["application/vnd.jupyter.widget-view+json"]
    widget = cmp.widget
    assert view["model_id"] == widget.model_id
    assert [r["ids"] for r in widget.results] == [[40, 1842, 399, 19930], [1, 306, 5360, 405, 13208]]
    assert widget.text == "I love NLP"
    html = data["text/html"]
    assert "<script" not in html and "gpt2" in html
    assert 'title="id 1842 · piece Ġlove"' in html  # the id and the vocabulary's own piece


def test_static_html_uses_the_same_colours_as_the_renderer():
    """The saved-notebook copy colours a token exactly as the live views do."""
    import json
    import shutil
    import subprocess
    from pathlib import Path

    from tokenlens.views.html import token_hue

    colors = Path(__file__).resolve().parents[1] / "lib" / "render" / "colors.js"
    node = shutil.which("node")
    assert node and colors.is_file(), "the front end is built by `make` (jlpm build) before the tests"
    ids = [0, 1, 2, 40, 1842, 399, 19930, 50256, 100257, 199999, 2**31 - 1]
    script = f"import({json.dumps(colors.as_uri())}).then(m => console.log(JSON.stringify({ids}.map(m.hueForId))))"
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [token_hue(i) for i in ids]
