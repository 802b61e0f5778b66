"""``python -m bench [--only PREFIX] [--repeats N] [--json]``: the table of every benchmark row, or one JSON object
{"machine", "results"}. Progress goes to stderr."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="measure latency on a BERT-base-shaped model with random weights"
    )
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per row (default 20)")
    parser.add_argument("--only", default=None, help="run only rows whose name starts with this, e.g. predict/8")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    from .rows import machine_description
    from .runner import format_table, run_benchmarks

    results = run_benchmarks(repeats=args.repeats, only=args.only, progress=lambda line: print(line, file=sys.stderr))
    if args.json:
        print(json.dumps({"machine": machine_description(), "results": [r.as_dict() for r in results]}))
    else:
        print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
