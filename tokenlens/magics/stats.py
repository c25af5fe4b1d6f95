"""``%tokenizer_stats``: argument parsing and display only; the work is done by ``tokenlens.measure.stats``."""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from tokenlens.errors import TokenlensError
from tokenlens.magics._util import out_argument, parse_args, store_out, tokenizer_argument, wants_help

_LABELLED = re.compile(r"^([A-Za-z_][\w.-]*)=(.+)$", re.S)


def _unquote(value: str) -> str:
    """IPython hands magic arguments over with their quotes; take one pair off."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _separator(value: str | None) -> str | None:
    if value is None:
        return None
    return _unquote(value).replace("\\n", "\n").replace("\\t", "\t")


@magics_class
class StatsMagics(Magics):
    """``%tokenizer_stats`` (line) and ``%%tokenizer_stats`` (cell)."""

    @magic_arguments()
    @argument(
        "sources",
        nargs="*",
        metavar="[LABEL=]SOURCE",
        help="texts to measure: a file or glob (one text per line), or a Python expression"
        " naming texts (a string, list, pandas column, datasets column); LABEL names it"
        " (a language, say). A file that exists wins over a variable of the same name.",
    )
    @tokenizer_argument()
    @argument(
        "--ref",
        metavar="SOURCE",
        help="parallel reference text for the premium (tokens ÷ reference tokens, line i against"
        " line i): one of the LABELs, a file/glob, or a Python expression",
    )
    @argument(
        "--join",
        metavar="SEP",
        help="tokenize each set of texts as one text joined by SEP (\\n and \\t allowed; Petrov et al. joined FLORES"
        " lines with a space: --join ' '); default: each text on its own, counts summed",
    )
    @argument(
        "--metric",
        metavar="NAME",
        help="metric of the bar chart: premium (default with --ref), fertility (default),"
        " chars_per_token, bytes_per_token, split_share, unknown_share, byte_fallback_share,"
        " partial_char_share",
    )
    @argument("--special", action="store_true", help="count special tokens ([CLS]/[SEP], <s>)")
    @argument("--whole-files", action="store_true", help="one text per file instead of one per line")
    @argument(
        "--context",
        type=int,
        metavar="N",
        help="dataset view: tokens per row against a context length of N (histogram, truncated"
        " rows, longest rows that open in the token view); one SOURCE and one tokenizer",
    )
    @argument("--price", type=float, metavar="P", help="dataset view: price per 1M tokens, for the cost")
    @argument("--longest", type=int, default=10, metavar="K", help="dataset view: rows listed (default 10)")
    @argument("--no-progress", action="store_true", help="no progress bar")
    @out_argument()
    @line_cell_magic
    def tokenizer_stats(self, line: str, cell: str | None = None):
        """Measure tokenizers on text: tokens, characters, bytes, words, characters and bytes
        per token, fertility (tokens per word), share of split words, unknown-token,
        byte-fallback and partial-character shares, and the premium over a parallel reference.

        Returns a ``tokenlens.Stats`` (one tokenizer, one set of texts) or a
        ``tokenlens.StatsTable`` (shown as a table and a bar chart; ``.to_pandas()`` for a
        DataFrame). With --context (or --price) it returns a ``DatasetView`` instead.

        Examples::

            %tokenizer_stats -t gpt2 -t cl100k_base -t llama-2 --ref eng eng=flores/eng_Latn.* ory=flores/ory_Orya.*
            %tokenizer_stats -t llama-2 --context 4096 --price 0.5 df["text"]

            %%tokenizer_stats -t gpt2 -t llama-2
            The text of the cell is one text.
        """
        if wants_help(line):
            print(self.tokenizer_stats.parser.format_help())
            return None
        args = parse_args(self.tokenizer_stats, line)
        tokenizers = args.tokenizer or ["gpt2"]
        sources = {}
        if cell is not None:
            text = cell[:-1] if cell.endswith("\n") else cell
            if not text:
                raise UsageError("The cell is empty: write the text to measure below %%tokenizer_stats.")
            sources["cell"] = text
        for spec in args.sources:
            label, value = self._source(_unquote(spec))
            if label in sources:
                raise UsageError(f"Two sources are labelled {label!r}; name them LABEL=SOURCE.")
            sources[label] = value
        if not sources:
            raise UsageError(
                "Name the texts to measure: a file or glob, or a variable, e.g."
                " `%tokenizer_stats -t gpt2 texts` (see %tokenizer_stats --help)."
            )
        progress = False if args.no_progress else None
        from tokenlens.measure.dataset import dataset_view
        from tokenlens.measure.stats import stats

        try:
            if args.context is not None or args.price is not None:
                if len(sources) != 1 or len(tokenizers) != 1:
                    raise UsageError("The dataset view (--context/--price) takes one SOURCE and one tokenizer.")
                ((label, value),) = sources.items()
                result = dataset_view(
                    value,
                    tokenizers[0],
                    context_length=args.context,
                    price_per_million=args.price,
                    add_special_tokens=True,
                    longest=args.longest,
                    whole_files=args.whole_files,
                    label=label,
                    progress=progress,
                )
            else:
                reference = None
                if args.ref is not None:
                    ref = _unquote(args.ref)
                    reference = ref if ref in sources else self._source(ref, labelled=False)[1]
                single = len(sources) == 1 and len(tokenizers) == 1 and reference is None
                result = stats(
                    sources if not single else next(iter(sources.values())),
                    tokenizers if not single else tokenizers[0],
                    reference,
                    join=_separator(args.join),
                    add_special_tokens=args.special,
                    whole_files=args.whole_files,
                    label=next(iter(sources)) if single else None,
                    progress=progress,
                )
                if args.metric is not None:
                    from tokenlens.measure.stats import StatsTable

                    if not isinstance(result, StatsTable):
                        result = StatsTable([result])
                    result.chart(args.metric)  # refuse an unknown metric now
                    result.metric = args.metric
        except TokenlensError as exc:
            raise UsageError(str(exc)) from None
        store_out(self.shell, args.out, result)
        return result

    def _source(self, spec: str, labelled: bool = True):
        """(label, texts) for one SOURCE: ``[LABEL=]`` a file/glob or a Python expression."""
        label = None
        m = _LABELLED.match(spec) if labelled else None
        if m and not os.path.exists(os.path.expanduser(spec)):
            label, spec = m.group(1), m.group(2)
        path = os.path.expanduser(spec)
        if os.path.isfile(path) or (glob.has_magic(path) and glob.glob(path)):
            return label or Path(spec).name.split(".")[0], Path(spec)
        try:
            value = eval(spec, self.shell.user_ns)
        except Exception as exc:
            hint = (
                "no file matches it"
                if glob.has_magic(path) or os.sep in spec
                else ("it is neither a file nor a variable")
            )
            raise UsageError(
                f"Cannot read texts from {spec!r}: {hint} ({type(exc).__name__}: {exc})."
                " A SOURCE is a file, a glob or a Python expression such as df['text']."
            ) from None
        return label or spec, value
