"""Build the JupyterLite site: JupyterLab with the Tokens panel, running in the page with no server
and no kernel, as static files (``make lite`` builds it into ``lite/_output``).

The site is ``jupyter lite build`` run on this folder's configuration (jupyter_lite_config.json:
the lab app only and nothing from the environment's own extensions; jupyter-lite.json;
overrides.json: the panel's tokenizers, no news) with the extension from a wheel or a built
labextension folder, the notebook(s) in ``content/``, then the tokenizers' files
(build_files.py) in ``files/tokenlens/``.

    python lite/build_site.py [--extension dist/….whl | jupyterlab_tokenlens/labextension] [--output lite/_output] [NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LITE = Path(__file__).resolve().parent
ROOT = LITE.parent
sys.path.insert(0, str(LITE))
from build_files import shared_names, write  # noqa: E402 - this folder is not a package


def default_extension() -> Path:
    """The newest wheel in dist/ (what a release ships), else the built labextension folder."""
    wheels = sorted((ROOT / "dist").glob("jupyterlab_tokenlens-*.whl"), key=lambda p: p.stat().st_mtime)
    if wheels:
        return wheels[-1]
    folder = ROOT / "jupyterlab_tokenlens" / "labextension"
    if not (folder / "package.json").exists():
        raise SystemExit(
            "No built extension to put in the site: run `make dist` (a wheel in dist/) or `jlpm build` "
            "(jupyterlab_tokenlens/labextension) first."
        )
    return folder


def build(output: Path, extension: Path | None = None, names: list[str] | None = None) -> Path:
    """Build the site into `output` (replaced whole) and return it."""
    extension = (extension or default_extension()).resolve()
    output = output.resolve()
    if output.exists():
        shutil.rmtree(output)
    # jupyterlite keeps its task database in the working folder and would skip steps it did for
    # another output: each build gets a fresh one, and nothing is written into this folder.
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyterlite_core",
                "build",
                f"--lite-dir={LITE}",
                f"--output-dir={output}",
                f"--LiteBuildConfig.federated_extensions={extension}",
            ],
            cwd=scratch,
            capture_output=True,
            text=True,
        )
    if done.returncode:
        raise SystemExit(f"jupyter lite build failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
    write(output / "files" / "tokenlens", names or shared_names())
    return output


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extension", type=Path, help="a wheel or a built labextension folder (default: see above)")
    ap.add_argument("--output", type=Path, default=LITE / "_output", help="the site's folder (replaced whole)")
    ap.add_argument("names", nargs="*", help="tokenizer names (default: every folder on TOKENLENS_PATH)")
    args = ap.parse_args(argv)
    site = build(args.output, args.extension, args.names)
    print(f"JupyterLite site in {site}: serve it with any static file server, e.g. python -m http.server -d {site}")


if __name__ == "__main__":
    main()
