"""``%train_tokenizer``: argument parsing and display only; the work is done by
``tokenlens.vocab.train.train_tokenizer``."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from tokenlens.errors import TokenlensError
from tokenlens.magics._util import out_argument, parse_args, wants_help


@magics_class
class TrainMagics(Magics):
    """``%train_tokenizer``."""

    @magic_arguments()
    @argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="text files, folders or globs (.txt, .jsonl, .gz); or give --var, or the cell body",
    )
    @argument("-n", "--name", required=False, help="name to register the tokenizer under (letters, digits, . _ + -)")
    @argument(
        "-a",
        "--algorithm",
        default="bpe",
        choices=["bpe", "char-bpe", "wordpiece", "unigram"],
        help="bpe: byte-level BPE (GPT-2); char-bpe: character BPE (Llama style); wordpiece (BERT);"
        " unigram (SentencePiece). Default: bpe",
    )
    @argument(
        "-v",
        "--vocab-size",
        type=int,
        default=8000,
        help="vocabulary size, special and byte tokens included (default 8000)",
    )
    @argument(
        "--min-frequency", type=int, default=None, help="merge only pairs seen at least this often (BPE, WordPiece)"
    )
    @argument(
        "--special-token",
        action="append",
        metavar="TOKEN",
        help="a special token (repeat); replaces the algorithm's defaults",
    )
    @argument(
        "--normalizer",
        default="none",
        choices=["none", "nfc", "nfkc", "nfd", "nfkd"],
        help="Unicode normal form applied first (default none)",
    )
    @argument("--lowercase", action="store_true", help="lower-case the text")
    @argument("--strip-accents", action="store_true", help="remove accents (combining marks)")
    @argument(
        "--pre-tokenizer",
        action="append",
        metavar="NAME",
        help="byte-level, gpt2, cl100k, whitespace, bert, metaspace or digits; repeat to chain (default by algorithm)",
    )
    @argument(
        "--byte-fallback",
        action="store_true",
        help="unseen characters become byte tokens <0xXX> instead of unknown (char-bpe, unigram)",
    )
    @argument(
        "--limit-alphabet", type=int, default=None, help="keep only this many distinct characters (the most frequent)"
    )
    @argument(
        "--continuing-subword-prefix",
        default=None,
        metavar="PREFIX",
        help="prefix of pieces inside a word, e.g. ## (WordPiece's default)",
    )
    @argument(
        "--field",
        default=None,
        help="the text field of JSON lines files, or the column of a datasets dataset (default: text)",
    )
    @argument(
        "--var",
        default=None,
        metavar="NAME",
        help="train on a Python variable: text, a list or iterator of strings, a pandas Series or a datasets dataset",
    )
    @argument(
        "--on-bad-file",
        default="skip",
        choices=["skip", "stop"],
        help="binary or non-UTF-8 files, bad JSON lines: skip them with a count (default) or stop",
    )
    @argument(
        "--eval", action="append", metavar="FILE", help="held-out text files or globs to measure the fit on (repeat)"
    )
    @argument(
        "--holdout",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="hold back this share of the corpus lines to measure the fit on, e.g. 0.05",
    )
    @argument(
        "--compare",
        action="append",
        metavar="NAME",
        help="a tokenizer to compare the fit with (repeat), e.g. gpt2, o200k_base",
    )
    @argument("--word", default=None, help="the word the report builds merge by merge (default: a frequent one)")
    @argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="train on N lines drawn at random (seeded by --seed) from the whole corpus, read once; for corpora"
        " whose word counts would not fit in memory",
    )
    @argument(
        "--max-lines", type=int, default=None, metavar="N", help="train on the first N lines; nothing after is read"
    )
    @argument(
        "--seed", type=int, default=0, help="seed of what tokenlens draws (the --sample and --holdout lines; default 0)"
    )
    @argument("--overwrite", action="store_true", help="replace a tokenizer of the same name")
    @argument("--no-progress", action="store_true", help="do not show the progress line")
    @argument(
        "--sweep",
        metavar="SIZES",
        help="instead: train bpe, wordpiece and unigram at each size (e.g. 500,1000,2000) and show them side by side"
        " with the --compare tokenizers (default gpt2, bert-base-uncased, llama-2); saves nothing",
    )
    @out_argument()
    @line_cell_magic
    def train_tokenizer(self, line: str, cell: str | None = None):
        """Train a tokenizer on your text, register it by name, and show how it was made.

        Returns a ``tokenlens.vocab.train.TrainingResult``, which displays as the training report.
        The tokenizer is saved into the tokenlens registry, so ``%%tokenize -t NAME``,
        ``tokenlens.load(NAME)``, the side panel and ``AutoTokenizer.from_pretrained(result.path)``
        use it at once. Ctrl-C (or the stop button) ends training and saves nothing.

        Examples::

            %train_tokenizer corpus/*.txt --algorithm bpe --vocab-size 8000 --name odia-bpe
            %train_tokenizer data.jsonl.gz --field text --name my-wp --algorithm wordpiece
            %train_tokenizer --var df.text --name from-pandas --eval heldout.txt --compare gpt2
            %train_tokenizer wiki/*.txt.gz --sample 1000000 --seed 0 --name wiki-bpe

            %%train_tokenizer --name tiny --vocab-size 300
            the corpus is the cell body,
            one line or many.
        """
        if wants_help(line):
            print(self.train_tokenizer.parser.format_help())
            return None
        args = parse_args(self.train_tokenizer, line)
        if not args.name and args.sweep is None:
            raise UsageError("Name the tokenizer: --name NAME (letters, digits, . _ + -), e.g. --name odia-bpe.")
        sources = [bool(args.files), args.var is not None, bool(cell and cell.strip())]
        if sum(sources) != 1:
            raise UsageError(
                "Give the training text one way: file paths or globs, --var NAME, or (as %%train_tokenizer)"
                " the lines of the cell" + (" — not more than one." if sum(sources) > 1 else ".")
            )
        corpus = None
        if args.var is not None:
            corpus = self._variable(args.var)
        elif cell is not None and cell.strip():
            corpus = cell
        if args.out and not args.out.isidentifier():
            raise UsageError(f"--out needs a Python variable name, not {args.out!r}.")
        if args.sweep is not None:
            if args.sample is not None or args.max_lines is not None:
                raise UsageError("--sweep trains on the whole corpus: leave out --sample and --max-lines.")
            return self._sweep(args, corpus)
        from tokenlens.vocab.train import train_tokenizer

        try:
            result = train_tokenizer(
                corpus,
                files=args.files or None,
                name=args.name,
                algorithm=args.algorithm,
                vocab_size=args.vocab_size,
                min_frequency=args.min_frequency,
                special_tokens=args.special_token,
                normalizer=args.normalizer,
                lowercase=args.lowercase,
                strip_accents=args.strip_accents,
                pre_tokenizer=args.pre_tokenizer,
                byte_fallback=args.byte_fallback,
                limit_alphabet=args.limit_alphabet,
                continuing_subword_prefix=args.continuing_subword_prefix,
                field=args.field,
                on_bad=args.on_bad_file,
                heldout_files=args.eval,
                holdout=args.holdout,
                compare=args.compare or (),
                word=args.word,
                seed=args.seed,
                sample=args.sample,
                max_lines=args.max_lines,
                overwrite=args.overwrite,
                progress=None if args.no_progress else "auto",
            )
        except TokenlensError as exc:
            raise UsageError(str(exc)) from None
        if args.out:
            self.shell.user_ns[args.out] = result
        return result

    def _sweep(self, args, corpus):
        """``--sweep SIZES``: :func:`tokenlens.sweep` with this magic's text, held-out text and references."""
        from tokenlens.vocab.sweep import sweep
        from tokenlens.vocab.train import _read_heldout

        try:
            sizes = [int(s) for s in args.sweep.split(",") if s.strip()]
        except ValueError:
            raise UsageError(
                f"--sweep takes vocabulary sizes joined by commas, like 500,1000,2000; not {args.sweep!r}."
            ) from None
        try:
            heldout = _read_heldout(None, args.eval, args.field) if args.eval else None
            result = sweep(
                corpus,
                files=args.files or None,
                field=args.field,
                vocab_sizes=sizes,
                reference=args.compare or ("gpt2", "bert-base-uncased", "llama-2"),
                heldout=heldout,
                holdout=args.holdout or 0.1,
                seed=args.seed,
            )
        except TokenlensError as exc:
            raise UsageError(str(exc)) from None
        if args.out:
            self.shell.user_ns[args.out] = result
        return result

    def _variable(self, expression: str):
        """The value of ``--var``: a name, or a dotted/indexed expression such as ``df.text``."""
        ns = self.shell.user_ns
        if expression.isidentifier():
            if expression not in ns:
                raise UsageError(
                    f"No variable named {expression!r} in this notebook; define it first or check the spelling."
                )
            return ns[expression]
        try:
            return eval(expression, ns)
        except Exception as exc:
            raise UsageError(f"--var {expression!r} could not be evaluated: {type(exc).__name__}: {exc}") from None
