"""``explain TEXT``: which words pushed the prediction at a mask (SHAP, integrated gradients, gradient × input),
optionally with faithfulness curves."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    explain = subcommands.add_parser("explain", help="which words pushed the prediction at a mask (SHAP, IG)")
    explain.add_argument("text", help="text with one or more [MASK]")
    add_model_argument(explain)
    explain.add_argument("--mask", type=int, default=1, help="which mask to explain, 1-based (default 1)")
    explain.add_argument(
        "--target",
        action="append",
        default=None,
        help="word whose probability to explain; repeat for several (default: the top 3)",
    )
    explain.add_argument("--contrast", action="store_true", help="also explain p(first target) − p(second)")
    explain.add_argument(
        "--method",
        choices=["shap", "ig", "gradxinput"],
        default="shap",
        help="shap (default), ig (integrated gradients) or gradxinput (gradient × input)",
    )
    explain.add_argument("--steps", type=int, default=32, help="integrated gradients: points on the path (default 32)")
    explain.add_argument(
        "--faithfulness",
        action="store_true",
        help="also hide the top words step by step: comprehensiveness, sufficiency, random orders",
    )
    add_json_argument(explain)
    explain.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.explain import explain
    from ..tasks.faithfulness import faithfulness
    from ..tasks.gradients import integrated_gradients

    mlm = load(args.model)
    common = {"mask_index": args.mask - 1, "targets": args.target, "contrast": args.contrast}
    result = (
        explain(mlm, args.text, **common)
        if args.method == "shap"
        else integrated_gradients(mlm, args.text, method=args.method, steps=args.steps, **common)
    )
    curves = faithfulness(mlm, [result])[0] if args.faithfulness else [None] * len(result.targets)
    if args.json:
        data = result.to_dict()
        for entry, curve in zip(data["targets"], curves):
            if curve is not None:
                entry["faithfulness"] = curve.to_dict()
        return print_json(data)
    for target, curve in zip(result.targets, curves):
        gap = "" if target.completeness_gap is None else f", completeness gap = {target.completeness_gap:.2g}"
        print(
            f"{target.token}: f(x) = {target.output:.4f}, base value = {target.base_value:.4f} ({result.method}{gap})"
        )
        for word, value in sorted(zip(result.words, target.values), key=lambda pair: -abs(pair[1])):
            print(f"  {value:+.4f}  {word}")
        if curve is not None:
            random = curve.to_dict()
            print(
                f"  comprehensiveness {curve.comprehensiveness:.4f} "
                f"(random {random['random_comprehensiveness']:.4f}), sufficiency {curve.sufficiency:.4f} "
                f"(random {random['random_sufficiency']:.4f})"
            )
            print(f"  {curve.reading()}")
    return 0
