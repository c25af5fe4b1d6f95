"""A Jinja sandbox bounded in what a template may build and how long it may run: templates come
with tokenizer files from anywhere, and Jinja's own sandbox only stops unsafe attribute access.

Every string (or list) a template makes by repetition (``*``), joining (``~``, ``+``), formatting
(``%``, ``.format``), a filter or a call is checked against ``Limits.chat_template_chars`` (the
repetitions and widths before they are made), and so is the output as it is rendered; a time
budget (``Limits.chat_template_ms``) is checked at every loop step, call, operator, attribute
access and output chunk, so nested loops over nothing stop too."""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tokenlens.core.limits import LIMITS
from tokenlens.errors import TokenlensError

#: a %-format directive's width and precision (``%10s``, ``%-*d``, ``%.5f``)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


class TemplateLimit(TokenlensError):
    """A template went past one of its limits; ``limit`` names it."""

    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit


class _CheckedLoops(CodeGenerator):
    """Compiles every ``for`` to iterate through ``environment.checked_iter`` and every ``~`` join
    through ``environment.checked_size``: the hooks a loop over a ready list or a string doubled in
    a loop would otherwise never pass."""

    def visit_For(self, node: nodes.For, frame) -> None:
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute("checked_iter"), [node.iter], [], None, None, lineno=node.iter.lineno
        )
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        self.write("environment.checked_size(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _CheckedLoops
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.globals.pop("lipsum", None)  # makes as many paragraphs as asked; no chat template needs it
        self.filters = {name: self._bounded(f) for name, f in self.filters.items()}
        self._deadline: float | None = None

    def add_filter(self, name: str, function) -> None:
        self.filters[name] = self._bounded(function)

    def render_bounded(self, source: str, **variables: Any) -> str:
        """``source`` rendered with ``variables``, within the limits."""
        template = self.from_string(source)
        self._deadline = time.monotonic() + LIMITS.chat_template_ms / 1000
        try:
            out: list[str] = []
            size = 0
            for chunk in template.generate(**variables):
                size += len(chunk)
                if size > LIMITS.chat_template_chars:
                    raise self._too_big("rendered")
                self.check_time()
                out.append(chunk)
            return "".join(out)
        finally:
            self._deadline = None

    # -- the checks -------------------------------------------------------------------------

    def check_time(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise TemplateLimit(
                f"ran longer than {LIMITS.chat_template_ms:,} ms (a loop that does not end soon?)",
                "chat_template_ms",
            )

    def _too_big(self, what: str) -> TemplateLimit:
        return TemplateLimit(f"{what} more than {LIMITS.chat_template_chars:,} characters", "chat_template_chars")

    def checked_size(self, value: Any) -> Any:
        if isinstance(value, (str, bytes, list, tuple, dict)) and len(value) > LIMITS.chat_template_chars:
            raise self._too_big("built a value of")
        if isinstance(value, int) and value.bit_length() // 3 > LIMITS.chat_template_chars:
            raise self._too_big("built a number of")
        return value

    def _check_count(self, n: Any) -> None:
        if isinstance(n, int) and not isinstance(n, bool) and n > LIMITS.chat_template_chars:
            raise self._too_big(f"asked for {n:,}, which would make")

    def _check_widths(self, widths) -> None:
        for width in widths:
            if width and (width == "*" or int(width) > LIMITS.chat_template_chars):
                raise self._too_big(f"formats with width {width!r}, which may make")

    def _check_str_format(self, method: Any) -> None:
        """The widths in a string's ``.format`` pattern, before it formats (``{:1000000000}``)."""
        if getattr(method, "__name__", "") in ("format", "format_map") and isinstance(
            getattr(method, "__self__", None), str
        ):
            self._check_widths(_DIGITS.findall(method.__self__))

    def checked_iter(self, iterable: Any):
        for item in iterable:
            self.check_time()
            yield item

    def _bounded(self, function):
        @functools.wraps(function)  # keeps Jinja's pass_context / pass_environment marks
        def bounded(*args: Any, **kwargs: Any) -> Any:
            self.check_time()
            for value in (*args, *kwargs.values()):
                self._check_count(value)
            return self.checked_size(function(*args, **kwargs))

        return bounded

    # -- the sandbox's hooks ----------------------------------------------------------------

    def call(self, context, obj, /, *args: Any, **kwargs: Any) -> Any:
        self.check_time()
        for value in (*args, *kwargs.values()):
            self._check_count(value)
        self._check_str_format(obj)
        return self.checked_size(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        self.check_time()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(n, int)
                    and len(seq) * max(n, 0) > LIMITS.chat_template_chars
                ):
                    raise self._too_big("repeated a value to")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * abs(left).bit_length() // 3 > LIMITS.chat_template_chars:
                raise self._too_big("raised a number to a power of")
        elif operator == "%" and isinstance(left, str):
            self._check_widths(width for m in _PERCENT.finditer(left) for width in m.groups())
        return self.checked_size(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any):
        # Jinja 3.1.5+ sandboxes str.format when it is looked up, not when it is called
        self._check_str_format(value)
        return super().wrap_str_format(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.check_time()
        return super().getitem(obj, argument)
