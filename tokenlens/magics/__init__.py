"""IPython magics: argument parsing and display only; each module holds one magic family."""

from __future__ import annotations

from .tokenize import TokenizeMagics
from .train import TrainMagics

#: every magics class that ``%load_ext tokenlens`` registers
MAGICS = (TokenizeMagics, TrainMagics)

__all__ = ["MAGICS", "TokenizeMagics", "TrainMagics"]
