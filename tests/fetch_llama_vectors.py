"""Fetch llama.cpp's tokenizer test vectors once, for tests/test_llama_vectors.py.

llama.cpp tests each tokenizer kind it reads with a vocabulary-only GGUF file
(``models/ggml-vocab-<name>.gguf``), texts (``.gguf.inp``, separated by ``__ggml_vocab_test__``
lines) and the ids it must give them (``.gguf.out``, one line per text). Those files travel in the
llama-cpp-python source distribution on PyPI; this script downloads that sdist (about 75 MB) with
pip, checks its SHA-256, and extracts only those files into a cache outside the checkout:

    ${XDG_CACHE_HOME:-~/.cache}/tokenlens/llama-vectors/<version>/

The version is pinned so that the vectors, and so the test, do not change under us. ``make test``
runs this first; run it yourself with ``.venv/bin/python tests/fetch_llama_vectors.py`` (or give
``--sdist FILE`` to extract an sdist you downloaded elsewhere).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.3.36"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
_MEMBER_DIR = "vendor/llama.cpp/models/"
_PREFIX = "ggml-vocab-"
_DONE = ".complete"  # written last, so a half-finished extraction is never taken for a whole one


def vectors_dir() -> Path:
    """Where the vectors of the pinned version live (whether or not they are there yet)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tokenlens" / "llama-vectors" / VERSION


def fetched() -> Path | None:
    """The folder of vectors, or None where they have not been fetched."""
    folder = vectors_dir()
    return folder if (folder / _DONE).is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(into: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"llama-cpp-python=={VERSION}",
        "-d",
        str(into),
    ]
    subprocess.run(command, check=True)
    found = sorted(into.glob(f"llama_cpp_python-{VERSION}.tar.gz"))
    if not found:
        raise SystemExit(f"pip did not leave llama_cpp_python-{VERSION}.tar.gz in {into}.")
    return found[0]


def _extract(sdist: Path, target: Path) -> int:
    """Copy the ``ggml-vocab-*`` regular files out of ``sdist`` into ``target``; their count."""
    count = 0
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar:
            _, _, inner = member.name.partition("/")
            if not (member.isfile() and inner.startswith(_MEMBER_DIR)):
                continue
            name = inner[len(_MEMBER_DIR) :]
            # only plain names: nothing the archive says may land outside the target folder
            if not name.startswith(_PREFIX) or "/" in name or "\\" in name or ".." in name:
                continue
            source = tar.extractfile(member)
            with source, (target / name).open("wb") as out:
                shutil.copyfileobj(source, out)
            count += 1
    return count


def fetch(sdist: Path | None = None) -> Path:
    """The vectors folder, fetched and extracted first where it is not there yet."""
    done = fetched()
    if done is not None:
        return done
    folder = vectors_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".fetch-") as tmp:
        work = Path(tmp)
        archive = sdist if sdist is not None else _download(work)
        actual = _sha256(archive)
        if actual != SDIST_SHA256:
            raise SystemExit(
                f"{archive} has SHA-256 {actual}, not the {SDIST_SHA256} of llama-cpp-python {VERSION}'s"
                " sdist; the file is damaged or another version. Delete it and run this script again."
            )
        staged = work / "vectors"
        staged.mkdir()
        if _extract(archive, staged) == 0:
            raise SystemExit(f"{archive} holds no {_MEMBER_DIR}{_PREFIX}* files.")
        (staged / _DONE).write_text(f"llama-cpp-python {VERSION}\n", encoding="utf-8")
        if folder.exists():  # an earlier, unfinished extraction (no marker): replace it
            shutil.rmtree(folder)
        staged.rename(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdist", type=Path, help="a llama-cpp-python sdist already downloaded")
    args = parser.parse_args(argv)
    folder = fetch(args.sdist)
    vocabs = sorted(p.name for p in folder.glob(f"{_PREFIX}*.gguf"))
    print(f"llama.cpp tokenizer vectors ({len(vocabs)} vocabularies, llama-cpp-python {VERSION}) in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
