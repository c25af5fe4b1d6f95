"""A tokenizer's own chat template, rendered the way transformers does (sandboxed Jinja)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenlens.errors import InputError, TokenlensError


def find_chat_template(source: str) -> tuple[str | None, dict[str, Any]]:
    """The chat template and tokenizer_config.json beside a tokenizer file or in its folder."""
    if not source:
        return None, {}
    path = Path(source)
    folder = path if path.is_dir() else path.parent
    config: dict[str, Any] = {}
    config_file = folder / "tokenizer_config.json"
    if config_file.is_file():
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
    jinja_file = folder / "chat_template.jinja"
    if jinja_file.is_file():
        return jinja_file.read_text(encoding="utf-8"), config
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: the default one
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    return (template if isinstance(template, str) else None), config


def parse_messages(text: str) -> list[dict[str, str]]:
    """Chat messages from JSON: a list of {"role": ..., "content": ...}."""
    example = '[{"role": "user", "content": "Hello!"}]'
    try:
        messages = json.loads(text)
    except ValueError as exc:
        raise InputError(f"--chat needs the cell to hold JSON messages such as {example} ({exc}).") from None
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages
    ):
        raise InputError(f"--chat needs a list of messages with string 'role' and 'content', as in {example}.")
    return messages


def _token_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return value if isinstance(value, str) else ""


def render_chat(template: str, config: dict[str, Any], messages: list[dict], add_generation_prompt: bool = True) -> str:
    """The prompt text the model would see for ``messages``."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = raise_exception
    try:
        return env.from_string(template).render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=_token_text(config.get("bos_token")),
            eos_token=_token_text(config.get("eos_token")),
            unk_token=_token_text(config.get("unk_token")),
            pad_token=_token_text(config.get("pad_token")),
        )
    except TemplateError as exc:
        raise TokenlensError(f"The tokenizer's chat template refused these messages: {exc}") from None
