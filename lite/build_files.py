"""The tokenizers' files of the JupyterLite site: what the Tokens panel counts with when there is no
server. Writes ``manifest.json`` and one file per tokenizer into a folder of the built site
(``files/tokenlens/``), through the same ``page_manifest`` / ``page_file`` the server's route
sends, so the page counts with exactly what a Jupyter server would have given it.

The tokenizers are read where ``TOKENLENS_PATH`` finds them (``../shared`` in a checkout) and
written only into the build output: never into the repository, never beside their source.

    python lite/build_files.py OUTPUT_FOLDER [NAME ...]   # default: every folder on TOKENLENS_PATH
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

# The page fetches each file by the name written here; only plain names make plain URLs.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Both kinds are JSON (a rank table, a tokenizer.json), so any static server sends them as JSON.
SUFFIX = {"tiktoken": ".ranks.json", "tokenizers-json": ".tokenizer.json"}


def shared_names() -> list[str]:
    """Every tokenizer folder on TOKENLENS_PATH, in order (a name found twice counts once)."""
    roots = [Path(p) for p in os.environ.get("TOKENLENS_PATH", "").split(os.pathsep) if p]
    names: list[str] = []
    for root in roots:
        if root.is_dir():
            names += [d.name for d in sorted(root.iterdir()) if d.is_dir() and d.name not in names]
    if not names:
        raise SystemExit(
            "No tokenizers to put in the site: TOKENLENS_PATH names no folder of tokenizers "
            f"({os.environ.get('TOKENLENS_PATH', 'unset')!r}). Set it (make sets it to ../shared/data/tokenizers) "
            "or name the tokenizers on the command line."
        )
    return names


def write(folder: Path, names: list[str]) -> list[dict]:
    """Write the manifest and the files of `names` into `folder`; the manifest's entries.

    Each entry keeps ``page_manifest``'s fields, with ``url`` the file's name beside the
    manifest (the page resolves it against the manifest's own address). A tokenizer the page
    cannot run (``page: false``) keeps its entry and reason, and no file is written for it."""
    from tokenlens.core.api import SERVER_SANDBOX
    from tokenlens.core.page_files import page_file, page_manifest

    for name in names:
        if not SAFE_NAME.match(name):
            raise SystemExit(f"{name!r} is not a plain tokenizer name (letters, digits, '.', '_', '-'): rename it.")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in page_manifest(names, SERVER_SANDBOX):
        if entry.get("page", True) is False:
            written.append({k: v for k, v in entry.items() if k != "url"})
            continue
        body, _media_type = page_file(entry["name"], SERVER_SANDBOX)
        # The page checks what it fetched against the manifest's hash: a mismatch here is a bug.
        if hashlib.sha256(body).hexdigest() != entry["sha256"] or len(body) != entry["bytes"]:
            raise SystemExit(f"{entry['name']}: page_file's bytes do not match page_manifest's hash and size.")
        target = entry["name"] + SUFFIX[entry["kind"]]
        (folder / target).write_bytes(body)
        written.append({**entry, "url": target})
    (folder / "manifest.json").write_text(json.dumps({"tokenizers": written}, indent=1), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("output", type=Path, help="the folder to write into (the built site's files/tokenlens)")
    ap.add_argument("names", nargs="*", help="tokenizer names (default: every folder on TOKENLENS_PATH)")
    args = ap.parse_args(argv)
    for entry in write(args.output, args.names or shared_names()):
        said = f"{entry['bytes']:>10,} bytes" if "url" in entry else f"left to a server: {entry.get('reason')}"
        print(f"  {entry['name']:<20} {entry['kind']:<16} {said}", file=sys.stderr)


if __name__ == "__main__":
    main()
