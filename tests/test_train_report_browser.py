"""The training report's front end in Debian's Chromium, fed from a real training run.

Screenshots land in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import json

import pytest

from tokenlens.views.train_report import built_rows
from tokenlens.vocab.train import train_tokenizer

from ._harness import ARTIFACTS, SKIP_REASON, harness_page, have_chromium
from .conftest import FLORES

pytestmark = pytest.mark.browser

if not have_chromium():  # pragma: no cover
    pytest.skip(SKIP_REASON, allow_module_level=True)


def test_report_in_chromium():
    result = train_tokenizer(
        files=FLORES / "ory_Orya.dev",
        name="odia-report",
        vocab_size=1500,
        heldout_files=FLORES / "ory_Orya.devtest",
        compare=["o200k_base"],
        progress=None,
    )
    words = result.example_words[:3]
    ARTIFACTS.mkdir(exist_ok=True)
    data = ARTIFACTS / "train_report_sample.json"
    data.write_text(json.dumps({"report": result.to_report(), "built": {w: built_rows(result, w) for w in words}}))

    with harness_page(f"train_report.html?data=/tests/artifacts/{data.name}", width=1050, height=1400) as page:
        url = page.url
        report = page.locator(".tl-train-report")
        assert "1,500 tokens (asked for 1,500)" in report.locator(".tl-train-vocab").inner_text()
        # the fit table's own rows (the token view inside the report has a counts table too)
        fit_rows = report.locator(".tl-train-fit tr[data-tokenizer]").evaluate_all(
            "els => els.filter(e => !e.closest('.tl-counts')).map(e => e.dataset.tokenizer)"
        )
        assert len(fit_rows) == 2 and fit_rows[1] == "o200k_base"
        assert report.locator("svg.tl-chart").count() == 2
        # the held-out sample: our tokenizer and the baseline aligned by character
        assert report.locator(".tl-train-sample .tl-counts tr[data-tokenizer]").count() == 2
        rows = report.locator(".tl-merge-table tbody tr")
        assert rows.count() == 200
        assert rows.first.get_attribute("data-id") == str(result.merges[0].id)
        # search by what a token reads as
        target = result.merges[300]
        page.fill(".tl-train-search", result.display(target.id))
        ids = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
        assert str(target.id) in ids and len(ids) < 200
        page.fill(".tl-train-search", str(target.id))
        assert rows.first.get_attribute("data-id") == str(target.id)
        rows.first.click()
        detail = report.locator(".tl-train-detail").inner_text()
        assert f"has id {target.id}" in detail and f"merge #{target.rank}" in detail
        assert "not how often it is used" in detail
        assert "the bigram count of (" in detail and "in the corpus at that step" in detail
        # sorting by uses puts the most used merged token first
        page.fill(".tl-train-search", "")
        page.select_option(".tl-train-merges select", "uses")
        top = max(result.merges, key=lambda m: result.uses[m.id])
        assert result.uses[int(rows.first.get_attribute("data-id"))] == result.uses[top.id]
        # the word builder: rows of token chips, one per merge
        built = report.locator(".tl-train-built .tl-result")
        assert built.count() == len(built_rows(result, words[0])["rows"]) >= 3
        report.locator(".tl-train-examples button").nth(1).click()
        page.wait_for_function(f"window.fakeModel.state.word === {json.dumps(words[1])}")
        assert built.count() == len(built_rows(result, words[1])["rows"])
        assert page.evaluate("window.fakeModel.saved") >= 1
        assert built.last.locator(".tl-token").count() == len(built_rows(result, words[1])["rows"][-1]["ids"])
        report.screenshot(path=str(ARTIFACTS / "train-report-light.png"))
        page.goto(url + "&theme=dark")
        page.wait_for_selector("body[data-ready='true']")
        page.locator(".tl-train-report").screenshot(path=str(ARTIFACTS / "train-report-dark.png"))
