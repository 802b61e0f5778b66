"""``python -m mlm_core finetune CORPUS --model M --out DIR``: fine-tune on a corpus, on any strategy, resumable.

Rerunning the same command resumes from the last checkpoint. Progress goes to stderr: a bar on a terminal, one
JSON object per step with ``--json`` (the result is then one JSON object on stdout), else a line per evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

BAR_WIDTH = 24


def add_finetune_arguments(finetune: argparse.ArgumentParser) -> None:
    """The flags of ``finetune`` after CORPUS and --model (``cli.py`` owns the parser)."""
    from .training.distribute import STRATEGIES

    finetune.add_argument("--out", required=True, help="folder for the fine-tuned model (save_pretrained format)")
    finetune.add_argument("--epochs", type=int, default=2, help="passes over the corpus (default 2)")
    finetune.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate (default 5e-5)")
    finetune.add_argument("--batch-size", type=int, default=8,
                          help="blocks per step in all, split evenly across replicas (default 8)")
    finetune.add_argument("--block-length", type=int, default=64, help="tokens per block (default 64)")
    finetune.add_argument("--max-steps", type=int, default=500, help="cap on training steps (default 500)")
    finetune.add_argument("--strategy", choices=STRATEGIES, default="auto",
                          help="auto (default: multiworker when TF_CONFIG is set, mirrored with several GPUs, "
                               "else one), one, mirrored (this machine's GPUs) or multiworker (hosts in TF_CONFIG)")
    finetune.add_argument("--checkpoint-dir", default=None,
                          help="folder for checkpoints (default: OUT-checkpoints next to --out); a rerun resumes")
    finetune.add_argument("--checkpoint-every", type=int, default=None,
                          help="steps between checkpoints (default: at each of the ~10 evaluations)")
    finetune.add_argument("--seed", type=int, default=0, help="seed of the shuffling and masking (default 0)")
    finetune.add_argument("--json", action="store_true",
                          help="progress as JSON lines on stderr; {out, before, after, tokens_per_second, steps, "
                               "stopped_early} as one JSON object on stdout")


def run_finetune(args: argparse.Namespace) -> int:
    from .training.distribute import place

    placement = place(args.strategy)  # first: a multi-worker strategy must start before TensorFlow runs anything

    from .commands import load
    from .training.corpus_finetune import CorpusRun, default_checkpoint_dir, finetune_corpus
    from .training.finetune import FinetuneSettings

    settings = FinetuneSettings(epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
                                block_length=args.block_length, max_steps=args.max_steps, seed=args.seed)
    checkpoints = Path(args.checkpoint_dir) if args.checkpoint_dir else default_checkpoint_dir(args.out)
    run = CorpusRun(placement, checkpoints, args.checkpoint_every)
    report = ProgressReport(sys.stderr, json_lines=args.json, bar=sys.stderr.isatty() and not args.json,
                            worker=placement.worker_index if placement.n_workers > 1 else None)
    result = finetune_corpus(lambda: load(args.model), args.file, settings, run, out_dir=args.out,
                             on_progress=report)
    report.close()
    if args.json:
        print(json.dumps(result.summary()))
        return 0
    where = f"Saved to {result.out_dir}" if result.out_dir else \
        f"Worker {placement.worker_index} finished (the chief saves the model)"
    print(f"{where} after {result.steps} steps ({result.tokens_per_second:.0f} tokens/s); checkpoints in "
          f"{checkpoints} (delete it once you no longer need to resume).")
    print(result.comparison_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


class ProgressReport:
    """Progress of a run on ``stream``: a one-line bar (tokens/s, ETA, loss) rewritten in place, JSON lines, or
    one plain line per evaluation."""

    def __init__(self, stream: TextIO, *, json_lines: bool = False, bar: bool = False, worker: int | None = None):
        self.stream, self.json_lines, self.bar, self.worker = stream, json_lines, bar, worker
        self.drawn = False

    def __call__(self, progress) -> None:
        evaluation = progress.evaluation
        if self.json_lines:
            line = {"step": progress.step, "total_steps": progress.total_steps, "loss": progress.loss,
                    "tokens_per_second": progress.tokens_per_second, "eta_seconds": progress.seconds_left}
            if evaluation is not None:
                line["validation"] = evaluation.as_dict()
            if self.worker is not None:
                line["worker"] = self.worker
            print(json.dumps(line), file=self.stream, flush=True)
        elif self.bar:
            done = int(BAR_WIDTH * progress.step / max(progress.total_steps, 1))
            text = (f"\r[{'#' * done}{'.' * (BAR_WIDTH - done)}] {progress.step}/{progress.total_steps} · loss "
                    f"{progress.loss:.3f} · {progress.tokens_per_second:,.0f} tokens/s · ETA "
                    f"{_duration(progress.seconds_left)}")
            print(text, end="", file=self.stream, flush=True)
            self.drawn = True
            if evaluation is not None:
                print(f"\n  validation loss {evaluation.loss:.3f}, top-1 {evaluation.top1:.1%}", file=self.stream)
        elif evaluation is not None:
            print(f"step {progress.step}/{progress.total_steps}: train loss {progress.loss:.3f}, validation loss "
                  f"{evaluation.loss:.3f}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.drawn:
            print(file=self.stream)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
