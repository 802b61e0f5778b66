"""``python -m mlm_core probe FILE|TASK --model M [--folds 5] [--seed 0] [--json]``: how well a linear probe reads
a word property from each layer, against a control task and the majority baseline. Layer 0 = the embeddings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from .commands import load


def add_parser(subcommands, add_model_argument: Callable[[argparse.ArgumentParser], None]) -> None:
    probe = subcommands.add_parser("probe", help="probe every layer for a word property, with a control task")
    probe.add_argument("file", metavar="FILE|TASK",
                       help="CSV/TSV with a header 'sentence,word,label[,occurrence]' or JSONL; '-' reads standard "
                            "input; or the name of a shipped task (e.g. en-pos-noun-verb)")
    add_model_argument(probe)
    probe.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    probe.add_argument("--seed", type=int, default=0, help="seed of the folds and the control task (default 0)")
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(run=run_probe)


def read_task(name: str):
    """(task name, property, rows) from a file, standard input or a shipped task's name."""
    from .errors import InputError
    from .files import read_input_file
    from .tasks.probe_files import PROBES_DIR, load_probe_task, read_probe_rows

    if name == "-":
        return "stdin", "The label", read_probe_rows(sys.stdin.buffer.read(), name="Standard input")
    path = Path(name)
    if path.is_file():
        data = read_input_file(path, fix="give a CSV, TSV or JSONL file of probing rows that you can read")
        return path.stem, "The label", read_probe_rows(data, name=f"'{path}'")
    if path.suffix or "/" in name or not (PROBES_DIR / f"{name}.tsv").is_file():
        raise InputError(f"No file '{name}' — give a CSV, TSV or JSONL file with a header 'sentence,word,label', "
                         "'-' for standard input, or a shipped task's name (see mlm_core/probes).")
    task, rows = load_probe_task(name)
    return task.key, task.property, rows


def run_probe(args: argparse.Namespace) -> int:
    from .params import check_params
    from .tasks.probe import PROBE_PARAMS, probe
    from .tasks.probe_files import check_rows

    task, property_name, rows = read_task(args.file)
    check_params("probe", {"folds": args.folds, "seed": args.seed}, PROBE_PARAMS)
    check_rows(rows, folds=args.folds, name=f"Task '{task}'")  # before the model loads, not after

    def progress(fraction: float, what: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{fraction:4.0%} {what:<60}", end="" if fraction < 1 else "\n", file=sys.stderr, flush=True)

    result = probe(load(args.model), rows, task=task, property=property_name, folds=args.folds, seed=args.seed,
                   on_progress=progress)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(f"{result.model_name} · {task}: {result.rows} rows, labels "
          + ", ".join(f"{label} {count}" for label, count in result.labels)
          + f"; majority baseline {result.majority:.3f}")
    print(result.frame().drop(columns="majority").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(result.reading())
    return 0
