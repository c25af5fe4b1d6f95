"""How results display (issue 16): each result object shows as its widget, with its static copy in
the same mimebundle, or, where no widget can be made, as its static HTML with the reason."""

from __future__ import annotations

import pytest
from IPython.core.formatters import DisplayFormatter

import tokenlens
from tokenlens.errors import TokenlensError
from tokenlens.views import base
from tokenlens.views.base import BundledWidget
from tokenlens.views.dataset import DatasetWidget
from tokenlens.views.finetune import FinetuneWidget
from tokenlens.views.learning import PipelineWidget, PredictWidget
from tokenlens.views.tokens import TokensWidget
from tokenlens.views.train_report import TrainReportWidget
from tokenlens.vocab.train import train_tokenizer

from .conftest import flores

VIEW = "application/vnd.jupyter.widget-view+json"
WIDGETS = (TokensWidget, DatasetWidget, PipelineWidget, PredictWidget, TrainReportWidget, FinetuneWidget)


def a_run(tmp_path):
    """A finished run folder, as a ``Run`` (no trainer is started)."""
    from tokenlens.finetune.events import EventWriter
    from tokenlens.finetune.launcher import Run
    from tokenlens.finetune.spec import RunDir, RunSpec

    rd = RunDir(tmp_path / "shown-run")
    rd.write_spec(RunSpec(name="shown-run", data=["train.txt"], model="distilgpt2", max_steps=2))
    w = EventWriter(rd.events_file)
    w.write("start", max_steps=2, model="distilgpt2", tokenizer_hash="ab" * 16)
    w.write("log", step=1, epoch=0.5, loss=3.5)
    w.write("log", step=2, epoch=1.0, loss=3.0)
    w.write("end", status="completed", step=2, tokenizer_hash_after="ab" * 16)
    return Run(rd)


@pytest.fixture
def results(tmp_path):
    """One of each result object that displays as a widget, made from real parts."""
    lines = flores("eng_Latn")[:60]
    trained = train_tokenizer(lines, name="shown", vocab_size=400, progress=None)
    return {
        "comparison": tokenlens.compare("I love NLP", ["gpt2", "bert-base-uncased"]),
        "dataset view": tokenlens.dataset_view(lines, "gpt2", context_length=32),
        "pipeline": tokenlens.pipeline("I love NLP", "bert-base-uncased"),
        "training report": trained,
        "run": a_run(tmp_path),
    }


def test_each_result_shows_its_widget_and_its_static_copy(results):
    for what, obj in results.items():
        data, _meta = DisplayFormatter().format(obj)
        assert data[VIEW]["model_id"] == obj.widget.model_id, what
        assert isinstance(obj.widget, BundledWidget), what
        # the copy a saved notebook shows on GitHub or nbviewer: the object's own HTML and repr
        assert data["text/html"] == obj._repr_html_(), what
        assert data["text/plain"] == repr(obj), what
        assert "<script" not in data["text/html"], what


def test_without_the_front_end_each_result_shows_its_static_html_and_why(results, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "STATIC", tmp_path / "no-bundles")
    for cls in WIDGETS:  # as in a copy installed without its front end: no bundle read yet
        monkeypatch.delattr(cls, "_esm", raising=False)
        monkeypatch.delattr(cls, "_css", raising=False)
    for what, obj in results.items():
        data = DisplayFormatter().format(obj)[0]
        assert VIEW not in data, what
        assert data["text/html"] == obj._repr_html_(), what
        assert data["text/plain"].startswith(repr(obj)), what
        assert "widget bundle" in data["text/plain"] and "jlpm build:widget" in data["text/plain"], what


def test_a_widget_reads_the_bundle_its_class_names(tmp_path, monkeypatch):
    class Probe(BundledWidget, bundle="dataset"):
        pass

    probe = Probe()
    assert probe._esm == (base.STATIC / "dataset.js").read_text(encoding="utf-8")
    assert probe._css == (base.STATIC / "dataset.css").read_text(encoding="utf-8")
    assert probe.static_copy() == {}  # it shows no object: nothing to copy

    class Unbuilt(BundledWidget, bundle="not-built-yet"):  # defining the class reads nothing
        pass

    with pytest.raises(TokenlensError, match="not-built-yet.css.*is missing.*jlpm build:widget"):
        Unbuilt()


def test_a_closed_widget_is_made_again(results):
    comparison = results["comparison"]
    first = comparison.widget
    assert comparison.widget is first  # made once, then reused
    first.close()
    again = comparison.widget
    assert again is not first and again.comm is not None
    assert DisplayFormatter().format(comparison)[0][VIEW]["model_id"] == again.model_id


def test_a_generation_shows_as_the_predictions_view_of_its_prompt():
    from tokenlens.learn.predict import Generation

    gen = Generation(prompt="The dog", text=" ran", steps=[], model="bigram")
    widget = gen.widget
    assert isinstance(widget, PredictWidget) and widget.text == "The dog" and widget.positions == []
    assert widget.predictions.generation is gen
