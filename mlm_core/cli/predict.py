"""``predict TEXT``: fill in every [MASK]; ``--words`` and braces score chosen words in each variant."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    predict = subcommands.add_parser("predict", help="fill in every [MASK] of a text")
    predict.add_argument("text", help="text with one or more [MASK], e.g. 'The cat sat on the [MASK].'")
    add_model_argument(predict)
    predict.add_argument("--top-k", type=int, default=5, help="candidates per mask (default 5)")
    predict.add_argument("--joint-k", type=int, default=5, help="joint fillings for 2+ masks (default 5; 0 = none)")
    predict.add_argument(
        "--words",
        default=None,
        metavar="W1,W2",
        help="comma-separated words to score at every mask (any word; one of several pieces is "
        "filled left to right). Braces in TEXT, e.g. 'The {man|woman} worked as a [MASK].', "
        "give one result per variant",
    )
    add_json_argument(predict)
    predict.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.predict import predict
    from ..tasks.variants import expand_variants, has_braces
    from ..tasks.words import parse_words

    if args.words is not None or has_braces(args.text):
        words = parse_words(args.words.split(",")) if args.words is not None else ()
        expand_variants(args.text)  # bad braces are reported before the model loads
        return _run_words(load(args.model), args, words)
    result = predict(load(args.model), args.text, top_k=args.top_k, joint_k=args.joint_k)
    if args.json:
        return print_json(result.to_dict())
    for mask in result.masks:
        if len(result.masks) > 1:
            print(f"Mask {mask.index + 1}:")
        for candidate in mask.candidates:
            print(candidate.sentence)
    if result.joint:
        print("Best joint fillings:")
        for filling in result.joint:
            print(f"{filling.probability:.2e}  {filling.sentence}")
    if result.joint_skipped_reason:
        print(result.joint_skipped_reason)
    return 0


def _run_words(mlm, args: argparse.Namespace, words: tuple[str, ...]) -> int:
    from ..tasks.words import predict_words

    result = predict_words(mlm, args.text, words, top_k=args.top_k, joint_k=args.joint_k)
    if args.json:
        return print_json(result.to_dict())
    for variant in result.variants:
        if result.has_variants:
            print(f"== {variant.prediction.text}")
        for mask, scores in zip(variant.prediction.masks, variant.words):
            if len(variant.prediction.masks) > 1:
                print(f"Mask {mask.index + 1}:")
            for candidate in mask.candidates:
                print(f"{candidate.probability:9.4f}  {candidate.sentence}")
            for score in scores:
                rank = f"rank {score.rank}" if score.rank else f"{len(score.pieces)} pieces: {' '.join(score.pieces)}"
                print(f"{score.probability:9.2e}  {score.word}  (log-prob {score.log_prob:.3f}, {rank})")
    return 0
