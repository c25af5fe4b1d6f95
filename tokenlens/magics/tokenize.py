"""``%%tokenize``: argument parsing and display only; the work is done by ``tokenlens.core.api``."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from tokenlens.errors import TokenlensError
from tokenlens.magics._util import out_argument, parse_args, store_out, tokenizer_argument, wants_help


@magics_class
class TokenizeMagics(Magics):
    """``%%tokenize``."""

    @magic_arguments()
    @tokenizer_argument()
    @argument(
        "--no-special",
        action="store_true",
        help="do not add special tokens such as [CLS]/[SEP] or <s>",
    )
    @argument("--decode", action="store_true", help="the cell holds token ids; show their tokens and text")
    @argument(
        "--chat",
        action="store_true",
        help='the cell holds JSON chat messages ([{"role": "user", "content": "…"}]); render them'
        " with the tokenizer's own chat template, then tokenize",
    )
    @argument(
        "--pipeline",
        action="store_true",
        help="show each stage: normaliser, pre-tokeniser, model, post-processor, ids, decoder",
    )
    @argument("--ngrams", type=int, metavar="N", help="also show word and character N-grams of the text")
    @argument(
        "--model",
        metavar="MODEL",
        help="a causal LM folder or %%finetune run: its next-token predictions after each token",
    )
    @argument("--top-k", type=int, default=5, help="predictions shown per position with --model")
    @argument("--generate", type=int, default=0, metavar="N", help="with --model: continue the text by N tokens")
    @argument("--color-by", choices=["id", "position"], default="id", help="colour tokens by id (default) or position")
    @argument("--no-ids", action="store_true", help="hide the ids under the tokens")
    @out_argument()
    @cell_magic
    def tokenize(self, line: str, cell: str):
        """Show the cell's text as coloured tokens with their ids.

        Returns a ``tokenlens.Comparison`` (one ``Tokenized`` per tokenizer), which displays
        as the token widget.

        Examples::

            %%tokenize -t gpt2 -t bert-base-uncased -t llama-2
            I love NLP

            %%tokenize --decode -t gpt2
            40 1842 399 19930
        """
        if wants_help(line):
            print(self.tokenize.parser.format_help())
            return None
        args = parse_args(self.tokenize, line)
        text = cell[:-1] if cell.endswith("\n") else cell
        if not text:
            raise UsageError("The cell is empty: write the text to tokenize on the lines below %%tokenize.")
        from IPython.display import display

        from tokenlens.core.api import chat, compare, decode_view

        names = args.tokenizer or ["gpt2"]
        try:
            if args.pipeline:
                from tokenlens.learn.pipeline import pipeline

                views = [pipeline(text, name) for name in names]
                if len(views) == 1:
                    return views[0]
                for view in views:  # a list would show as its repr, not as the views
                    display(view)
                return None
            if args.ngrams:
                from tokenlens.learn.pipeline import ngrams

                display(ngrams(text, args.ngrams, tokenizer=names[0]))
            if args.model:
                from tokenlens.learn.predict import generate, next_tokens

                predictions = next_tokens(text, args.model, top_k=args.top_k)
                if args.generate:
                    predictions.generation = generate(text, args.model, max_new_tokens=args.generate)
                display(predictions)  # one view: the predictions and the continuation
        except TokenlensError as exc:
            raise UsageError(str(exc)) from None
        options = {"color_by": args.color_by, "show_ids": not args.no_ids}
        try:
            if args.decode:
                result = decode_view(text, names, **options)
            elif args.chat:
                if len(names) != 1:
                    raise UsageError("--chat renders one tokenizer's chat template: give a single -t NAME.")
                result = chat(text, names[0], **options)
            else:
                result = compare(text, names, add_special_tokens=not args.no_special, **options)
        except TokenlensError as exc:
            raise UsageError(str(exc)) from None
        store_out(self.shell, args.out, result)
        return result
