"""Screenshot the renderer harness in Debian's Chromium: light and dark, aligned and stacked,
the token card, and a long text scrolled through.

Run from the repo root after `jlpm build:widget`:
    .venv/bin/python ui-tests/harness/shoot.py [OUTDIR]   (default /tmp/tokenlens-harness)
"""

import functools
import http.server
import sys
import threading
from pathlib import Path

from chromium import CHROMIUM, FLAGS  # this folder is on sys.path: the script's own
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tokenlens-harness")
SAMPLES = ("english", "odia", "emoji", "single", "unknown", "decoded", "errors")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve() -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/ui-tests/harness/index.html"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    server, url = serve()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 800, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: m.type == "error" and "favicon" not in m.location.get("url", "") and errors.append(m.text),
        )
        for theme in ("light", "dark"):
            for layout in ("aligned", "stacked"):
                page.goto(f"{url}?theme={theme}&layout={layout}")
                page.wait_for_selector("body[data-ready='true']")
                for name in SAMPLES:
                    if layout == "stacked" and name in ("single", "unknown", "decoded", "errors"):
                        continue
                    page.locator(f"#sample-{name}").screenshot(path=str(OUT / f"{name}-{layout}-{theme}.png"))
            # The card of " love" in GPT-2: rank and parents come from the (fake) kernel.
            page.goto(f"{url}?theme={theme}&only=single")
            page.wait_for_selector("body[data-ready='true']")
            page.hover("#sample-single .tl-token[data-id='1842']")
            page.wait_for_selector(".tl-card[data-state='ready']")
            page.screenshot(path=str(OUT / f"card-{theme}.png"), clip={"x": 0, "y": 0, "width": 800, "height": 330})
            page.goto(f"{url}?theme={theme}&only=odia&color=position")
            page.wait_for_selector("body[data-ready='true']")
            page.locator("#sample-odia").screenshot(path=str(OUT / f"odia-position-{theme}.png"))
        # A long text: drawn at once near the top, the rest as it scrolls into view.
        page.goto(f"{url}?reps=3000&only=long")
        page.wait_for_selector("body[data-ready='true']")
        scroller = page.locator("#sample-long .tl-scroll")
        n0 = page.locator("#sample-long .tl-token").count()
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(300)
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(300)
        last = page.locator("#sample-long .tl-token").last.get_attribute("data-index")
        print(f"long text: {n0} chips drawn at first; after scrolling to the end the last is token {last}")
        page.locator("#sample-long").screenshot(path=str(OUT / "long-end.png"))
        browser.close()
    server.shutdown()
    if errors:
        sys.exit("page errors:\n" + "\n".join(errors))
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
