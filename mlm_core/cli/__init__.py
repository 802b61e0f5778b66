"""Command line: ``python -m mlm_core COMMAND ...`` — one module per command, each with ``register(subcommands)``
(its parser) and ``run(args) -> int`` (load, call the core, print text or JSON). What they share is in ``shared``;
progress on stderr is ``progress.ProgressReport``.

User errors exit with code 2 and one line on stderr; results go to stdout. The benchmarks (``python -m bench``) and
the demo model's build are not user commands and live outside ``mlm_core``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import ablate, attention, bias, embed, explain, finetune, heads, layers, pairs, predict, probe, score, trace
from .shared import EXIT_USAGE, Parser, run_command

__all__ = ["COMMANDS", "EXIT_USAGE", "build_parser", "main"]

# In the order --help lists them.
COMMANDS = (predict, attention, layers, ablate, heads, trace, embed, explain, score, pairs, probe, bias, finetune)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m mlm_core", description="Look inside masked language models.")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    return run_command(args)


def _quiet_libraries() -> None:
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
