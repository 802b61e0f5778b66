"""``layers TEXT``: the top words at each mask after every layer (logit lens), or one word's rank and probability
per layer. Layers are numbered from 1 (layer 0 = the embeddings), masks from 1."""

from __future__ import annotations

import argparse
import math

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    layers = subcommands.add_parser("layers", help="the top words at each mask after every layer (logit lens)")
    layers.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(layers)
    layers.add_argument("--top-k", type=int, default=5, help="words per layer (default 5)")
    layers.add_argument(
        "--word",
        default=None,
        help="a word to follow at every mask instead of the last layer's "
        "top word: its rank and probability per layer (one token)",
    )
    add_json_argument(layers)
    layers.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.lens import follow_word, layer_lens

    mlm = load(args.model)
    result = layer_lens(mlm, args.text, top_k=args.top_k)
    followed = [
        follow_word(mlm, args.text, args.word, mask_index=mask.index) if args.word is not None else None
        for mask in result.masks
    ]
    if args.json:
        data = result.to_dict()
        for mask, word in zip(data["masks"], followed):
            if word is not None:
                mask["followed"] = word.to_dict()
        return print_json(data)
    for mask, word in zip(result.masks, followed):
        name = f"'{word.word}' (your word)" if word else f"'{mask.final_token}' (the last layer's top word)"
        print(f"Mask {mask.index + 1} — rank and probability of {name}:")
        for reading in mask.layers:
            rank, probability = (
                (int(word.ranks[reading.layer]), float(math.exp(word.log_probs[reading.layer])))
                if word
                else (reading.final_token_rank, reading.final_token_probability)
            )
            words = ", ".join(f"{w.token} {w.probability:.3f}" for w in reading.words)
            print(f"  layer {reading.layer:>2}: rank {rank:>6}  p {probability:.4f}   top: {words}")
    return 0
