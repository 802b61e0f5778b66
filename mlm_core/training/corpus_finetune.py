"""Fine-tune on a corpus of any size, on one device, a machine's GPUs or a cluster (``python -m mlm_core finetune``).

The same steps as the Fine-tune page (``finetune.finetune``) with three differences: the text is streamed from
files (``corpus``), the run may be distributed (``distribute.Placement``), and checkpoints are written every N
steps so that rerunning the same command resumes (``checkpoints``). Validation is the corpus's last blocks, masked
with the same fixed seed as on the page, so before/after metrics compare across setups. The chief alone writes
the model, through a staging folder moved into place at the end: a run killed at any moment leaves no folder that
loads as a model.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InputError
from ..model import MaskedLM
from ..params import Interval, check_params
from .batches import BlockSource
from .checkpoints import checkpoint_folder
from .corpus import corpus_files, plan_corpus
from .distribute import Placement
from .finetune import (
    FinetuneResult,
    check_save_folder,
    copy_model,
    model_bytes,
    run_config,
    save_model,
    validation_metrics,
)
from .finetune_plan import FINETUNE_PARAMS, FinetuneSettings
from .loop import TrainingProgress, train
from .plan import check_block_length, plan_steps

CORPUS_PARAMS = {**FINETUNE_PARAMS, "batch_size": Interval(int, 1, 65_536)}  # the global batch of a cluster
SHUFFLE_WINDOW = 4096  # blocks shuffled together while streaming (≈ 2.6 MB of ids at 128 tokens)


@dataclass(frozen=True)
class CorpusRun:
    """Where a corpus fine-tune runs and what it keeps: the placement, the checkpoint folder (None:
    ``default_checkpoint_dir(out)``), a checkpoint every ``checkpoint_every`` steps (None: at each evaluation) and
    the shuffle window of the streamed blocks."""

    placement: Placement
    checkpoint_dir: Path | None = None
    checkpoint_every: int | None = None
    window: int = SHUFFLE_WINDOW


def default_checkpoint_dir(out_dir: str | Path) -> Path:
    """``<out>-checkpoints`` next to the output folder: the same command finds it again when rerun."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}-checkpoints"


def finetune_corpus(
    load: Callable[[], MaskedLM],
    corpus: str | Path,
    settings: FinetuneSettings,
    run: CorpusRun,
    *,
    out_dir: str | Path,
    on_progress: Callable[[TrainingProgress], None] = lambda progress: None,
) -> FinetuneResult:
    """Fine-tune a copy of the model ``load()`` returns on ``corpus`` (a file, a folder or a glob of .txt files)
    and, on the chief, save it to ``out_dir``. Inputs are checked before the model loads or anything trains."""
    check_params("fine-tuning", asdict(settings), CORPUS_PARAMS)
    placement = run.placement
    files = corpus_files(corpus)
    placement.check_batch_size(settings.batch_size)
    if run.checkpoint_every is not None and run.checkpoint_every < 1:
        raise InputError(f"--checkpoint-every {run.checkpoint_every} is not a number of steps — give 1 or more.")
    checkpoints = Path(run.checkpoint_dir) if run.checkpoint_dir is not None else default_checkpoint_dir(out_dir)
    out = check_save_folder(out_dir) if placement.is_chief else None
    mlm = load()
    if out is not None:
        check_save_folder(out, needed_bytes=model_bytes(mlm))
    check_block_length(settings.block_length, mlm)
    plan = plan_corpus(
        mlm.tokenizer,
        files,
        block_length=settings.block_length,
        validation_share=settings.validation_share,
        cache_dir=checkpoint_folder(checkpoints, placement),
    )
    steps = plan_steps(
        plan.n_train,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        max_steps=settings.max_steps,
        replicas=placement.replicas,
    )
    with placement.strategy.scope():  # the copy's variables are mirrored on every replica
        tuned = copy_model(mlm, name=f"{mlm.name} · fine-tuned {uuid.uuid4().hex[:6]}")
    before = validation_metrics(tuned, plan.validation, settings, batch_size=32)
    config = run_config(
        settings,
        total_steps=steps.total_steps,
        steps_per_epoch=steps.steps_per_epoch,
        batch_size=steps.batch_size,
        checkpoint_every=run.checkpoint_every,
    )
    source = BlockSource(plan.n_train, plan.block_length, lambda: plan.train_chunks(mlm.tokenizer), run.window)
    result = train(
        tuned.model,
        tuned.tokenizer,
        source,
        plan.validation,
        config=config,
        checkpoint_dir=checkpoints,
        placement=placement,
        on_progress=on_progress,
    )
    after = validation_metrics(tuned, plan.validation, settings, batch_size=32)
    if out is not None:
        save_model(tuned, out)
    return FinetuneResult(
        tuned,
        mlm.name,
        before,
        after,
        result.steps,
        steps.total_steps,
        result.stopped_early,
        result.seconds,
        result.tokens_per_second,
        result.history,
        out,
    )
