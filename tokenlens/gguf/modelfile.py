"""An Ollama ``Modelfile`` for an exported GGUF: FROM, TEMPLATE and stop tokens.

Ollama's TEMPLATE is a Go template, while tokenizers carry Jinja chat templates. Most chat
templates wrap each message in a fixed prefix and suffix per role (ChatML, Llama 3, Zephyr, …);
those parts are found by rendering probe conversations through the Jinja template, written out as
a Go template, and the result is accepted only when it renders a test conversation exactly as the
Jinja template does. Templates of any other shape (a system prompt folded into the first user
turn, a default system prompt, …) get no TEMPLATE line: ``ollama create`` then takes the chat
template stored in the GGUF file itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tokenlens.errors import TokenlensError

_PROBE = {
    "system": "\x02tokenlens system\x03",
    "user1": "\x02tokenlens user one\x03",
    "assistant1": "\x02tokenlens assistant one\x03",
    "user2": "\x02tokenlens user two\x03",
    "assistant2": "\x02tokenlens assistant two\x03",
}


@dataclass(frozen=True)
class ChatShape:
    """The literal text around each role's content in a chat template."""

    begin: str  # before the first message (after any beginning-of-text token)
    system_prefix: str | None  # None: the template takes no system message
    system_suffix: str
    user_prefix: str
    user_to_assistant: str  # after a user message that an assistant message follows
    user_last: str  # after the last user message, generation prompt included
    assistant_suffix: str  # after an assistant message that is not the last

    def render(self, messages: list[dict]) -> str:
        """The prompt as the Go template below renders it (the same rules, in Python)."""
        out = [self.begin]
        for i, m in enumerate(messages):
            last = i == len(messages) - 1
            role, content = m["role"], m["content"]
            if role == "system" and self.system_prefix is not None:
                out += [self.system_prefix, content, self.system_suffix]
            elif role == "user":
                out += [self.user_prefix, content, self.user_last if last else self.user_to_assistant]
            elif role == "assistant":
                out += [content, "" if last else self.assistant_suffix]
        return "".join(out)

    def go_template(self) -> str:
        """The same rules as an Ollama (Go) TEMPLATE, on one line so no whitespace is trimmed."""
        q = lambda s: "{{ " + json.dumps(s, ensure_ascii=False) + " }}" if s else ""  # noqa: E731
        system = (
            f'{{{{ if eq .Role "system" }}}}{q(self.system_prefix)}{{{{ .Content }}}}{q(self.system_suffix)}{{{{ else '
            if self.system_prefix is not None
            else "{{ "
        )
        return (
            q(self.begin)
            + "{{ range $i, $_ := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}"
            + system
            + f'if eq .Role "user" }}}}{q(self.user_prefix)}{{{{ .Content }}}}'
            + f"{{{{ if $last }}}}{q(self.user_last)}{{{{ else }}}}{q(self.user_to_assistant)}{{{{ end }}}}"
            + '{{ else if eq .Role "assistant" }}{{ .Content }}'
            + f"{{{{ if not $last }}}}{q(self.assistant_suffix)}{{{{ end }}}}"
            + "{{ end }}{{ end }}"
        )


def _between(text: str, marks: list[str]) -> list[str] | None:
    """The text before, between and after ``marks``, which must occur once each, in order."""
    parts, pos = [], 0
    for mark in marks:
        if text.count(mark) != 1:
            return None
        at = text.find(mark, pos)
        if at < 0:
            return None
        parts.append(text[pos:at])
        pos = at + len(mark)
    parts.append(text[pos:])
    return parts


def chat_shape(template: str, config: dict, bos: str | None = None) -> ChatShape | None:
    """The per-role prefixes and suffixes of a Jinja chat template, or None when it has another
    shape. ``bos`` is dropped from the start: llama.cpp adds the beginning-of-text token itself."""
    from tokenlens.core.chat_template import render_chat

    P = _PROBE

    def render(msgs, gen):
        try:
            return render_chat(template, config, msgs, gen)
        except TokenlensError:
            return None

    def msg(role, key):
        return {"role": role, "content": P[key]}

    convo = render(
        [msg("user", "user1"), msg("assistant", "assistant1"), msg("user", "user2"), msg("assistant", "assistant2")],
        False,
    )
    only_user = render([msg("user", "user1")], False)
    with_gen = render([msg("user", "user1")], True)
    if not convo or not only_user or not with_gen or not with_gen.startswith(only_user):
        return None
    parts = _between(convo, [P["user1"], P["assistant1"], P["user2"], P["assistant2"]])
    alone = _between(only_user, [P["user1"]])
    if parts is None or alone is None:
        return None
    head, u_to_a, a_to_u, u_to_a2, tail = parts
    assistant_suffix = tail
    if u_to_a != u_to_a2 or not a_to_u.startswith(assistant_suffix) or not assistant_suffix:
        return None
    user_prefix = a_to_u[len(assistant_suffix) :]
    if not head.endswith(user_prefix) or alone[0] != head:
        return None
    begin = head[: len(head) - len(user_prefix)]
    user_last = alone[1] + with_gen[len(only_user) :]
    system_prefix, system_suffix = None, ""
    with_system = render([msg("system", "system"), msg("user", "user1"), msg("assistant", "assistant1")], False)
    sparts = _between(with_system or "", [P["system"], P["user1"]])
    if sparts is not None and sparts[0].startswith(begin) and sparts[1].endswith(user_prefix):
        system_prefix = sparts[0][len(begin) :]
        system_suffix = sparts[1][: len(sparts[1]) - len(user_prefix)]
    if bos and begin.startswith(bos):
        begin = begin[len(bos) :]
    shape = ChatShape(begin, system_prefix, system_suffix, user_prefix, u_to_a, user_last, assistant_suffix)
    # accepted only if it renders a fresh conversation exactly as the Jinja template does
    test = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there."},
        {"role": "user", "content": "Count to 3."},
    ]
    if system_prefix is not None:
        test.insert(0, {"role": "system", "content": "Be brief."})
    expected = render(test, True)
    if expected is None:
        return None
    if bos and expected.startswith(bos):
        expected = expected[len(bos) :]
    return shape if shape.render(test) == expected else None


def modelfile(
    gguf_name: str,
    template: str | None = None,
    config: dict | None = None,
    stop: list[str] | None = None,
    bos: str | None = None,
    control_tokens: list[str] | None = None,
) -> str:
    """The text of a Modelfile for ``ollama create NAME -f Modelfile`` beside ``gguf_name``."""
    lines = [
        "# Written by tokenlens.export_gguf. Create the model with:",
        "#   ollama create MY-MODEL -f Modelfile",
        f"FROM ./{gguf_name}",
    ]
    stops = list(stop or [])
    shape = chat_shape(template, config or {}, bos) if template else None
    if shape is not None:
        body = shape.go_template()
        if '"""' not in body:
            lines.append(f'TEMPLATE """{body}"""')
        # the end-of-turn marker (<|im_end|>, <|eot_id|>) stops generation too
        stops += [t for t in control_tokens or [] if t and t in shape.assistant_suffix]
    elif template:
        lines.append("# The chat template has no fixed per-role shape that a Go template can copy;")
        lines.append("# ollama create reads the one stored in the GGUF file instead.")
    for s in dict.fromkeys(s for s in stops if s):
        lines.append(f"PARAMETER stop {json.dumps(s, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


__all__ = ["ChatShape", "chat_shape", "modelfile"]
