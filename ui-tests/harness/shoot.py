"""Screenshot the renderer harness in Debian's Chromium, light and dark.

Run from the repo root after `jlpm build:widget`:
    .venv/bin/python ui-tests/harness/shoot.py [OUTDIR]   (default /tmp/tokenlens-harness)
"""
import functools
import http.server
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tokenlens-harness")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(QuietHandler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/ui-tests/harness/index.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 800, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and "favicon" not in m.location.get("url", "") and errors.append(m.text))
        for theme in ("light", "dark"):
            page.goto(f"{url}?theme={theme}&reps=20")
            page.wait_for_selector("body[data-ready='true']")
            page.wait_for_selector("#sample-long .tl-root[data-rendered='complete']")
            for name in ("english", "odia", "emoji", "errors"):
                page.locator(f"#sample-{name}").screenshot(path=str(OUT / f"{name}-{theme}.png"))
        # A long text renders in batches and then completes.
        page.goto(f"{url}?reps=3000")
        page.wait_for_selector("body[data-ready='true']")
        partial = page.eval_on_selector("#sample-long .tl-root", "el => el.dataset.rendered")
        page.wait_for_selector("#sample-long .tl-root[data-rendered='complete']", timeout=60000)
        n = page.locator("#sample-long .tl-token").count()
        print(f"long text: first state {partial}, then complete with {n} chips")
        browser.close()
    server.shutdown()
    if errors:
        sys.exit("page errors:\n" + "\n".join(errors))
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
