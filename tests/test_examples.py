"""The example notebooks run top to bottom in a real kernel and show the key facts."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    return nb


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts.extend(str(data.get(k, "")) for k in ("text/plain", "text/html"))
    return "\n".join(parts)


def test_tokenize_notebook():
    nb = run("01-tokenize.ipynb")
    text = outputs_text(nb)
    assert "[40, 1842, 399, 19930]" in text
    assert "[101, 1045, 2293, 17953, 2361, 102]" in text
    assert "[1, 306, 5360, 405, 13208]" in text
    widget_outputs = [
        o for c in nb.cells for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widget_outputs) == 2
    assert "I love NLP" in text and "\ufffd" not in text


def test_pipeline_notebook():
    nb = run("05-pipeline-and-decoding.ipynb")
    text = outputs_text(nb)
    assert "✗ not the same text" in text and "✓ the same text" in text  # BERT lossy, GPT-2 exact
    assert "'I love NLP'" in text  # ids decoded back
    assert "word 3-grams" in text
