"""``score SENTENCE...``: how natural the model finds each sentence (pseudo-log-likelihood)."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_method_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    score = subcommands.add_parser("score", help="how natural the model finds each sentence (pseudo-log-likelihood)")
    score.add_argument("sentences", nargs="+", help="one or more sentences")
    add_model_argument(score)
    add_method_argument(score)
    add_json_argument(score)
    score.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.score import score

    result = score(load(args.model), args.sentences, method=args.method)
    if args.json:
        return print_json(result.to_dict())
    for sentence in result.sentences:
        print(f"{sentence.pll:9.3f}  pseudo-perplexity {sentence.pseudo_perplexity:9.2f}  {sentence.text}")
    return 0
