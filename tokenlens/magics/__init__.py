"""IPython magics: argument parsing and display only; each module holds one magic family."""

from __future__ import annotations

from .finetune import FinetuneMagics
from .stats import StatsMagics
from .tokenize import TokenizeMagics
from .train import TrainMagics

#: every magics class that ``%load_ext tokenlens`` registers
MAGICS = (TokenizeMagics, TrainMagics, StatsMagics, FinetuneMagics)

__all__ = ["MAGICS", "FinetuneMagics", "StatsMagics", "TokenizeMagics", "TrainMagics"]
