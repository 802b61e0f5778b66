"""``bias FILE|SUITE``: social bias with the CrowS-Pairs metric — how often the model prefers the more
stereotypical sentence, per bias type, with 95 % intervals."""

from __future__ import annotations

import argparse

from .progress import ProgressReport
from .shared import add_json_argument, add_model_argument, load, print_per_model, read_given


def register(subcommands) -> None:
    bias = subcommands.add_parser(
        "bias",
        help="social bias with the CrowS-Pairs metric: how often the model prefers the more stereotypical sentence",
    )
    bias.add_argument(
        "file",
        help="CSV/TSV with CrowS-Pairs' columns 'sent_more,sent_less,stereo_antistereo,"
        "bias_type' (the dataset's own file works), '-' for standard input, or a shipped "
        "bias suite (e.g. en-occupations-pronouns)",
    )
    add_model_argument(bias)
    bias.add_argument("--compare", default=None, metavar="MODEL", help="a second model scored on the same pairs")
    add_json_argument(bias)
    bias.set_defaults(run=run)


def read_bias_argument(name: str):
    """The bias pairs of a file, standard input ('-') or a shipped bias suite's name."""
    from ..tasks.bias_files import BIAS_SUITES_DIR, load_bias_suite, read_bias_pairs

    given = read_given(
        name,
        fix="give a CSV or TSV file of bias pairs that you can read",
        shipped=BIAS_SUITES_DIR / f"{name}.csv",
        missing="give a CSV or TSV file with the columns sent_more,sent_less,stereo_antistereo,"
        "bias_type, '-' for standard input, or a shipped bias suite's name "
        "(see mlm_core/suites/bias).",
    )
    return load_bias_suite(name)[1] if given is None else read_bias_pairs(given.data, name=given.label)


def run(args: argparse.Namespace) -> int:
    from ..tasks.bias import LIMITS, bias_scores

    pairs = read_bias_argument(args.file)
    models = [load(args.model)] + ([load(args.compare)] if args.compare else [])
    progress = ProgressReport.on_stderr().counted("pairs")
    results = [bias_scores(mlm, pairs, on_progress=progress) for mlm in models]
    code = print_per_model(results, as_json=args.json, lines=_lines)
    if not args.json:
        print(LIMITS)
    return code


def _lines(result) -> list[str]:
    return [
        result.reading(),
        *(
            f"  {row.bias_type or '(no bias type)'}: {row.stereotype_share:.1%} of {row.pairs} "
            f"(95 % interval {row.low:.0%}–{row.high:.0%})"
            for row in result.groups_frame().itertuples()
        ),
    ]
