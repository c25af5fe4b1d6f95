"""Debian's Chromium, the one browser here (no browser download works): its path and the flags
every script and test launches it with. The one home of both: tests/_harness.py, tests/test_browser.py,
benchmarks/_common.py, docs/shoot.py and this folder's shoot.py read them from here.

Plain Python with no imports of the project, so a script loads it by path
(``runpy.run_path``) without putting anything on ``sys.path``.
"""

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: no sandbox (root in a container), no GPU, and nothing that reaches for the network or a
#: first-run page, which would stall or colour a headless run
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
