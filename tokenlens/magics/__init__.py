"""IPython magics: argument parsing and display only; each module holds one magic family."""

from __future__ import annotations

from tokenlens.magics.finetune import FinetuneMagics
from tokenlens.magics.stats import StatsMagics
from tokenlens.magics.tokenize import TokenizeMagics
from tokenlens.magics.train_tokenizer import TrainMagics

#: every magics class that ``%load_ext tokenlens`` registers
MAGICS = (TokenizeMagics, TrainMagics, StatsMagics, FinetuneMagics)

__all__ = ["MAGICS", "FinetuneMagics", "StatsMagics", "TokenizeMagics", "TrainMagics"]
