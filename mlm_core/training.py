"""Masked-LM training with Keras (tf_keras): text → blocks → masking → ``fit`` with the loss at masked positions.

Used to build the demo model and by the Fine-tune page. The pieces, each testable alone:

- ``make_blocks``: tokenise documents into fixed-length blocks ``[CLS] … [SEP]`` and remember where words start.
- ``mask_blocks``: BERT masking (15 % of words, 80/10/10), optionally whole words, with a seed. Every row
  gets the same number of prediction slots P (padding slots have weight 0), so shapes are static and one
  compiled step serves the whole run.
- ``MaskedLMTrainer``: a Keras model whose ``train_step`` computes logits only at the masked positions (the
  vocabulary projection is the costliest matrix) through the same ``masked_logits`` as inference, with its own
  learning rate for the masked-LM head.
- ``evaluate``: masked-LM loss, perplexity, top-1 and top-5 accuracy over masked positions only.
- ``train``: the loop — warm-up + linear decay, progress callback, stop flag, periodic held-out evaluation,
  checkpoints that resume exactly (the masking of each pass is a function of the seed and the pass number).
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import tensorflow as tf
import tf_keras

from .errors import InputError
from .forward import masked_logits, split_head
from .params import Interval, check_params


@dataclass(frozen=True)
class TextBlocks:
    """input_ids: int32[N, T], each row ``[CLS] … [SEP]``; word_starts: bool[N, T], True where a word begins
    (False on special tokens)."""

    input_ids: np.ndarray
    word_starts: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def block_length(self) -> int:
        return int(self.input_ids.shape[1])

    def rows(self, index) -> "TextBlocks":
        """The blocks at ``index`` (a slice or an array of row numbers): a split, a sample, a repetition."""
        return TextBlocks(self.input_ids[index], self.word_starts[index])

    @staticmethod
    def concatenate(parts: Sequence["TextBlocks"]) -> "TextBlocks":
        return TextBlocks(np.concatenate([part.input_ids for part in parts]),
                          np.concatenate([part.word_starts for part in parts]))


def make_blocks(tokenizer, documents: Sequence[str], *, block_length: int = 128) -> TextBlocks:
    """Concatenate the documents' tokens and cut them into blocks of ``block_length`` (specials included).

    The tail shorter than a block is dropped. Raises ``InputError`` when the text fills no block at all.
    """
    check_params("make_blocks", {"block_length": block_length}, {"block_length": Interval(int, 8, 512)})
    content = block_length - 2
    ids: list[int] = []
    starts: list[bool] = []
    for start in range(0, len(documents), 256):
        encodings = tokenizer(list(documents[start:start + 256]), add_special_tokens=False)
        for row, input_ids in enumerate(encodings["input_ids"]):
            word_ids = encodings.word_ids(row)
            previous = None
            for token_id, word_id in zip(input_ids, word_ids):
                ids.append(token_id)
                starts.append(word_id is None or word_id != previous)
                previous = word_id
    n_blocks = len(ids) // content
    if n_blocks == 0:
        raise InputError(
            f"The text has {len(ids)} tokens, fewer than one training block of {content} — add more text "
            f"or choose a shorter block length."
        )
    body = np.asarray(ids[: n_blocks * content], dtype=np.int32).reshape(n_blocks, content)
    body_starts = np.asarray(starts[: n_blocks * content], dtype=bool).reshape(n_blocks, content)
    input_ids = np.concatenate([np.full((n_blocks, 1), tokenizer.cls_token_id, np.int32), body,
                                np.full((n_blocks, 1), tokenizer.sep_token_id, np.int32)], axis=1)
    word_starts = np.pad(body_starts, ((0, 0), (1, 1)))
    word_starts[:, 1] = True  # a block never begins inside a word as far as masking is concerned
    return TextBlocks(input_ids, word_starts)


@dataclass(frozen=True)
class MaskedBlocks:
    """A masked copy of ``TextBlocks``.

    input_ids: int32[N, T] with the chosen tokens replaced (80 % mask token, 10 % random, 10 % kept);
    positions: int32[N, P] token positions to predict; labels: int32[N, P] original ids there;
    weights: float32[N, P], 1 for real slots, 0 for padding slots.
    """

    input_ids: np.ndarray
    positions: np.ndarray
    labels: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


def prediction_slots(block_length: int, probability: float) -> int:
    """Slots per row: room for 1.5× the expected number of masked tokens (whole words run over the mean)."""
    return max(2, int(math.ceil(block_length * probability * 1.5)))


def mask_blocks(blocks: TextBlocks, *, mask_id: int, vocab_size: int, special_ids: Sequence[int],
                probability: float = 0.15, whole_words: bool = True, seed: int = 0) -> MaskedBlocks:
    """BERT-style masking of every row; same seed → same masking. Each row predicts at least one token."""
    rng = np.random.default_rng(seed)
    n_rows, length = blocks.input_ids.shape
    slots = prediction_slots(length, probability)
    input_ids = blocks.input_ids.copy()
    positions = np.zeros((n_rows, slots), np.int32)
    labels = np.zeros((n_rows, slots), np.int32)
    weights = np.zeros((n_rows, slots), np.float32)
    special = np.isin(blocks.input_ids, np.asarray(list(special_ids)))
    replacement_ids = np.setdiff1d(np.arange(vocab_size), np.asarray(list(special_ids)))
    for row in range(n_rows):
        maskable = ~special[row]
        if whole_words:
            word_index = np.cumsum(blocks.word_starts[row]) - 1
            chosen_words = rng.random(word_index.max() + 1) < probability
            chosen = maskable & chosen_words[np.maximum(word_index, 0)]
        else:
            chosen = maskable & (rng.random(length) < probability)
        picked = np.flatnonzero(chosen)[:slots]
        if len(picked) == 0:
            picked = rng.choice(np.flatnonzero(maskable), size=1)
        n = len(picked)
        positions[row, :n] = picked
        labels[row, :n] = blocks.input_ids[row, picked]
        weights[row, :n] = 1.0
        roll = rng.random(n)
        input_ids[row, picked[roll < 0.8]] = mask_id
        randomised = picked[(roll >= 0.8) & (roll < 0.9)]
        input_ids[row, randomised] = rng.choice(replacement_ids, size=len(randomised))
    return MaskedBlocks(input_ids, positions, labels, weights)


def mask_for(tokenizer, blocks: TextBlocks, *, probability: float = 0.15, whole_words: bool = True,
             seed: int = 0) -> MaskedBlocks:
    """``mask_blocks`` with the tokenizer's mask id, vocabulary and special tokens."""
    return mask_blocks(blocks, mask_id=tokenizer.mask_token_id, vocab_size=len(tokenizer),
                       special_ids=tokenizer.all_special_ids, probability=probability, whole_words=whole_words,
                       seed=seed)


