"""``probe FILE|TASK``: how well a linear probe reads a word property from each layer, against a control task and
the majority baseline. Layer 0 = the embeddings."""

from __future__ import annotations

import argparse

from .progress import ProgressReport
from .shared import add_json_argument, add_model_argument, load, print_json, read_given


def register(subcommands) -> None:
    probe = subcommands.add_parser("probe", help="probe every layer for a word property, with a control task")
    probe.add_argument(
        "file",
        metavar="FILE|TASK",
        help="CSV/TSV with a header 'sentence,word,label[,occurrence]' or JSONL; '-' reads standard "
        "input; or the name of a shipped task (e.g. en-pos-noun-verb)",
    )
    add_model_argument(probe)
    probe.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    probe.add_argument("--seed", type=int, default=0, help="seed of the folds and the control task (default 0)")
    add_json_argument(probe)
    probe.set_defaults(run=run)


def read_task(name: str):
    """(task name, property, rows) from a file, standard input or a shipped task's name."""
    from ..tasks.probe_files import PROBES_DIR, load_probe_task, read_probe_rows

    given = read_given(
        name,
        fix="give a CSV, TSV or JSONL file of probing rows that you can read",
        shipped=PROBES_DIR / f"{name}.tsv",
        missing="give a CSV, TSV or JSONL file with a header 'sentence,word,label', '-' for "
        "standard input, or a shipped task's name (see mlm_core/probes).",
    )
    if given is None:
        task, rows = load_probe_task(name)
        return task.key, task.property, rows
    return "stdin" if given.stem is None else given.stem, "The label", read_probe_rows(given.data, name=given.label)


def run(args: argparse.Namespace) -> int:
    from ..params import check_params
    from ..tasks.probe import PROBE_PARAMS, probe
    from ..tasks.probe_files import check_rows

    task, property_name, rows = read_task(args.file)
    check_params("probe", {"folds": args.folds, "seed": args.seed}, PROBE_PARAMS)
    check_rows(rows, folds=args.folds, name=f"Task '{task}'")  # before the model loads, not after
    result = probe(
        load(args.model),
        rows,
        task=task,
        property=property_name,
        folds=args.folds,
        seed=args.seed,
        on_progress=ProgressReport.on_stderr().fraction,
    )
    if args.json:
        return print_json(result.to_dict())
    print(
        f"{result.model_name} · {task}: {result.rows} rows, labels "
        + ", ".join(f"{label} {count}" for label, count in result.labels)
        + f"; majority baseline {result.majority:.3f}"
    )
    print(result.frame().drop(columns="majority").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(result.reading())
    return 0
