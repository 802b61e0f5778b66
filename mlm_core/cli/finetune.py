"""``finetune CORPUS --model M --out DIR``: fine-tune a copy of the model on a corpus, on any strategy, resumable.

Rerunning the same command resumes from the last checkpoint. Progress goes to stderr (``progress.ProgressReport``):
a bar on a terminal, one JSON object per step with ``--json`` (the result is then one JSON object on stdout), else a
line per evaluation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .progress import ProgressReport
from .shared import add_json_argument, add_model_argument, load, print_json


def register(subcommands) -> None:
    from ..training.distribute import STRATEGIES

    finetune = subcommands.add_parser(
        "finetune",
        help="fine-tune a copy of the model on a corpus and save it; "
        "on one device, a machine's GPUs or a cluster; resumable",
    )
    finetune.add_argument("file", metavar="CORPUS", help="a UTF-8 .txt file, a folder of them or a glob, any size")
    add_model_argument(finetune)
    finetune.add_argument("--out", required=True, help="folder for the fine-tuned model (save_pretrained format)")
    finetune.add_argument("--epochs", type=int, default=2, help="passes over the corpus (default 2)")
    finetune.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate (default 5e-5)")
    finetune.add_argument(
        "--batch-size", type=int, default=8, help="blocks per step in all, split evenly across replicas (default 8)"
    )
    finetune.add_argument("--block-length", type=int, default=64, help="tokens per block (default 64)")
    finetune.add_argument("--max-steps", type=int, default=500, help="cap on training steps (default 500)")
    finetune.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="auto (default: multiworker when TF_CONFIG is set, mirrored with several GPUs, "
        "else one), one, mirrored (this machine's GPUs) or multiworker (hosts in TF_CONFIG)",
    )
    finetune.add_argument(
        "--checkpoint-dir",
        default=None,
        help="folder for checkpoints (default: OUT-checkpoints next to --out); a rerun resumes",
    )
    finetune.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        help="steps between checkpoints (default: at each of the ~10 evaluations)",
    )
    finetune.add_argument("--seed", type=int, default=0, help="seed of the shuffling and masking (default 0)")
    add_json_argument(
        finetune,
        "progress as JSON lines on stderr; {out, before, after, tokens_per_second, steps, "
        "stopped_early} as one JSON object on stdout",
    )
    finetune.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..training.distribute import place

    placement = place(args.strategy)  # first: a multi-worker strategy must start before TensorFlow runs anything

    from ..training.corpus_finetune import CorpusRun, default_checkpoint_dir, finetune_corpus
    from ..training.finetune_plan import FinetuneSettings

    settings = FinetuneSettings(
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        block_length=args.block_length,
        max_steps=args.max_steps,
        seed=args.seed,
    )
    checkpoints = Path(args.checkpoint_dir) if args.checkpoint_dir else default_checkpoint_dir(args.out)
    corpus_run = CorpusRun(placement, checkpoints, args.checkpoint_every)
    report = ProgressReport.on_stderr(
        json_lines=args.json, worker=placement.worker_index if placement.n_workers > 1 else None
    )
    result = finetune_corpus(
        lambda: load(args.model), args.file, settings, corpus_run, out_dir=args.out, on_progress=report
    )
    report.close()
    if args.json:
        return print_json(result.summary())
    where = (
        f"Saved to {result.out_dir}"
        if result.out_dir
        else f"Worker {placement.worker_index} finished (the chief saves the model)"
    )
    print(
        f"{where} after {result.steps} steps ({result.tokens_per_second:.0f} tokens/s); checkpoints in "
        f"{checkpoints} (delete it once you no longer need to resume)."
    )
    print(result.comparison_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0
