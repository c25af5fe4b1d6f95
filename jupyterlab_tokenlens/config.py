"""Settings of the server routes, set like any Jupyter option (``--TokenLens.max_text_chars=…``)."""

from traitlets import Bool, Int
from traitlets.config import Configurable


class TokenLens(Configurable):
    """Limits and switches of the tokenlens REST routes."""

    max_text_chars = Int(1_000_000, help="Longest text (in characters) one tokenize request may carry.").tag(
        config=True
    )
    max_body_bytes = Int(8 * 1024 * 1024, help="Largest request body (in bytes) the tokenize route reads.").tag(
        config=True
    )
    max_tokenizers = Int(8, help="Most tokenizers one request may name.").tag(config=True)
    allow_hub_downloads = Bool(
        True,
        help="Let a request name a Hugging Face hub id that is not yet in the local cache"
        " (only tokenizer files are fetched; no code runs).",
    ).tag(config=True)
    cache_bytes = Int(
        64 * 1024 * 1024, help="Memory for recent answers, so identical requests are not recomputed."
    ).tag(config=True)
    workers = Int(4, help="Threads that tokenize, so the server's event loop never waits.").tag(config=True)
    max_predict_chars = Int(
        4_000, help="Longest text (in characters) one next-token prediction request may carry."
    ).tag(config=True)
    max_top_k = Int(20, help="Most next-token candidates per position a prediction request may ask for.").tag(
        config=True
    )
    max_generate = Int(64, help="Most tokens a prediction request may ask the model to continue by.").tag(config=True)
