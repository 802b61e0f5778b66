"""Masked-LM training: one loop for every ``tf.distribute`` strategy, from the Fine-tune page to a cluster.

Used to build the demo model, by the Fine-tune page (strategy ``one``) and by ``python -m mlm_core finetune``
(any strategy). The pieces, each testable alone:

- ``blocks.make_blocks`` / ``corpus``: text → fixed-length blocks that remember where words start, in memory or
  streamed from files of any size.
- ``batches``: global batches fixed by (seed, step), split into replica shards, masked by (seed, epoch, block)
  (``masking.mask_blocks``), fed through ``tf.data`` to the strategy.
- ``steps.make_train_step``: the loss at masked positions through the same ``masked_logits`` as inference,
  normalised by the global batch's count of masked tokens, so N workers compute the one-process update.
- ``metrics.evaluate``: masked-LM loss, perplexity, top-1 and top-5 accuracy over masked positions only.
- ``train`` (here): warm-up + linear decay, progress after every step, stop flag, periodic held-out evaluation,
  checkpoints every N steps that resume exactly (``checkpoints``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tensorflow as tf

from ..errors import InputError
from ..params import Interval, check_params
from .batches import BlockSource, distributed_dataset
from .blocks import TextBlocks
from .checkpoints import agree_on_step, open_checkpoints
from .distribute import ClusterError, Placement
from .masking import MaskedBlocks, mask_for
from .metrics import MlmMetrics, evaluate
from .steps import make_optimisers, make_train_step


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run. ``total_steps`` counts optimiser steps of ``batch_size`` blocks (the global
    batch, split across replicas); the held-out split is evaluated every ``eval_every`` steps and a checkpoint
    written every ``checkpoint_every`` steps (None: at each evaluation) and at the end."""

    total_steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 1e-4
    head_learning_rate: float | None = None
    warmup_steps: int = 100
    mask_probability: float = 0.15
    whole_words: bool = True
    eval_every: int = 200
    seed: int = 0
    jit_compile: bool = False  # XLA, on strategy "one" only
    eval_seed: int | None = None  # masking seed of the held-out split; None → seed + 1
    checkpoint_every: int | None = None

    @property
    def held_out_seed(self) -> int:
        return self.seed + 1 if self.eval_seed is None else self.eval_seed

    @property
    def save_every(self) -> int:
        return self.checkpoint_every or self.eval_every


TRAINING_PARAMS = {
    "total_steps": Interval(int, 1, 10_000_000),
    "batch_size": Interval(int, 1, 65_536),
    "learning_rate": Interval(float, 1e-7, 1e-2),
    "warmup_steps": Interval(int, 0, 1_000_000),
    "mask_probability": Interval(float, 0.01, 0.5),
    "eval_every": Interval(int, 1, 1_000_000),
}


@dataclass(frozen=True)
class TrainingProgress:
    """What the progress callback receives after every optimiser step (and after each evaluation). ``loss`` is the
    mean training loss since the last evaluation."""

    step: int
    total_steps: int
    loss: float
    tokens_per_second: float
    evaluation: MlmMetrics | None = None
    seconds_per_step: float = 0.0  # pace after the first step (which also traces the step function)

    @property
    def seconds_left(self) -> float:
        return self.seconds_per_step * (self.total_steps - self.step)


@dataclass(frozen=True)
class TrainingResult:
    """What a run did: ``steps`` trained in all (a resumed run counts the earlier ones), wall ``seconds`` and
    ``tokens_per_second`` of this process's steps (all replicas), one ``history`` record per evaluation
    (step, train_loss, seconds, eval_* metrics), the ``best`` held-out metrics, and whether a stop request ended
    it before ``total_steps``."""

    steps: int
    seconds: float
    tokens_per_second: float
    history: list[dict] = field(default_factory=list)
    best: MlmMetrics | None = None
    stopped_early: bool = False


@dataclass
class _Run:
    model: object
    config: TrainingConfig
    eval_masked: MaskedBlocks | None
    step: tf.Variable
    on_progress: Callable[[TrainingProgress], None]
    on_best: Callable[[MlmMetrics], None]
    tokens_per_step: int
    history: list = field(default_factory=list)
    best: MlmMetrics | None = None
    started: float = field(default_factory=time.perf_counter)
    steps_this_run: int = 0
    first_step_done: float | None = None
    losses: list = field(default_factory=list)  # since the last evaluation

    def seconds_per_step(self) -> float:
        """Wall time per step after the first one (the first also traces and compiles), evaluations included."""
        now = time.perf_counter()
        if self.first_step_done is None or self.steps_this_run < 2:
            return (now - self.started) / max(self.steps_this_run, 1)
        return (now - self.first_step_done) / (self.steps_this_run - 1)

    def speed(self) -> float:
        if self.steps_this_run == 0:  # a finished run resumed: nothing was timed
            return 0.0
        return self.tokens_per_step / max(self.seconds_per_step(), 1e-9)

    def mean_loss(self) -> float:
        return sum(self.losses) / max(len(self.losses), 1)

    def after_step(self, loss: float) -> None:
        self.step.assign_add(1)
        self.steps_this_run += 1
        self.losses.append(loss)
        if self.steps_this_run == 1:
            self.first_step_done = time.perf_counter()
        self.on_progress(
            TrainingProgress(
                int(self.step),
                self.config.total_steps,
                self.mean_loss(),
                self.speed(),
                seconds_per_step=self.seconds_per_step(),
            )
        )

    def after_evaluation_period(self) -> None:
        train_loss = self.mean_loss()
        evaluation = evaluate(self.model, self.eval_masked) if self.eval_masked is not None else None
        record = {"step": int(self.step), "train_loss": train_loss, "seconds": time.perf_counter() - self.started}
        if evaluation is not None:
            record.update({f"eval_{key}": value for key, value in evaluation.as_dict().items()})
            if self.best is None or evaluation.loss < self.best.loss:
                self.best = evaluation
                self.on_best(evaluation)
        self.history.append(record)
        self.losses = []
        self.on_progress(
            TrainingProgress(
                int(self.step), self.config.total_steps, train_loss, self.speed(), evaluation, self.seconds_per_step()
            )
        )


