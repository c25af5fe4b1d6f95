"""Every token is drawn in the aligned view, with the server's segments or the page's own.

The page tokenizes without the server now (src/lab/inpage), so its results carry no
``segments`` and the renderer derives them (src/render/segments.ts). BERT marks ``[UNK]`` as a
special token although it spells characters; derived as a zero-width special, it took no
column, and the ``[SEP]`` after a text whose last mark BERT drops was never drawn.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

import tokenlens

from ._harness import CHROMIUM, FLAGS, ROOT, SKIP_REASON, QuietHandler, have_chromium

pytestmark = pytest.mark.browser

if not have_chromium():  # pragma: no cover
    pytest.skip(SKIP_REASON, allow_module_level=True)

TEXT = "Odia, a language GPT-2 saw little of:\n\nଓଡ଼ିଆ ଭାଷା ଏକ ସୁନ୍ଦର ଭାଷା ଓଡ଼ିଆରେ ଲେଖନ୍ତୁ"
NAMES = ["gpt2", "bert-base-uncased", "llama-2", "o200k_base"]

# In-page: for each lane, the token indices its bars draw, in the order they first appear (a
# token spread over several columns draws a bar in each).
DRAWN = """n => [...Array(n).keys()].map(r => {
  const seen = [];
  for (const b of document.querySelectorAll(`#sample-sep .tl-lane[data-r="${r}"] .tl-bar`)) {
    const i = Number(b.dataset.index);
    if (!seen.includes(i)) seen.push(i);
  }
  return seen;
})"""


def _drawn(results: list[dict]) -> list[list[int]]:
    data = {"samples": {"sep": {"text": TEXT, "results": results}}, "explanations": {}}
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 900, "height": 900})
            body = json.dumps(data)
            page.route("**/samples.json", lambda route: route.fulfill(body=body, content_type="application/json"))
            page.goto(f"http://127.0.0.1:{server.server_port}/ui-tests/harness/index.html?only=sep&layout=aligned")
            page.wait_for_selector("body[data-ready='true']", state="attached")
            page.wait_for_selector("#sample-sep .tl-bar")
            drawn = page.evaluate(DRAWN, len(results))
            browser.close()
    finally:
        server.shutdown()
    return drawn


@pytest.mark.parametrize("segments", ["server", "derived"])
def test_the_aligned_view_draws_every_token(segments):
    results = [tokenlens.tokenize(TEXT, n, add_special_tokens=True).to_dict() for n in NAMES]
    bert = results[1]
    assert bert["ids"][-1] == 102 and bert["spans"][-1][0] < len(TEXT)  # [SEP] inside the last grapheme
    assert any(s and e > b for s, (b, e) in zip(bert["special"], bert["spans"]))  # [UNK] spells text
    if segments == "derived":
        for r in results:
            del r["segments"]  # as the page's own results come
    drawn = _drawn(results)
    for name, r, lane in zip(NAMES, results, drawn):
        assert lane == list(range(len(r["ids"]))), name
