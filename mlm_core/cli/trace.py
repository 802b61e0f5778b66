"""``trace CLEAN CORRUPT``: where the difference between two texts is decided — each hidden state of CLEAN copied
into CORRUPT (activation patching), layer 0 = the embeddings."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    trace = subcommands.add_parser(
        "trace",
        help="where the difference between two texts is decided: copy each "
        "hidden state of CLEAN into CORRUPT (activation patching)",
    )
    trace.add_argument("clean", help="text with one [MASK], e.g. 'The keys to the cabinet [MASK] on the table.'")
    trace.add_argument("corrupt", help="the same text with one word changed, as many tokens, [MASK] at the same place")
    add_model_argument(trace)
    trace.add_argument(
        "--target", default=None, help="word whose log-probability to follow (default: the clean text's top word)"
    )
    trace.add_argument(
        "--contrast",
        default=None,
        help="word subtracted: log P(target) − log P(contrast) (default: "
        "the corrupted text's top word, none if it is the target)",
    )
    trace.add_argument("--no-contrast", action="store_true", help="follow log P(target) alone")
    trace.add_argument("--heads", action="store_true", help="also copy each attention head's output")
    add_json_argument(trace)
    trace.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.trace import AUTO, GRID_CAVEAT, trace

    contrast = None if args.no_contrast else args.contrast or AUTO
    result = trace(load(args.model), args.clean, args.corrupt, target=args.target, contrast=contrast, heads=args.heads)
    if args.json:
        return print_json(result.to_dict())
    print(f"{result.metric_label()}: clean {result.clean_value:.4f}, corrupted {result.corrupt_value:.4f}")
    print("Effect of copying one clean state (rows: layer, 0 = embeddings; columns: tokens of the corrupted text)")
    print("      " + " ".join(f"{token[:7]:>7}" for token in result.tokens))
    for layer, row in enumerate(result.layer_effects):
        print(f"  {layer:>3} " + " ".join(f"{value:>7.2f}" for value in row))
    print(result.reading())
    print(GRID_CAVEAT)
    return 0
