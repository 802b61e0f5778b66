"""Masked-LM training with Keras (tf_keras): text → blocks → masking → ``fit`` with the loss at masked positions.

Used to build the demo model and by the Fine-tune page. The pieces, each testable alone:

- ``blocks.make_blocks``: tokenise documents into fixed-length blocks and remember where words start.
- ``masking.mask_blocks``: BERT masking with a seed, a fixed number of prediction slots per row.
- ``MaskedLMTrainer`` (here): a Keras model whose ``train_step`` computes logits only at the masked positions (the
  vocabulary projection is the costliest matrix) through the same ``masked_logits`` as inference, with its own
  learning rate for the masked-LM head.
- ``metrics.evaluate``: masked-LM loss, perplexity, top-1 and top-5 accuracy over masked positions only.
- ``train`` (here): the loop — warm-up + linear decay, progress callback, stop flag, periodic held-out evaluation,
  checkpoints that resume exactly (the masking of each pass is a function of the seed and the pass number).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf
import tf_keras

from ..errors import InputError
from ..forward import masked_logits, split_head
from ..params import Interval, check_params
from .blocks import TextBlocks
from .masking import MaskedBlocks, mask_for, prediction_slots
from .metrics import MlmMetrics, evaluate, masked_lm_loss


class WarmupLinearDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then linear decay to ``floor × peak`` at ``total_steps``."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int, floor: float = 0.05):
        self.peak, self.warmup_steps, self.total_steps, self.floor = peak, warmup_steps, total_steps, floor

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warmup = tf.maximum(float(self.warmup_steps), 1.0)
        rising = self.peak * step / warmup
        remaining = tf.maximum(float(self.total_steps) - warmup, 1.0)
        falling = self.peak * tf.maximum(self.floor, 1.0 - (step - warmup) / remaining)
        return tf.where(step < warmup, rising, falling)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "floor": self.floor}


class MaskedLMTrainer(tf_keras.Model):
    """Keras wrapper whose ``fit`` trains a TF masked LM with the loss at masked positions only.

    Batches are ``(input_ids, positions, labels, weights)`` as in ``MaskedBlocks``. The head (its own weights, not
    the tied word embeddings) may use a larger learning rate, e.g. when it starts from random initialisation.
    """

    def __init__(self, model, *, encoder_optimizer, head_optimizer=None):
        super().__init__()
        self.mlm = model
        self.encoder_optimizer = encoder_optimizer
        self.head_optimizer = head_optimizer
        self.loss_tracker = tf_keras.metrics.Mean(name="loss")

    def _variable_groups(self):
        split = split_head(self.mlm)
        if self.head_optimizer is None or split is None:
            return self.mlm.trainable_variables, []
        encoder_refs = {v.ref() for v in split[0].trainable_variables}
        head = [v for v in split[1].trainable_variables if v.ref() not in encoder_refs]
        head_refs = {v.ref() for v in head}
        return [v for v in self.mlm.trainable_variables if v.ref() not in head_refs], head

    def train_step(self, data):
        input_ids, positions, labels, weights = data
        encoder_vars, head_vars = self._variable_groups()
        with tf.GradientTape() as tape:
            logits, _ = masked_logits(self.mlm, input_ids, tf.ones_like(input_ids), positions, training=True)
            loss = masked_lm_loss(labels, logits, weights)
        gradients = tape.gradient(loss, encoder_vars + head_vars)
        self.encoder_optimizer.apply_gradients(zip(gradients[: len(encoder_vars)], encoder_vars))
        if head_vars:
            self.head_optimizer.apply_gradients(zip(gradients[len(encoder_vars):], head_vars))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run. ``total_steps`` counts optimiser steps; ``eval_every`` steps make one
    Keras epoch, after which the held-out split is evaluated and a checkpoint written."""

    total_steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 1e-4
    head_learning_rate: float | None = None
    warmup_steps: int = 100
    mask_probability: float = 0.15
    whole_words: bool = True
    eval_every: int = 200
    seed: int = 0
    jit_compile: bool = False
    eval_seed: int | None = None  # masking seed of the held-out split; None → seed + 1

    @property
    def held_out_seed(self) -> int:
        return self.seed + 1 if self.eval_seed is None else self.eval_seed


