"""mkdocs hooks: the site's pages come from the repository's own files, not from copies in docs/.

The home page is README.md, the notebook pages are the executed copies of examples/*.ipynb (see
docs/executed.py), and the repository's other guides (ARCHITECTURE.md, BENCHMARKS.md, …) are
pages too, so that the README's links keep working on the site.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import mkdocs.plugins
import nbformat
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executed import EXAMPLES, ROOT, executed

WIDGET = "application/vnd.jupyter.widget-view+json"
GUIDES = ["ARCHITECTURE.md", "BENCHMARKS.md", "CHANGELOG.md", "RELEASING.md", "SECURITY.md"]


def site_markdown(text: str) -> str:
    """A repository page's links, pointed at the site's copies (images, notebooks, guides)."""
    text = text.replace("](docs/images/", "](images/")
    return re.sub(r"\]\(examples/([\w.-]+)\.ipynb\)", r"](notebooks/\1.ipynb)", text)


def static_copy(nb) -> None:
    """Widgets show through the static HTML copy each view also saves: the site runs no kernel.

    A widget without one is a live progress bar (transformers' "Loading weights"), whose text
    form shows it stuck at 0%, so it is left out."""
    for cell in nb.cells:
        outputs = [o for o in cell.get("outputs", []) if WIDGET not in o.get("data", {}) or "text/html" in o["data"]]
        for out in outputs:
            out.get("data", {}).pop(WIDGET, None)
        if "outputs" in cell:
            cell.outputs = outputs


@mkdocs.plugins.event_priority(100)  # before mkdocs-jupyter, which must see the notebook pages
def on_files(files, config):
    build = ROOT / "build" / "docs" / "notebooks"
    build.mkdir(parents=True, exist_ok=True)
    pages = {"index.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    pages |= {name: (ROOT / name).read_text(encoding="utf-8") for name in GUIDES if (ROOT / name).exists()}
    for uri, text in pages.items():
        files.append(File.generated(config, uri, content=site_markdown(text)))
    for notebook in sorted(EXAMPLES.glob("*.ipynb")):
        nb = nbformat.read(executed(notebook), as_version=4)
        static_copy(nb)
        target = build / notebook.name
        nbformat.write(nb, target)
        # a plain File read from build/docs: mkdocs-jupyter cannot wrap a File.generated one
        uri = f"notebooks/{notebook.name}"
        files.append(File(uri, str(build.parent), config.site_dir, config.use_directory_urls))
    return files
