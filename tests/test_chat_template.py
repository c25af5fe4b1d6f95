"""Chat templates come with tokenizer files from anywhere: they render in a sandbox bounded in
what they build and how long they run, and whatever goes wrong is an error that names the
template's file and says what to do."""

from __future__ import annotations

import json

import pytest

import tokenlens
from tokenlens.core.limits import LIMITS
from tokenlens.errors import InputError, TokenizerFileError

from .conftest import FLORES

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
HELLO = [{"role": "user", "content": "Hello!"}]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small BPE tokenizer trained here, saved as tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("chat")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    lines = (FLORES / "eng_Latn.dev").read_text(encoding="utf-8").splitlines()[:200]
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    tok.train_from_iterator(lines, trainer)
    tok.save(str(folder / "tokenizer.json"))
    return folder


@pytest.fixture
def with_template(trained, monkeypatch):
    """Puts a template in the tokenizer's tokenizer_config.json (or chat_template.jinja) and
    gives back the file it is in; limits set by the test are put back after it."""
    config = trained / "tokenizer_config.json"
    jinja = trained / "chat_template.jinja"

    def put(template: str, jinja_file: bool = False, **limits) -> str:
        jinja.unlink(missing_ok=True)
        if jinja_file:
            jinja.write_text(template, encoding="utf-8")
            config.write_text("{}", encoding="utf-8")
        else:
            config.write_text(json.dumps({"chat_template": template}), encoding="utf-8")
        for name, value in limits.items():
            monkeypatch.setattr(LIMITS, name, value)
        return str(jinja if jinja_file else config)

    yield put
    jinja.unlink(missing_ok=True)
    config.unlink(missing_ok=True)


def chat(folder, messages=HELLO):
    return tokenlens.chat(messages, str(folder)).results[0].text


def test_a_chat_template_renders_as_it_did(trained, with_template):
    with_template(CHATML)
    assert chat(trained) == "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"
    with_template(CHATML, jinja_file=True)
    assert chat(trained, HELLO * 3).count("<|im_start|>user") == 3


@pytest.mark.parametrize(
    "template,what",
    [
        ("{{ 'x' * 50000 }}", "repeated a value to more than 10,000 characters"),
        ("{{ ['x'] * 50000 }}", "repeated a value to more than 10,000 characters"),
        (  # a string doubled in a loop, by ~ and by +
            "{% set ns = namespace(s='x') %}{% for i in range(17) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "built a value of more than 10,000 characters",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(17) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "built a value of more than 10,000 characters",
        ),
        ("{{ '%50000d' % 1 }}", "formats with width '50000'"),
        ("{{ '{:50000}'.format(1) }}", "formats with width '50000'"),
        ("{{ 'x'|center(50000) }}", "asked for 50,000"),
        ("{{ 'x'.ljust(50000) }}", "asked for 50,000"),
        ("{{ 2 ** 200000 }}", "raised a number to a power of more than 10,000 characters"),
        ("{% for i in range(1000) %}{{ 'abcdefghijk' }}{% endfor %}", "rendered more than 10,000 characters"),
    ],
)
def test_what_a_template_builds_is_bounded(trained, with_template, template, what):
    # A small limit here; each of these is refused before it is made, whatever the limit.
    where = with_template(template, chat_template_chars=10_000)
    with pytest.raises(TokenizerFileError) as info:
        chat(trained)
    message = str(info.value)
    assert what in message and where in message and "chat_template_chars" in message


def test_a_repetition_far_past_the_limit_is_never_made(trained, with_template):
    where = with_template("{{ 'x' * 50000000000 }}")  # 50 GB if it were made
    with pytest.raises(TokenizerFileError, match="more than 1,000,000 characters") as info:
        chat(trained)
    assert where in str(info.value)


def test_output_limit_is_a_setting(trained, with_template):
    with_template("{% for i in range(200) %}{{ 'abcdefghij' }}{% endfor %}", chat_template_chars=1000)
    with pytest.raises(TokenizerFileError, match="rendered more than 1,000 characters"):
        chat(trained)
    with_template("{% for i in range(200) %}{{ 'abcdefghij' }}{% endfor %}", chat_template_chars=2000)
    assert len(chat(trained)) == 2000


def test_nested_loops_over_nothing_stop_at_the_time_budget(trained, with_template):
    # No output, no call, no operator inside: only the loop itself can notice the time.
    where = with_template(
        "{% set xs = range(3000)|list %}{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}",
        chat_template_ms=50,
    )
    with pytest.raises(TokenizerFileError, match="ran longer than 50 ms") as info:
        chat(trained)
    assert where in str(info.value) and "chat_template_ms" in str(info.value)


@pytest.mark.parametrize(
    "template,error,what",
    [
        ("{% for %}", TokenizerFileError, "is not valid Jinja (line 1"),
        ("{{ 1 / 0 }}", TokenizerFileError, "failed on these messages (ZeroDivisionError"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", TokenizerFileError, "RecursionError"),
        ("{{ ''.__class__.__mro__ }}", TokenizerFileError, "tried something the sandbox forbids"),
        ("{{ raise_exception('Roles must alternate') }}", InputError, "refused these messages: Roles must alternate"),
        ("{{ messages[0].name.upper() }}", InputError, "reads something it was not given"),
    ],
)
def test_any_failure_names_the_file_and_what_to_do(trained, with_template, template, error, what):
    for jinja_file in (False, True):
        where = with_template(template, jinja_file=jinja_file)
        with pytest.raises(error) as info:
            chat(trained)
        message = str(info.value)
        assert what in message and where in message, message
        assert "Fix" in message or "Change" in message or "Give" in message