TRAINING_PARAMS = {
    "total_steps": Interval(int, 1, 10_000_000),
    "batch_size": Interval(int, 1, 1024),
    "learning_rate": Interval(float, 1e-7, 1e-2),
    "warmup_steps": Interval(int, 0, 1_000_000),
    "mask_probability": Interval(float, 0.01, 0.5),
    "eval_every": Interval(int, 1, 1_000_000),
}


@dataclass(frozen=True)
class TrainingProgress:
    """What the progress callback receives after every optimiser step (and after each evaluation)."""

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
    ``tokens_per_second`` of this process's steps, one ``history`` record per evaluation
    (step, train_loss, seconds, eval_* metrics), the ``best`` held-out metrics, and whether a stop request ended
    it before ``total_steps``."""

    steps: int
    seconds: float
    tokens_per_second: float
    history: list[dict] = field(default_factory=list)
    best: MlmMetrics | None = None
    stopped_early: bool = False


def _batches(blocks: TextBlocks, tokenizer, config: TrainingConfig, first_step: int) -> Iterator[tuple]:
    """Endless masked, shuffled batches; pass k is masked and shuffled with seed (seed, k), so a run resumed at
    ``first_step`` sees exactly the batches it would have seen."""
    per_pass = len(blocks) // config.batch_size
    if per_pass == 0:
        raise InputError(f"There are {len(blocks)} training blocks, fewer than one batch of {config.batch_size} — "
                         "add text or lower the batch size.")
    pass_index, skip = divmod(first_step, per_pass)
    while True:
        masked = mask_for(tokenizer, blocks, probability=config.mask_probability, whole_words=config.whole_words,
                          seed=config.seed * 1_000_003 + pass_index)
        order = np.random.default_rng([config.seed, pass_index]).permutation(len(blocks))
        for batch_index in range(skip, per_pass):
            rows = order[batch_index * config.batch_size:(batch_index + 1) * config.batch_size]
            yield masked.input_ids[rows], masked.positions[rows], masked.labels[rows], masked.weights[rows]
        pass_index, skip = pass_index + 1, 0


class _Hooks(tf_keras.callbacks.Callback):
    """Progress after each step, stop on request, evaluate + checkpoint after each Keras epoch."""

    def __init__(self, run: "_Run"):
        super().__init__()
        self.run = run

    def on_train_batch_end(self, batch, logs=None):
        self.run.after_step(float(logs["loss"]))
        if self.run.should_stop() or int(self.run.step) >= self.run.config.total_steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.run.after_epoch(float(logs["loss"]))


@dataclass
class _Run:
    trainer: MaskedLMTrainer
    config: TrainingConfig
    eval_masked: MaskedBlocks | None
    step: tf.Variable
    manager: tf.train.CheckpointManager | None
    on_progress: Callable[[TrainingProgress], None]
    should_stop: Callable[[], bool]
    on_best: Callable[[MlmMetrics], None]
    tokens_per_step: int
    history: list = field(default_factory=list)
    best: MlmMetrics | None = None
    started: float = field(default_factory=time.perf_counter)
    steps_this_run: int = 0
    first_step_done: float | None = None

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

    def after_step(self, loss: float) -> None:
        self.step.assign_add(1)
        self.steps_this_run += 1
        if self.steps_this_run == 1:
            self.first_step_done = time.perf_counter()
        self.on_progress(TrainingProgress(int(self.step), self.config.total_steps, loss, self.speed(),
                                          seconds_per_step=self.seconds_per_step()))

    def after_epoch(self, train_loss: float) -> None:
        evaluation = evaluate(self.trainer.mlm, self.eval_masked) if self.eval_masked is not None else None
        record = {"step": int(self.step), "train_loss": train_loss, "seconds": time.perf_counter() - self.started}
        if evaluation is not None:
            record.update({f"eval_{key}": value for key, value in evaluation.as_dict().items()})
            if self.best is None or evaluation.loss < self.best.loss:
                self.best = evaluation
                self.on_best(evaluation)
        self.history.append(record)
        if self.manager is not None:
            self.manager.save(checkpoint_number=int(self.step))
        self.on_progress(TrainingProgress(int(self.step), self.config.total_steps, train_loss, self.speed(),
                                          evaluation, self.seconds_per_step()))


def train(model, tokenizer, train_blocks: TextBlocks, eval_blocks: TextBlocks | None = None, *,
          config: TrainingConfig = TrainingConfig(), checkpoint_dir: str | Path | None = None,
          on_progress: Callable[[TrainingProgress], None] = lambda progress: None,
          should_stop: Callable[[], bool] = lambda: False,
          on_best: Callable[[MlmMetrics], None] = lambda metrics: None) -> TrainingResult:
    """Train ``model`` in place on ``train_blocks``; evaluate on ``eval_blocks`` every ``config.eval_every`` steps.

    With ``checkpoint_dir``, weights, optimiser state and the step are saved after every evaluation and an
    interrupted run resumes from the latest checkpoint. ``on_best`` is called when held-out loss improves (save
    the model there); ``should_stop`` is polled after every step and keeps what was trained so far.
    """
    check_params("train", asdict(config), TRAINING_PARAMS)
    encoder_optimizer = tf_keras.optimizers.Adam(
        WarmupLinearDecay(config.learning_rate, config.warmup_steps, config.total_steps))
    head_optimizer = None
    if config.head_learning_rate is not None:
        head_optimizer = tf_keras.optimizers.Adam(
            WarmupLinearDecay(config.head_learning_rate, config.warmup_steps, config.total_steps))
    trainer = MaskedLMTrainer(model, encoder_optimizer=encoder_optimizer, head_optimizer=head_optimizer)
    trainer.compile(jit_compile=config.jit_compile)
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    manager = None
    if checkpoint_dir is not None:
        parts = {"model": model, "encoder_optimizer": encoder_optimizer, "step": step}
        if head_optimizer is not None:
            parts["head_optimizer"] = head_optimizer
        manager = tf.train.CheckpointManager(tf.train.Checkpoint(**parts), str(checkpoint_dir), max_to_keep=2)
        if manager.latest_checkpoint:
            # expect_partial: optimiser slots are created lazily at the first step, so a finished run never
            # restores them (and TF would warn about each one).
            manager.checkpoint.restore(manager.latest_checkpoint).expect_partial()
    eval_masked = None
    if eval_blocks is not None:
        eval_masked = mask_for(tokenizer, eval_blocks, probability=config.mask_probability,
                               whole_words=config.whole_words, seed=config.held_out_seed)
    run = _Run(trainer, config, eval_masked, step, manager, on_progress, should_stop, on_best,
               tokens_per_step=config.batch_size * train_blocks.block_length)
    first_step = int(step)
    remaining = config.total_steps - first_step
    if remaining > 0:
        slots = prediction_slots(train_blocks.block_length, config.mask_probability)
        shapes = ((config.batch_size, train_blocks.block_length), (config.batch_size, slots))
        dataset = tf.data.Dataset.from_generator(
            lambda: _batches(train_blocks, tokenizer, config, first_step),
            output_signature=(tf.TensorSpec(shapes[0], tf.int32), tf.TensorSpec(shapes[1], tf.int32),
                              tf.TensorSpec(shapes[1], tf.int32), tf.TensorSpec(shapes[1], tf.float32)),
        ).prefetch(2)
        steps_per_epoch = min(config.eval_every, remaining)
        epochs = math.ceil(remaining / steps_per_epoch)
        trainer.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0, callbacks=[_Hooks(run)])
    seconds = time.perf_counter() - run.started
    return TrainingResult(int(step), seconds, run.speed(), run.history, run.best,
                          stopped_early=int(step) < config.total_steps)
