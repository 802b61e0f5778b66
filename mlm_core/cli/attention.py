"""``attention TEXT --out DIR``: draw every layer's and head's attention as PNG files."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    attention = subcommands.add_parser("attention", help="draw every layer's and head's attention as PNG files")
    attention.add_argument("text", help="any text; [MASK] is allowed but not needed")
    add_model_argument(attention)
    attention.add_argument("--out", required=True, help="folder for Attention_Layer{L}_Head{H}.png files")
    add_json_argument(attention, "print tokens, file count and each head's label and entropy as JSON")
    attention.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..files import check_output_folder
    from ..tasks.attention import DIAGRAMS, attention, summarise_heads, write_all_diagrams

    check_output_folder(args.out, what=DIAGRAMS)  # before the model loads, not after
    result = attention(load(args.model), args.text)
    written = write_all_diagrams(result, args.out)
    if args.json:
        heads = [
            {"layer": s.layer, "head": s.head, "label": s.label, "entropy": s.entropy} for s in summarise_heads(result)
        ]
        return print_json({"tokens": list(result.tokens), "files": len(written), "heads": heads})
    print(f"Wrote {len(written)} attention diagrams to {args.out}")
    return 0
