"""What every command of ``python -m mlm_core`` shares: the parser's one-line usage errors, ``--model`` and
``--json``, loading the model, JSON on stdout, reading a file argument, and user errors → one line, exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, MlmExplorerError, ModelNotFoundError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, like every other error of ours
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def run_command(args: argparse.Namespace) -> int:
    """The chosen command's exit code; a user error (``MlmExplorerError``) is one line on stderr and exit code 2."""
    try:
        return args.run(args)
    except MlmExplorerError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="preset (en, fr, de, zh, ja, multi, demo), Hugging Face id, or local folder "
        "(default: en if cached, else demo)",
    )


def add_json_argument(parser: argparse.ArgumentParser, help: str = "print one JSON object") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_method_argument(parser: argparse.ArgumentParser) -> None:
    """The pseudo-log-likelihood variant of ``score`` and ``pairs``."""
    from ..tasks.score import METHODS

    parser.add_argument(
        "--method",
        choices=METHODS,
        default=METHODS[0],
        help="pll-word-l2r (default: also hide the rest of a word to the right) or pll",
    )


def load(spec: str | None):
    """The model ``--model`` names, or the default one (``catalog.default_model_spec``)."""
    from ..catalog import default_model_spec
    from ..loading import load_model

    spec = spec or default_model_spec()
    if spec is None:
        raise ModelNotFoundError(
            "No model is available offline — pass --model with a local model folder, or a Hugging Face id "
            "(needs internet once)."
        )
    return load_model(spec)


def print_json(data: dict) -> int:
    print(json.dumps(data, ensure_ascii=False))
    return 0


@dataclass(frozen=True)
class Given:
    """A file argument's bytes: ``data``, the ``label`` messages use for it and its ``stem`` (None for stdin)."""

    data: bytes
    label: str
    stem: str | None = None


def read_given(name: str, *, fix: str, shipped: Path, missing: str) -> Given | None:
    """``-`` (standard input) or a readable file as ``Given``; None when ``name`` is the shipped file ``shipped``'s
    name (the caller loads it); ``InputError`` "No file 'NAME' — ``missing``" otherwise."""
    from ..files import read_input_file

    if name == "-":
        return Given(sys.stdin.buffer.read(), "Standard input")
    path = Path(name)
    if path.is_file():
        return Given(read_input_file(path, fix=fix), f"'{path}'", path.stem)
    if path.suffix or "/" in name or not shipped.is_file():
        raise InputError(f"No file '{name}' — {missing}")
    return None


def print_per_model(results: list, *, as_json: bool, lines: Callable[[object], Iterable[str]]) -> int:
    """Results of one command on ``--model`` and ``--compare``: one JSON object (the second model's under
    "compare"), or each result's ``lines``."""
    if as_json:
        summary = results[0].to_dict()
        if len(results) > 1:
            summary["compare"] = results[1].to_dict()
        return print_json(summary)
    for result in results:
        for line in lines(result):
            print(line)
    return 0
