"""``embed SENTENCE...``: project contextual token embeddings to 2-D (PCA or t-SNE)."""

from __future__ import annotations

import argparse

from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    embed = subcommands.add_parser("embed", help="project contextual token embeddings of sentences to 2-D")
    embed.add_argument("sentences", nargs="+", help="one or more sentences")
    add_model_argument(embed)
    embed.add_argument("--layer", type=int, default=None, help="0 = embedding layer … L = last (default: last)")
    embed.add_argument("--method", choices=["pca", "tsne"], default="pca", help="projection (default pca)")
    add_json_argument(embed)
    embed.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks.embeddings import projected_points

    mlm = load(args.model)
    layer = mlm.num_layers if args.layer is None else args.layer
    points, projection = projected_points(mlm, args.sentences, layer=layer, method=args.method)
    columns = ["sentence", "position", "token", "x", "y"]
    if args.json:
        return print_json({"layer": layer, "method": args.method, "points": points[columns].to_dict(orient="records")})
    print(points[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if projection.explained_variance:
        print("explained variance: " + ", ".join(f"{v:.1%}" for v in projection.explained_variance))
    return 0