def train(
    model,
    tokenizer,
    train_blocks: TextBlocks | BlockSource,
    eval_blocks: TextBlocks | None = None,
    *,
    config: TrainingConfig = TrainingConfig(),
    checkpoint_dir: str | Path | None = None,
    placement: Placement | None = None,
    on_progress: Callable[[TrainingProgress], None] = lambda progress: None,
    should_stop: Callable[[], bool] = lambda: False,
    on_best: Callable[[MlmMetrics], None] = lambda metrics: None,
) -> TrainingResult:
    """Train ``model`` in place on ``train_blocks`` (in memory, or a streamed ``BlockSource``); evaluate on
    ``eval_blocks`` every ``config.eval_every`` steps.

    ``placement`` (default: strategy ``one``) says where: the model must have been built under its strategy's
    scope. With ``checkpoint_dir``, weights, optimiser state and the step are saved every
    ``config.save_every`` steps and at the end, and a rerun resumes from the latest checkpoint. ``on_best`` is
    called when held-out loss improves; ``should_stop`` is polled after every step and keeps what was trained so far
    (on one worker only: the others of a cluster would wait for it).
    """
    check_params("train", asdict(config), TRAINING_PARAMS)
    placement = placement or Placement("one", tf.distribute.get_strategy())
    source = train_blocks if isinstance(train_blocks, BlockSource) else BlockSource.in_memory(train_blocks)
    placement.check_batch_size(config.batch_size)
    if source.n_blocks < config.batch_size:
        raise InputError(
            f"There are {source.n_blocks} training blocks, fewer than one batch of {config.batch_size}"
            " — add text or lower the batch size."
        )
    strategy = placement.strategy
    optimisers = make_optimisers(
        model,
        strategy,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_steps,
        total_steps=config.total_steps,
        head_learning_rate=config.head_learning_rate,
    )
    step = tf.Variable(0, dtype=tf.int64, trainable=False)  # host bookkeeping: outside the scope, never mirrored
    manager = None
    if checkpoint_dir is not None:
        manager = open_checkpoints(
            {"model": model, "step": step, **optimisers.checkpoint_parts()}, checkpoint_dir, placement
        )
        agree_on_step(manager, step, placement)
    eval_masked = None
    if eval_blocks is not None:
        eval_masked = mask_for(
            tokenizer,
            eval_blocks,
            probability=config.mask_probability,
            whole_words=config.whole_words,
            seed=config.held_out_seed,
        )
    run = _Run(
        model, config, eval_masked, step, on_progress, on_best, tokens_per_step=config.batch_size * source.block_length
    )
    if int(step) < config.total_steps:
        batches = iter(
            distributed_dataset(
                strategy,
                source,
                tokenizer,
                batch_size=config.batch_size,
                seed=config.seed,
                probability=config.mask_probability,
                whole_words=config.whole_words,
                first_step=int(step),
            )
        )
        train_step = make_train_step(
            model, optimisers, strategy, jit_compile=config.jit_compile and placement.name == "one"
        )
        while int(step) < config.total_steps:
            run.after_step(float(_cluster_step(train_step, batches, placement, int(step))))
            stop, done, now = should_stop(), int(step) >= config.total_steps, int(step)
            if now % config.eval_every == 0 or done or stop:
                run.after_evaluation_period()
            if manager is not None and (now % config.save_every == 0 or done or stop):
                manager.save(checkpoint_number=now)
            if stop:
                break
    seconds = time.perf_counter() - run.started
    return TrainingResult(
        int(step), seconds, run.speed(), run.history, run.best, stopped_early=int(step) < config.total_steps
    )


LOST_WORKER = (
    tf.errors.UnavailableError,
    tf.errors.AbortedError,
    tf.errors.CancelledError,
    tf.errors.DeadlineExceededError,
)


def _cluster_step(train_step, batches, placement: Placement, step: int):
    """One step; on a cluster, a worker that stopped answering becomes one ``ClusterError`` with what to do."""
    try:
        return train_step(next(batches))
    except LOST_WORKER as error:
        if placement.n_workers == 1:
            raise
        reason = str(error).split("\n")[0][:200]
        raise ClusterError(
            f"Step {step + 1} failed: another worker stopped answering ({reason}) — start the same "
            "command again on every worker; all resume from their last checkpoint."
        ) from error
