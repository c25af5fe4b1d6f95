"""The learning views: the tokenization pipeline stage by stage, and a causal LM's next-token
predictions with a continuation. Thin shells: the work is done by ``tokenlens.learn.pipeline``
and ``tokenlens.learn.predict``; the static copy for saved notebooks is the object's own HTML."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import traitlets

from tokenlens.errors import TokenlensError
from tokenlens.views.base import BundledWidget

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from tokenlens.learn.pipeline import Pipeline
    from tokenlens.learn.predict import Generation, Predictions
    from tokenlens.views.side_by_side import SideBySide

#: longest text the pipeline view runs when the learner types one in the view
MAX_VIEW_TEXT = 20_000


class PipelineWidget(BundledWidget, bundle="pipeline"):
    """Every stage of one tokenizer's pipeline; the learner may type another text into the view
    (``text``), which the kernel runs through the same tokenizer."""

    text = traitlets.Unicode("").tag(sync=True)
    #: the text the stages are of (``text`` may be a newer one that failed)
    shown_text = traitlets.Unicode("").tag(sync=True)
    tokenizer = traitlets.Unicode("").tag(sync=True)
    #: the stages of ``Pipeline.to_dict()``
    stages = traitlets.List(traitlets.Dict()).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, pipeline: Pipeline, **kwargs):
        super().__init__(
            source=pipeline,
            text=pipeline.text,
            shown_text=pipeline.text,
            tokenizer=pipeline.tokenizer,
            stages=pipeline.stages,
            **kwargs,
        )

    @property
    def pipeline(self) -> Pipeline:
        return self._source

    @traitlets.observe("text")
    def _on_text(self, change) -> None:
        text = change["new"]
        if text == self._source.text:
            return
        from tokenlens.learn.pipeline import pipeline

        if len(text) > MAX_VIEW_TEXT:
            self.error = f"The pipeline view takes at most {MAX_VIEW_TEXT:,} characters; this text has {len(text):,}."
            return
        try:
            result = pipeline(text, self._source.backend or self._source.tokenizer)
        except TokenlensError as exc:
            # the stages of the last good text stay, under the message
            self.error = str(exc)
            return
        self._source = result
        self.error = ""
        with self.hold_sync():
            self.shown_text = result.text
            self.stages = result.stages


class PredictWidget(BundledWidget, bundle="predict"):
    """Per position the model's top-k next tokens; a picked position (``selected``) is shown in
    full; the learner may ask the kernel for a continuation (a ``generate`` message).

    Side by side (``others``): more models' predictions of the same ids, each shown beside the
    first for the picked position, and each continued too."""

    model_name = traitlets.Unicode("").tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)
    top_k = traitlets.Int(5).tag(sync=True)
    #: ``Position.to_dict()`` per token of the text
    positions = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: ``Generation.to_dict()``, or None before any continuation
    generation = traitlets.Dict(None, allow_none=True).tag(sync=True)
    #: the position shown in full (-1: none picked yet)
    selected = traitlets.Int(-1).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: side by side: per other model ``{"model_name", "top_k", "positions", "generation"}``, the
    #: shapes of the traits above, in the order given (empty: one model)
    others = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, predictions: Predictions, others: Sequence[Predictions] = (), *, source=None, **kwargs):
        super().__init__(
            source=source if source is not None else predictions,
            model_name=predictions.model,
            text=predictions.text,
            top_k=predictions.top_k,
            positions=[p.to_dict() for p in predictions.positions],
            generation=_generation_dict(predictions),
            selected=0 if predictions.positions else -1,
            others=[_other_dict(p) for p in others],
            **kwargs,
        )
        self._models = [predictions, *others]
        self._worker: threading.Thread | None = None
        self.on_msg(self._on_custom_msg)

    @classmethod
    def of(cls, obj: Predictions | Generation | SideBySide) -> PredictWidget:
        """The view of predictions, of several models' predictions side by side, or of a
        continuation alone (as predictions with no positions)."""
        from tokenlens.learn.predict import Generation, Predictions
        from tokenlens.views.side_by_side import SideBySide

        if isinstance(obj, SideBySide):
            # the saved copy stays the side-by-side table, every position at once
            return cls(obj.predictions[0], obj.predictions[1:], source=obj)
        if isinstance(obj, Generation):
            obj = Predictions(obj.prompt, obj.model, generation=obj, generator=obj.generator)
        return cls(obj)

    @property
    def predictions(self) -> Predictions:
        """The first (or only) model's predictions."""
        return self._models[0]

    @traitlets.validate("selected")
    def _valid_selected(self, proposal) -> int:
        value = proposal["value"]
        if not -1 <= value < len(self.positions):
            raise traitlets.TraitError(
                f"selected must be a position from 0 to {len(self.positions) - 1} (or -1), not {value}."
            )
        return value

    def _on_custom_msg(self, _widget, content, _buffers) -> None:
        """``{"type": "generate", "max_new_tokens": n, "greedy": bool}``: continue the text.

        The model runs in a worker thread, so the kernel keeps answering (other cells, the
        view's other messages) while a large model generates.
        """
        if not isinstance(content, dict) or content.get("type") != "generate":
            return
        if self._worker is not None and self._worker.is_alive():
            self.error = "A continuation is being made already; wait for it to finish."
            return
        n = content.get("max_new_tokens", 20)
        greedy = content.get("greedy", True)
        if not isinstance(greedy, bool):
            self.error = '"greedy" must be true or false.'
            return
        seed = content.get("seed") if isinstance(content.get("seed"), int) else None
        self.error = ""
        self._worker = threading.Thread(
            target=self._generate, args=(n, greedy, seed), name="tokenlens-generate", daemon=True
        )
        self._worker.start()

    def _generate(self, n: Any, greedy: bool, seed: int | None) -> None:
        made = []
        for preds in self._models:
            try:
                # through what made the predictions: an n-gram model has no model folder to load by name
                made.append(preds.continue_text(max_new_tokens=n, greedy=greedy, seed=seed))
            except TokenlensError as exc:
                self.error = self._whose(preds, str(exc))
                return
            except Exception as exc:
                self.error = self._whose(preds, f"The continuation failed: {type(exc).__name__}: {exc}")
                return
        for preds, gen in zip(self._models, made):
            preds.generation = gen
        with self.hold_sync():
            self.error = ""  # a "wait for it" said meanwhile no longer applies
            self.generation = made[0].to_dict()
            if self.others:
                self.others = [_other_dict(p) for p in self._models[1:]]

    def _whose(self, preds: Predictions, message: str) -> str:
        """A message, naming the model it is about when the view shows several."""
        return f"{preds.model}: {message}" if len(self._models) > 1 else message

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a continuation the view asked for (scripts and tests)."""
        if self._worker is not None:
            self._worker.join(timeout)


def _generation_dict(predictions: Predictions) -> dict | None:
    return predictions.generation.to_dict() if predictions.generation is not None else None


def _other_dict(predictions: Predictions) -> dict[str, Any]:
    return {
        "model_name": predictions.model,
        "top_k": predictions.top_k,
        "positions": [p.to_dict() for p in predictions.positions],
        "generation": _generation_dict(predictions),
    }


__all__ = ["PipelineWidget", "PredictWidget"]
