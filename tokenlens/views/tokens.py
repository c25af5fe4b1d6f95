"""The token view widget: the same renderer as the side panel, fed from the kernel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import traitlets

from tokenlens.core.tokenized import Tokenized
from tokenlens.errors import TokenlensError
from tokenlens.views.base import BundledWidget

if TYPE_CHECKING:  # pragma: no cover
    from tokenlens.core.api import Comparison


class TokensWidget(BundledWidget, bundle="widget"):
    """Tokens of one text under one or more tokenizers, coloured by id."""

    text = traitlets.Unicode("").tag(sync=True)
    #: one dict per tokenizer, the JSON shape of ``POST /tokenlens/tokenize``
    results = traitlets.List(traitlets.Dict()).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    show_ids = traitlets.Bool(True).tag(sync=True)
    #: "id" (a token keeps its colour everywhere) or "position" (neighbours always differ)
    color_by = traitlets.Enum(["id", "position"], "id").tag(sync=True)
    show_whitespace = traitlets.Bool(True).tag(sync=True)
    #: several tokenizers: "aligned" (rows under the same characters) or "stacked"
    #: (not ``layout``: that name is every DOM widget's Layout model in ipywidgets)
    compare_layout = traitlets.Enum(["aligned", "stacked"], "aligned").tag(sync=True)
    #: special tokens ([CLS] … [SEP], <s>) added as the model would see them; the view's toggle
    #: re-tokenizes the text here, in the kernel
    add_special_tokens = traitlets.Bool(True).tag(sync=True)
    #: whether the view offers that toggle (not for ids decoded back to text)
    can_toggle_special = traitlets.Bool(False).tag(sync=True)

    #: tokens kept in the static HTML copy saved with the notebook
    html_token_limit = 5000

    def __init__(self, *args, tokenized: Sequence[Tokenized] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._tokenized = list(tokenized)
        self.on_msg(self._on_custom_msg)
        self.can_toggle_special = bool(self._tokenized) and all(
            t.backend is not None and not t.decoded for t in self._tokenized
        )
        self.observe(self._retokenize, names="add_special_tokens")

    def _retokenize(self, change) -> None:
        """The view's special-token toggle: the same texts again, with or without them."""
        if not self.can_toggle_special:
            return
        try:
            redone = [t.backend.encode(t.text, add_special_tokens=change["new"]) for t in self._tokenized]
        except Exception as exc:
            self.error = f"Could not tokenize again: {exc}"
            return
        self._tokenized = redone
        self.error = ""
        self.results = [t.to_dict() for t in redone]

    def _on_custom_msg(self, _widget, content, _buffers) -> None:
        """Answer the view's questions (the hover card's "why this id?")."""
        if not isinstance(content, dict) or content.get("type") != "explain":
            return
        reply = {"type": "explain", "request": content.get("request")}
        try:
            backend = next(
                (t.backend for t in self._tokenized if t.tokenizer == content.get("tokenizer") and t.backend),
                None,
            )
            if backend is None:
                raise TokenlensError(f"{content.get('tokenizer')!r} is not shown in this view.")
            ids = content.get("ids")
            if not isinstance(ids, list) or len(ids) > 256:
                raise TokenlensError("Ask about at most 256 ids at a time.")
            reply["explanations"] = [backend.explain(int(i)) for i in ids]
        except (TokenlensError, TypeError, ValueError) as exc:
            reply["error"] = str(exc)
        self.send(reply)

    @classmethod
    def from_results(cls, text: str, results: Sequence[Tokenized], **options) -> TokensWidget:
        return cls(text=text, results=[r.to_dict() for r in results], tokenized=results, **options)

    @classmethod
    def of(cls, comparison: Comparison) -> TokensWidget:
        return cls.from_results(comparison.text, comparison.results, **comparison.options)

    def static_copy(self) -> dict[str, str]:
        from tokenlens.views.html import tokenized_html

        # the tokens shown now (the special-token toggle may have tokenized again)
        return {"text/html": tokenized_html(self._tokenized, limit=self.html_token_limit)} if self._tokenized else {}
