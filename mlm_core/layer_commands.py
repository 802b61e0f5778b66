"""``python -m mlm_core layers``, ``ablate`` and ``heads``: how the prediction forms layer by layer, and which heads
it needs. Layers and heads are numbered from 1 (layer 0 = the embeddings), masks from 1 on the command line."""

from __future__ import annotations

import argparse
import json
from typing import Callable

from .commands import load


def add_parsers(subcommands, add_model_argument: Callable[[argparse.ArgumentParser], None]) -> None:
    layers = subcommands.add_parser("layers", help="the top words at each mask after every layer (logit lens)")
    layers.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(layers)
    layers.add_argument("--top-k", type=int, default=5, help="words per layer (default 5)")
    layers.add_argument("--json", action="store_true", help="print one JSON object")
    layers.set_defaults(run=run_layers)

    ablate = subcommands.add_parser("ablate", help="predict with some attention heads switched off")
    ablate.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(ablate)
    ablate.add_argument("--heads", required=True, help="heads to switch off as layer.head, e.g. 2.3,4.1")
    ablate.add_argument("--top-k", type=int, default=5, help="words per mask (default 5)")
    ablate.add_argument("--json", action="store_true", help="print one JSON object")
    ablate.set_defaults(run=run_ablate)

    heads = subcommands.add_parser("heads", help="how much each head and layer matters for one word at one mask")
    heads.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(heads)
    heads.add_argument("--mask", type=int, default=1, help="which mask, 1-based (default 1)")
    heads.add_argument("--target", default=None, help="word whose probability to follow (default: the top word)")
    heads.add_argument("--json", action="store_true", help="print one JSON object")
    heads.set_defaults(run=run_heads)


def run_layers(args: argparse.Namespace) -> int:
    from .tasks.lens import layer_lens

    result = layer_lens(load(args.model), args.text, top_k=args.top_k)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    for mask in result.masks:
        print(f"Mask {mask.index + 1} — rank and probability of '{mask.final_token}' (the last layer's top word):")
        for reading in mask.layers:
            words = ", ".join(f"{word.token} {word.probability:.3f}" for word in reading.words)
            print(f"  layer {reading.layer:>2}: rank {reading.final_token_rank:>6}  "
                  f"p {reading.final_token_probability:.4f}   top: {words}")
    return 0


def run_ablate(args: argparse.Namespace) -> int:
    from .tasks.heads import ablate, parse_heads

    mlm = load(args.model)
    heads = parse_heads(args.heads, num_layers=mlm.num_layers, num_heads=mlm.num_heads)
    result = ablate(mlm, args.text, heads, top_k=args.top_k)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print("Switched off: " + ", ".join(f"layer {layer} head {head}" for layer, head in result.heads))
    for mask in result.masks:
        print(f"Mask {mask.index + 1}:  intact → without those heads")
        for before, after in zip(mask.intact, mask.ablated):
            print(f"  {before.token:<16} {before.probability:.4f}   {after.token:<16} {after.probability:.4f}")
    return 0


def run_heads(args: argparse.Namespace) -> int:
    from .tasks.head_scan import SCAN_CAVEAT, head_importance

    result = head_importance(load(args.model), args.text, mask_index=args.mask - 1, target=args.target)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(f"log P('{result.target}') at mask {result.mask_index + 1}: {result.baseline_log_prob:.4f}")
    print("Largest drops when one head is switched off:")
    for row in result.ranked_frame().head(10).itertuples():
        print(f"  layer {row.layer:>2} head {row.head:>2}: {row.delta_log_prob:+.4f}")
    print("Whole layers switched off:")
    for row in result.layers_frame().itertuples():
        print(f"  layer {row.layer:>2}: {row.delta_log_prob:+.4f}")
    print(SCAN_CAVEAT)
    return 0