@dataclass(frozen=True)
class MlmMetrics:
    """Masked-LM quality over masked positions only: mean cross-entropy (nats), its exp, top-1/top-5 accuracy."""

    loss: float
    perplexity: float
    top1: float
    top5: float
    n_predictions: int

    def as_dict(self) -> dict:
        return asdict(self)


def _sums(logits, labels, weights):
    """Per-batch sums of loss, top-1 hits and top-5 hits, weighted by real slots."""
    losses = tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    top1 = tf.cast(tf.math.in_top_k(tf.reshape(labels, [-1]), tf.reshape(logits, [-1, tf.shape(logits)[-1]]), 1),
                   tf.float32)
    top5 = tf.cast(tf.math.in_top_k(tf.reshape(labels, [-1]), tf.reshape(logits, [-1, tf.shape(logits)[-1]]), 5),
                   tf.float32)
    flat_weights = tf.reshape(weights, [-1])
    return (tf.reduce_sum(losses * weights), tf.reduce_sum(top1 * flat_weights), tf.reduce_sum(top5 * flat_weights),
            tf.reduce_sum(weights))


_EVAL_STEPS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _eval_step(model):
    """One traced evaluation step per model, reused by every evaluation (training evaluates many times)."""
    if model not in _EVAL_STEPS:
        @tf.function(jit_compile=False)
        def step(input_ids, positions, labels, weights):
            logits, _ = masked_logits(model, input_ids, tf.ones_like(input_ids), positions, training=False)
            return _sums(logits, labels, weights)

        _EVAL_STEPS[model] = step
    return _EVAL_STEPS[model]


def evaluate(model, masked: MaskedBlocks, *, batch_size: int = 32) -> MlmMetrics:
    """Masked-LM metrics of ``model`` (a TF masked LM) on already-masked blocks (fix their seed to compare)."""
    step = _eval_step(model)
    totals = np.zeros(4)
    for start in range(0, len(masked), batch_size):
        batch = slice(start, start + batch_size)
        totals += np.asarray([float(v) for v in step(masked.input_ids[batch], masked.positions[batch],
                                                     masked.labels[batch], masked.weights[batch])])
    loss, top1, top5, count = (float(total) for total in totals)
    count = max(count, 1.0)
    return MlmMetrics(loss / count, math.exp(min(loss / count, 50.0)), top1 / count, top5 / count, int(count))


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
            losses = tf_keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            loss = tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
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


@dataclass
class TrainingResult:
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
