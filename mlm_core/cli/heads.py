"""``heads TEXT``: how much each head and each layer matters for one word at one mask (numbered from 1)."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    heads = subcommands.add_parser("heads", help="how much each head and layer matters for one word at one mask")
    heads.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(heads)
    heads.add_argument("--mask", type=int, default=1, help="which mask, 1-based (default 1)")
    heads.add_argument(
        "--target", default=None, help="word whose probability to follow, any word of one token (default: the top word)"
    )
    add_json_argument(heads)
    heads.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.head_scan import SCAN_CAVEAT, head_importance

    result = head_importance(load(args.model), args.text, mask_index=args.mask - 1, target=args.target)
    if args.json:
        return print_json(result.to_dict())
    print(f"log P('{result.target}') at mask {result.mask_index + 1}: {result.baseline_log_prob:.4f}")
    print("Largest drops when one head is switched off:")
    for row in result.ranked_frame().head(10).itertuples():
        print(f"  layer {row.layer:>2} head {row.head:>2}: {row.delta_log_prob:+.4f}")
    print("Whole layers switched off:")
    for row in result.layers_frame().itertuples():
        print(f"  layer {row.layer:>2}: {row.delta_log_prob:+.4f}")
    print(SCAN_CAVEAT)
    return 0
