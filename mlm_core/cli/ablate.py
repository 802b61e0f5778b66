"""``ablate TEXT --heads L.H,...``: predict with some attention heads switched off (numbered from 1)."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    ablate = subcommands.add_parser("ablate", help="predict with some attention heads switched off")
    ablate.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(ablate)
    ablate.add_argument("--heads", required=True, help="heads to switch off as layer.head, e.g. 2.3,4.1")
    ablate.add_argument("--top-k", type=int, default=5, help="words per mask (default 5)")
    add_json_argument(ablate)
    ablate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.heads import ablate, parse_heads

    mlm = load(args.model)
    heads = parse_heads(args.heads, num_layers=mlm.num_layers, num_heads=mlm.num_heads)
    result = ablate(mlm, args.text, heads, top_k=args.top_k)
    if args.json:
        return print_json(result.to_dict())
    print("Switched off: " + ", ".join(f"layer {layer} head {head}" for layer, head in result.heads))
    for mask in result.masks:
        print(f"Mask {mask.index + 1}:  intact → without those heads")
        for before, after in zip(mask.intact, mask.ablated):
            print(f"  {before.token:<16} {before.probability:.4f}   {after.token:<16} {after.probability:.4f}")
    return 0
