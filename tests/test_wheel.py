"""A plain pip install (issue 20, item 3), tested for real.

The tree is copied, its front end built for production, then ``python -m build`` makes the sdist
and, from the unpacked sdist, the wheel, with no Node on the PATH. The wheel is installed into a
fresh virtual environment (no Node on its PATH, run from a temporary folder, so no checkout is on
``sys.path``, and without torch); there ``jupyter labextension list`` and ``jupyter server
extension list`` must show the extension enabled, and a JupyterLab started from that environment
must show GPT-2's ids of typed text in the Tokens panel, in Debian's Chromium.

The build is cached in tests/artifacts/wheel/ under a hash of the tree's files, so a rerun
without changes only installs and browses.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: `build` depends on tomli there
    import tomli as tomllib

from .conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CACHE = ARTIFACTS / "wheel"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
BUILDER = PYPROJECT["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
VERSION = json.loads((ROOT / "package.json").read_text())["version"]
LABEXT = "share/jupyter/labextensions/jupyterlab-tokenlens/"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/jupyterlab_tokenlens.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TEXT = "Installed from a wheel: no Node, no checkout."


def _run(cmd: list, **kwargs) -> str:
    """Run a command; on failure the test shows its output rather than a bare exit status."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    out = ANSI.sub("", done.stdout + done.stderr)
    if done.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{out[-6000:]}")
    return out


def _tree_files() -> list[str]:
    """What a fresh clone of this working tree would hold: tracked files and untracked, unignored ones."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT)
    # node_modules is ignored as a folder, but git lists it where it is a symbolic link to one.
    return sorted({p for p in listed.split("\0") if p and p != "node_modules" and os.path.lexists(ROOT / p)})


def _tree_hash(files: list[str]) -> str:
    digest = hashlib.sha256()
    for rel in files:
        path = ROOT / rel
        body = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        digest.update(rel.encode() + b"\0" + hashlib.sha256(body).digest())
    return digest.hexdigest()[:20]


def _no_node_path(folder: Path) -> str:
    """An empty folder as the whole PATH, checked to hold no node."""
    folder.mkdir(parents=True, exist_ok=True)
    assert shutil.which("node", path=str(folder)) is None
    return str(folder)


def _build(files: list[str], out: Path) -> None:
    src = out / "src"
    for rel in files:
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target, follow_symlinks=False)
    # The checkout's node_modules (made by `make setup`) serves the copy; the build only reads it.
    assert (ROOT / "node_modules").is_dir(), "node_modules is missing: run `make setup` first"
    (src / "node_modules").symlink_to(ROOT / "node_modules")
    # The same production build the hatch hook runs in a fresh clone (its build_cmd); its scripts
    # call jlpm by name, so this environment's bin folder leads the PATH as `make` has it.
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    _run(["jlpm", "run", BUILDER["build-kwargs"]["build_cmd"]], cwd=src, env=env)
    # sdist, then the wheel from the unpacked sdist: neither may need Node.
    env = {"PATH": _no_node_path(out / "empty-bin"), "HOME": os.environ.get("HOME", str(out))}
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out / "dist", src], cwd=out, env=env)
    shutil.rmtree(src)


@pytest.fixture(scope="module")
def dist() -> Path:
    """The folder holding this tree's wheel and sdist, built once per tree content."""
    files = _tree_files()
    done = CACHE / _tree_hash(files)
    if not (done / "dist").is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        work = CACHE / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            _build(files, work)
            if not done.exists():  # a concurrent run may have finished the same tree first
                os.replace(work, done)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _prune_cache(keep=done)
    return done / "dist"


