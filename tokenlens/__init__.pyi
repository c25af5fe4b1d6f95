# The public API, listed once: `tokenlens/__init__.py` reads this file (lazy_loader.attach_stub)
# to import each name on first use, and type checkers read it as the package's interface.
from .core.api import Comparison as Comparison
from .core.api import Sandbox as Sandbox
from .core.api import chat as chat
from .core.api import compare as compare
from .core.api import decode as decode
from .core.api import decode_view as decode_view
from .core.api import load as load
from .core.api import tokenize as tokenize
from .core.lookup import lookup as lookup
from .core.resolve import available as available
from .core.tokenized import Tokenized as Tokenized
from .errors import TokenizerNotFound as TokenizerNotFound
from .errors import TokenlensError as TokenlensError
from .gguf.export import export_gguf as export_gguf
from .learn.ngram import ngram_lm as ngram_lm
from .learn.pipeline import ngrams as ngrams
from .learn.pipeline import pipeline as pipeline
from .learn.predict import embedding_drift as embedding_drift
from .learn.predict import generate as generate
from .learn.predict import next_tokens as next_tokens
from .measure.dataset import DatasetView as DatasetView
from .measure.dataset import dataset_view as dataset_view
from .measure.stats import Stats as Stats
from .measure.stats import StatsTable as StatsTable
from .measure.stats import stats as stats
from .vocab.sweep import sweep as sweep
from .vocab.train import train_tokenizer as train_tokenizer

def load_ipython_extension(ipython) -> None: ...
def unload_ipython_extension(ipython) -> None: ...
