"""``python -m mlm_core layers``, ``ablate``, ``heads`` and ``trace``: how the prediction forms layer by layer, which
heads it needs, and where the difference between two texts is decided. Layers and heads are numbered from 1
(layer 0 = the embeddings), masks from 1 on the command line."""

from __future__ import annotations

import argparse
import json
import math
from typing import Callable

from .commands import load


def add_parsers(subcommands, add_model_argument: Callable[[argparse.ArgumentParser], None]) -> None:
    layers = subcommands.add_parser("layers", help="the top words at each mask after every layer (logit lens)")
    layers.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(layers)
    layers.add_argument("--top-k", type=int, default=5, help="words per layer (default 5)")
    layers.add_argument("--word", default=None, help="a word to follow at every mask instead of the last layer's "
                                                     "top word: its rank and probability per layer (one token)")
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
    heads.add_argument("--target", default=None, help="word whose probability to follow, any word of one token "
                                                      "(default: the top word)")
    heads.add_argument("--json", action="store_true", help="print one JSON object")
    heads.set_defaults(run=run_heads)

    trace = subcommands.add_parser("trace", help="where the difference between two texts is decided: copy each "
                                                 "hidden state of CLEAN into CORRUPT (activation patching)")
    trace.add_argument("clean", help="text with one [MASK], e.g. 'The keys to the cabinet [MASK] on the table.'")
    trace.add_argument("corrupt", help="the same text with one word changed, as many tokens, [MASK] at the same place")
    add_model_argument(trace)
    trace.add_argument("--target", default=None, help="word whose log-probability to follow (default: the clean "
                                                      "text's top word)")
    trace.add_argument("--contrast", default=None, help="word subtracted: log P(target) − log P(contrast) (default: "
                                                        "the corrupted text's top word, none if it is the target)")
    trace.add_argument("--no-contrast", action="store_true", help="follow log P(target) alone")
    trace.add_argument("--heads", action="store_true", help="also copy each attention head's output")
    trace.add_argument("--json", action="store_true", help="print one JSON object")
    trace.set_defaults(run=run_trace)


def run_layers(args: argparse.Namespace) -> int:
    from .tasks.lens import follow_word, layer_lens

    mlm = load(args.model)
    result = layer_lens(mlm, args.text, top_k=args.top_k)
    followed = [follow_word(mlm, args.text, args.word, mask_index=mask.index) if args.word is not None else None
                for mask in result.masks]
    if args.json:
        data = result.to_dict()
        for mask, word in zip(data["masks"], followed):
            if word is not None:
                mask["followed"] = word.to_dict()
        print(json.dumps(data, ensure_ascii=False))
        return 0
    for mask, word in zip(result.masks, followed):
        name = f"'{word.word}' (your word)" if word else f"'{mask.final_token}' (the last layer's top word)"
        print(f"Mask {mask.index + 1} — rank and probability of {name}:")
        for reading in mask.layers:
            rank, probability = ((int(word.ranks[reading.layer]), float(math.exp(word.log_probs[reading.layer])))
                                 if word else (reading.final_token_rank, reading.final_token_probability))
            words = ", ".join(f"{w.token} {w.probability:.3f}" for w in reading.words)
            print(f"  layer {reading.layer:>2}: rank {rank:>6}  p {probability:.4f}   top: {words}")
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


def run_trace(args: argparse.Namespace) -> int:
    from .tasks.trace import AUTO, GRID_CAVEAT, trace

    contrast = None if args.no_contrast else args.contrast or AUTO
    result = trace(load(args.model), args.clean, args.corrupt, target=args.target, contrast=contrast,
                   heads=args.heads)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(f"{result.metric_label()}: clean {result.clean_value:.4f}, corrupted {result.corrupt_value:.4f}")
    print("Effect of copying one clean state (rows: layer, 0 = embeddings; columns: tokens of the corrupted text)")
    print("      " + " ".join(f"{token[:7]:>7}" for token in result.tokens))
    for layer, row in enumerate(result.layer_effects):
        print(f"  {layer:>3} " + " ".join(f"{value:>7.2f}" for value in row))
    print(result.reading())
    print(GRID_CAVEAT)
    return 0
