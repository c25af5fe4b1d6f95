"""Regenerate samples.json for the renderer harness from real tokenizers.

Run from the repo root: TOKENLENS_PATH=../shared/data/tokenizers .venv/bin/python ui-tests/harness/make_samples.py

Besides the payloads it stores each token's explanation (what the kernel or the server would
answer), so the harness's fake model can answer the card's "explain" messages offline.
"""

import json
from pathlib import Path

import tokenlens

TEXTS = {
    "english": ("I love NLP.\nTokenizers split\ttext   into pieces.", ["gpt2", "bert-base-uncased", "llama-2"]),
    "odia": ("ଓଡ଼ିଆ ଭାଷା is Odia.", ["gpt2", "llama-2", "cl100k_base"]),
    "emoji": ("Emoji 👩🏽‍💻 and 🎉🎉 after.", ["gpt2", "bert-base-uncased", "o200k_base"]),
    "single": ("I love NLP", ["gpt2"]),
    "unknown": ("BERT on ଓଡ଼ିଆ and 👩🏽‍💻 text", ["bert-base-uncased"]),
}


def sample(text, names):
    results = []
    for name in names:
        try:
            results.append(tokenlens.tokenize(text, name).to_dict())
        except Exception as error:  # the harness shows error blocks too
            results.append({"tokenizer": name, "error": str(error)})
    return results


def explanations(samples):
    """explanations[tokenizer][id] for every token the samples show."""
    out = {}
    for s in samples.values():
        for r in s["results"]:
            if "ids" not in r:
                continue
            backend = tokenlens.load(r["tokenizer"])
            table = out.setdefault(r["tokenizer"], {})
            for i in set(r["ids"]):
                table[str(i)] = backend.explain(i)
    return out


out = {key: {"text": text, "results": sample(text, names)} for key, (text, names) in TEXTS.items()}
decoded = tokenlens.decode_view([40, 1842, 399, 19930, 13, 50256], ["gpt2"])
out["decoded"] = {"text": decoded.text, "results": [r.to_dict() for r in decoded.results]}
out["errors"] = {
    "text": "x",
    "results": [
        {
            "tokenizer": "gpt-2",
            "error": "No tokenizer named 'gpt-2'; did you mean 'gpt2'? Available: gpt2, bert-base-uncased.",
        }
    ],
    "error": "The tokenlens server extension is not running.",
}
data = {"samples": out, "explanations": explanations(out)}
path = Path(__file__).with_name("samples.json")
path.write_text(json.dumps(data, ensure_ascii=False, indent=None) + "\n", encoding="utf-8")
print(f"wrote {path}")
