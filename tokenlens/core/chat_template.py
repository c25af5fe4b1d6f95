"""A tokenizer's own chat template, rendered the way transformers does (sandboxed Jinja, bounded in
output and time)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenlens.core.limits import raise_hint
from tokenlens.errors import InputError, TokenizerFileError


def find_chat_template(source: str) -> tuple[str | None, dict[str, Any]]:
    """The chat template and tokenizer_config.json beside a tokenizer file or in its folder."""
    template, config, _ = locate_chat_template(source)
    return template, config


def locate_chat_template(source: str) -> tuple[str | None, dict[str, Any], str]:
    """The chat template, tokenizer_config.json and the file the template came from (for
    messages), beside a tokenizer file or in its folder."""
    if not source:
        return None, {}, ""
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
        return jinja_file.read_text(encoding="utf-8"), config, str(jinja_file)
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: the default one
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    return (template if isinstance(template, str) else None), config, f"{config_file} (chat_template)"


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


def render_chat(
    template: str,
    config: dict[str, Any],
    messages: list[dict],
    add_generation_prompt: bool = True,
    *,
    origin: str = "",
) -> str:
    """The prompt text the model would see for ``messages``. The template runs in a Jinja
    sandbox bounded in output and time (``Limits.chat_template_chars``, ``chat_template_ms``);
    whatever goes wrong is an error that names ``origin`` (the template's file) and what to do."""
    from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

    from tokenlens.core.template_sandbox import BoundedSandbox, TemplateLimit

    where = f"The chat template in {origin}" if origin else "The tokenizer's chat template"
    fix = "Fix or remove the template there, or use another tokenizer's."

    def raise_exception(message: str):
        raise _Refused(str(message))

    env = BoundedSandbox(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.add_filter("tojson", lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent))
    env.globals["raise_exception"] = raise_exception
    try:
        return env.render_bounded(
            template,
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=_token_text(config.get("bos_token")),
            eos_token=_token_text(config.get("eos_token")),
            unk_token=_token_text(config.get("unk_token")),
            pad_token=_token_text(config.get("pad_token")),
        )
    except _Refused as exc:
        raise InputError(
            f"{where} refused these messages: {exc}. Change the messages (roles, order) to fit it."
        ) from None
    except UndefinedError as exc:
        raise InputError(
            f"{where} reads something it was not given ({exc}). Give the messages the fields it reads,"
            " or fix the template there."
        ) from None
    except TemplateLimit as exc:
        raise TokenizerFileError(f"{where} {exc}. {fix} {raise_hint(exc.limit)}") from None
    except TemplateSyntaxError as exc:
        raise TokenizerFileError(f"{where} is not valid Jinja (line {exc.lineno}: {exc.message}). {fix}") from None
    except SecurityError as exc:
        raise TokenizerFileError(f"{where} tried something the sandbox forbids ({exc}). {fix}") from None
    except Exception as exc:  # whatever else a template can raise
        raise TokenizerFileError(
            f"{where} failed on these messages ({type(exc).__name__}: {str(exc)[:200]}). {fix}"
        ) from None


class _Refused(Exception):
    """The template's own raise_exception(): it does not accept these messages."""