def _prune_cache(keep: Path, builds: int = 3) -> None:
    """Keep the newest few builds (another run may still be installing one) and drop the half-built
    folders of runs that have ended."""
    finished = sorted((p for p in CACHE.iterdir() if not p.name.startswith(".tmp-")), key=lambda p: p.stat().st_mtime)
    for old in finished[:-builds]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    for half in CACHE.glob(".tmp-*"):
        try:
            os.kill(int(half.name.split("-")[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(half, ignore_errors=True)
        except (ValueError, PermissionError):
            pass


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("*.whl")
    return wheel


def test_wheel_holds_the_extension_and_nothing_else(dist):
    wheel = _wheel(dist)
    assert wheel.name == f"jupyterlab_tokenlens-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        data = f"jupyterlab_tokenlens-{VERSION}.data/data/"
        lab_package = json.loads(z.read(data + LABEXT + "package.json"))
        server_config = json.loads(z.read(data + SERVER_CONFIG))
    for target in BUILDER["ensured-targets"]:
        packed = target.replace("jupyterlab_tokenlens/labextension/", data + LABEXT)
        assert packed in names, f"{target} is not in the wheel"
    for bundle in ("widget", "finetune", "dataset", "train_report", "pipeline", "predict"):
        assert {f"tokenlens/static/{bundle}.js", f"tokenlens/static/{bundle}.css"} <= names
    assert any(n.startswith(data + LABEXT + "static/remoteEntry.") for n in names)
    assert data + LABEXT + "install.json" in names
    assert "tokenlens/__init__.pyi" in names
    assert lab_package["version"] == VERSION
    assert "_build" in lab_package["jupyterlab"], "the labextension in the wheel was never built"
    assert server_config["ServerApp"]["jpserver_extensions"] == {"jupyterlab_tokenlens": True}
    stray = [n for n in names if n.startswith(("tests/", "benchmarks/", "src/")) or "node_modules" in n]
    assert not stray, stray
    assert not [n for n in names if n.endswith(".map")], "a production build has no source maps"


def test_sdist_holds_the_sources_and_built_front_end(dist):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert {"package.json", "yarn.lock", ".yarnrc.yml", "pyproject.toml", "src/lab/index.ts"} <= names
    assert "jupyterlab_tokenlens/labextension/package.json" in names
    assert "tokenlens/static/widget.js" in names
    assert not [n for n in names if "node_modules" in n or n.startswith(("tests/artifacts", "lib/", ".venv"))]


def test_twine_accepts_both(dist):
    out = _run([sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir())])
    assert out.count("PASSED") == 2, out


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory):
    """A fresh virtual environment with the wheel and JupyterLab, and the environment to run it in."""
    home = tmp_path_factory.mktemp("pip-install")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    assert shutil.which("node", path=str(bin_dir)) is None
    # Only pip's own settings (indexes, cache) come from outside; Jupyter's folders are the test's.
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in ("HOME", "LANG", "LC_ALL")}
    env |= {
        "PATH": str(bin_dir),
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "TOKENLENS_PATH": os.environ["TOKENLENS_PATH"],
        "TOKENLENS_REGISTRY": str(home / "registry"),
        "HF_HUB_OFFLINE": "1",
    }
    # JupyterLab itself is the user's, not a dependency of the extension (as for any prebuilt one).
    _run([bin_dir / "python", "-m", "pip", "install", "--quiet", _wheel(dist), "jupyterlab>=4,<5"], cwd=home, env=env)
    yield {"venv": venv, "bin": bin_dir, "env": env, "home": home}
    shutil.rmtree(venv, ignore_errors=True)  # half a gigabyte; the logs beside it stay


def test_installed_from_site_packages_without_torch(installed):
    probe = (
        "import importlib.util, json, sys, tokenlens, jupyterlab_tokenlens;"
        "print(json.dumps([tokenlens.__file__, jupyterlab_tokenlens.__file__, sys.path,"
        " importlib.util.find_spec('torch') is None]))"
    )
    out = _run([installed["bin"] / "python", "-c", probe], cwd=installed["home"], env=installed["env"])
    library, server, path, no_torch = json.loads(out.strip().splitlines()[-1])
    site = str(installed["venv"] / "lib")
    assert library.startswith(site) and server.startswith(site)
    assert not [p for p in path if p and Path(p).resolve().is_relative_to(ROOT)]
    assert no_torch, "the core install pulled torch; it belongs to the [finetune] extra"


