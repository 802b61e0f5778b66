"""``pairs FILE|SUITE``: which sentence of each minimal pair the model prefers, and its accuracy per category."""

from __future__ import annotations

import argparse

from .progress import ProgressReport
from .shared import add_json_argument, add_method_argument, add_model_argument, load, print_per_model, read_given


def register(subcommands) -> None:
    pairs = subcommands.add_parser("pairs", help="which sentence of each minimal pair the model prefers; accuracy")
    pairs.add_argument(
        "file",
        help="CSV/TSV with a header 'good,bad[,category]' or JSONL; '-' reads standard "
        "input; or the name of a shipped suite (e.g. en-agreement-simple)",
    )
    add_model_argument(pairs)
    add_method_argument(pairs)
    pairs.add_argument("--compare", default=None, metavar="MODEL", help="a second model scored on the same pairs")
    add_json_argument(pairs)
    pairs.set_defaults(run=run)


def read_pairs_argument(name: str):
    """The pairs of a file, standard input ('-') or a shipped suite's name."""
    from ..tasks.pair_files import SUITES_DIR, load_suite, read_pairs

    given = read_given(
        name,
        fix="give a CSV, TSV or JSONL file of pairs that you can read",
        shipped=SUITES_DIR / f"{name}.tsv",
        missing="give a CSV, TSV or JSONL file of pairs, '-' for standard input, or a shipped "
        "suite's name (see mlm_core/suites).",
    )
    return load_suite(name)[1] if given is None else read_pairs(given.data, name=given.label)


def run(args: argparse.Namespace) -> int:
    from ..tasks.pairs import compare_pairs

    pairs = read_pairs_argument(args.file)
    models = [load(args.model)] + ([load(args.compare)] if args.compare else [])
    progress = ProgressReport.on_stderr().counted("pairs")
    results = [compare_pairs(mlm, pairs, method=args.method, on_progress=progress) for mlm in models]
    return print_per_model(results, as_json=args.json, lines=_lines)


def _lines(result) -> list[str]:
    return [
        f"{result.model_name}: accuracy {result.accuracy:.1%} on {len(result.pairs)} pairs "
        f"({result.ties} ties, counted as failures)",
        *(
            f"  {row.category or '(no category)'}: {row.accuracy:.1%} of {row.pairs}"
            for row in result.categories_frame().itertuples()
        ),
    ]
