"""Next-token predictions of several models side by side: after each token of the same text, each
model's most likely next tokens in a column of its own (an n-gram model beside a transformer, say).
Live, it is the predictions view with every model's top-k for the picked position and each model's
continuation; saved, the static table of every position at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, ClassVar

from tokenlens.errors import InputError
from tokenlens.views.display import ShownAsWidget

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.learn.predict import Predictions


def predictions_perplexity(predictions: Sequence[Predictions]) -> float:
    """exp of the mean −log p(actual next token) over every position that has one: the same
    measure for any model whose predictions are given (a text's first token is not scored)."""
    logs = [math.log(p.actual_next_prob) for pred in predictions for p in pred.positions if p.actual_next_prob]
    if not logs:
        raise InputError("No position has a next token to score: give texts of two tokens or more.")
    return math.exp(-sum(logs) / len(logs))


@dataclass
class SideBySide(ShownAsWidget):
    """The same text's predictions from several models (``side_by_side``)."""

    _widget_class: ClassVar[str] = "tokenlens.views.learning:PredictWidget"

    predictions: list[Predictions]

    def __repr__(self) -> str:
        lines = [f"Next tokens after each token of {self.predictions[0].text!r}:"]
        for k, pos in enumerate(self.predictions[0].positions):
            lines.append(f"  {pos.token!r}")
            for pred in self.predictions:
                top = ", ".join(f"{t!r} {p:.0%}" for _, t, p in pred.positions[k].top)
                lines.append(f"    {pred.model}: {top}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from tokenlens.views.html import chip_html

        head = "<tr><th>token</th>" + "".join(f"<th>{escape(p.model)}</th>" for p in self.predictions) + "</tr>"
        rows = []
        for k, pos in enumerate(self.predictions[0].positions):
            cells = "".join(
                "<td>"
                + " ".join(chip_html(i, t, extra=f" <small>{p:.0%}</small>") for i, t, p in pred.positions[k].top)
                + "</td>"
                for pred in self.predictions
            )
            rows.append(f"<tr><td>{chip_html(pos.id, pos.token)}</td>{cells}</tr>")
        return (
            f"<div><b>What comes next</b>, model by model, after each token of {escape(self.predictions[0].text)!s}</div>"
            f"<table>{head}{''.join(rows)}</table>"
        )


def side_by_side(*predictions: Predictions) -> SideBySide:
    """Predictions of the same text by models that share a tokenizer, shown column by column."""
    if not predictions:
        raise InputError(
            "Give the predictions to compare: side_by_side(ngram.next_tokens(text), next_tokens(text, model))."
        )
    first = predictions[0]
    for pred in predictions[1:]:
        if pred.text != first.text or [p.id for p in pred.positions] != [p.id for p in first.positions]:
            raise InputError(
                f"{pred.model!r} read another text or split it into other ids than {first.model!r}: side by side"
                " needs the same text through the same tokenizer (an n-gram model over the model's own tokenizer)."
            )
    return SideBySide(list(predictions))


__all__ = ["SideBySide", "predictions_perplexity", "side_by_side"]