def test_jupyter_lists_both_extensions_enabled(installed):
    bin_dir, env, cwd = installed["bin"], installed["env"], installed["home"]
    labexts = _run([bin_dir / "jupyter", "labextension", "list"], cwd=cwd, env=env)
    # The extension's line sits under the fresh environment's own labextensions folder.
    section = re.search(
        rf"^{re.escape(str(installed['venv'] / 'share/jupyter/labextensions'))}\n((?:[ \t]+.*\n)+)", labexts, re.M
    )
    assert section, labexts
    line = re.search(r"^\s*jupyterlab-tokenlens v(\S+) enabled OK \(python, jupyterlab-tokenlens\)$", section[1], re.M)
    assert line and line[1] == VERSION, labexts
    assert "Disabled extensions" not in labexts, labexts

    servers = _run([bin_dir / "jupyter", "server", "extension", "list"], cwd=cwd, env=env)
    config = re.search(
        rf"^Config dir: {re.escape(str(installed['venv'] / 'etc/jupyter'))}\n((?:[ \t]+.*\n)+)", servers, re.M
    )
    assert config, servers
    assert re.search(r"^\s+jupyterlab_tokenlens enabled$", config[1], re.M), servers
    assert re.search(rf"^\s+jupyterlab_tokenlens {re.escape(VERSION)} OK$", config[1], re.M), servers


def _reference_gpt2_ids(text: str) -> list[int]:
    """GPT-2's ids from tiktoken on the shared rank file, and the same from tokenlens here."""
    import tiktoken
    import tiktoken.load
    from tiktoken_ext.openai_public import r50k_pat_str

    ranks = tiktoken.load.load_tiktoken_bpe(str(Path(os.environ["TOKENLENS_PATH"]) / "gpt2" / "r50k_base.tiktoken"))
    ids = tiktoken.Encoding(name="gpt2-shared", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={}).encode(
        text
    )
    import tokenlens

    assert tokenlens.tokenize(text, "gpt2").ids == ids
    return ids


@pytest.fixture(scope="module")
def installed_lab(installed):
    """JupyterLab run by the fresh environment's Python, from outside the checkout."""
    # Imported here: test_browser skips (with its reason) where Chromium is missing, and only
    # the browser test needs it.
    from .test_browser import _notebook, lab_args, serve_jupyter

    root = installed["home"] / "lab"
    root.mkdir()
    (root / "demo.ipynb").write_text(json.dumps(_notebook(["hello world"])))
    yield from serve_jupyter(
        root,
        "jupyterlab",
        lab_args(root),
        python=installed["bin"] / "python",
        env=installed["env"],
        cwd=installed["home"],
    )


async def test_panel_works_from_the_installed_wheel(installed_lab):
    from .test_browser import _open_lab, _select_cell, _wait_for_ids, chromium_page

    expected = _reference_gpt2_ids(TEXT)
    async with chromium_page(viewport={"width": 1400, "height": 850}) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await _open_lab(page, installed_lab)
        await page.evaluate("window.jupyterapp.commands.execute('tokenlens:toggle-panel')")
        await page.wait_for_selector("#tokenlens-panel", state="visible")
        await _select_cell(page, 0)
        await _wait_for_ids(page, [31373, 995])  # "hello world"
        await page.keyboard.press("Control+a")
        await page.keyboard.type(TEXT)
        await _wait_for_ids(page, expected)
        status = await page.locator("#tokenlens-panel .tl-status").inner_text()
        assert f"{len(expected)} tokens" in status, status
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "wheel-install-panel.png"))
    assert not errors, errors
    log = (installed_lab["root"] / "lab.log").read_text()
    assert "Traceback" not in log, log
