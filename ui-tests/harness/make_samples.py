"""Regenerate samples.json for the renderer harness from real tokenizers.

Run from the repo root: TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python ui-tests/harness/make_samples.py
"""
import json
from pathlib import Path

import tokenlens

TEXTS = {
    "english": ("I love NLP.\nTokenizers split\ttext   into pieces.", ["gpt2", "bert-base-uncased", "llama-2"]),
    "odia": ("ଓଡ଼ିଆ ଭାଷା is Odia.", ["gpt2", "llama-2", "cl100k_base"]),
    "emoji": ("Emoji 👩🏽‍💻 and 🎉🎉 after.", ["gpt2", "bert-base-uncased", "o200k_base"]),
}


def sample(text, names):
    results = []
    for name in names:
        try:
            results.append(tokenlens.tokenize(text, name).to_dict())
        except Exception as error:  # the harness shows error blocks too
            results.append({"tokenizer": name, "error": str(error)})
    return results


out = {key: {"text": text, "results": sample(text, names)} for key, (text, names) in TEXTS.items()}
out["errors"] = {
    "text": "x",
    "results": [{"tokenizer": "gpt-2", "error": "No tokenizer named 'gpt-2'; did you mean 'gpt2'? Available: gpt2, bert-base-uncased."}],
    "error": "The tokenlens server extension is not running.",
}
path = Path(__file__).with_name("samples.json")
path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(f"wrote {path}")
