"""One optimiser step on any ``tf.distribute`` strategy: the loss at masked positions, normalised globally.

Each replica computes the summed cross-entropy of its rows' masked tokens divided by the number of masked tokens
in the whole global batch (an all-reduce of the counts); the optimisers then sum the replicas' gradients (what
``tf_keras`` optimisers do in a replica context). So the update is the gradient of the one-process mean loss — the
same number on one device or on N workers, up to float rounding — whereas averaging per-replica means would
weigh a token by how many others share its replica. The logits come from ``forward.masked_logits``, the same
function inference uses, so the vocabulary projection runs only at the masked positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf
import tf_keras

from ..architecture import head_variables as unshared_head_variables
from ..forward import masked_logits
from .metrics import masked_lm_loss


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
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "floor": self.floor,
        }


@dataclass(frozen=True)
class Optimisers:
    """Adam for the encoder and, when the head has its own learning rate, a second Adam for the head's own weights
    (not the tied word embeddings, e.g. a head that starts from random initialisation)."""

    encoder: tf_keras.optimizers.Optimizer
    encoder_variables: list
    head: tf_keras.optimizers.Optimizer | None = None
    head_variables: tuple = ()

    def checkpoint_parts(self) -> dict:
        return {"encoder_optimizer": self.encoder, **({"head_optimizer": self.head} if self.head else {})}


def make_optimisers(
    model,
    strategy: tf.distribute.Strategy,
    *,
    learning_rate: float,
    warmup_steps: int,
    total_steps: int,
    head_learning_rate: float | None = None,
) -> Optimisers:
    """Optimisers created and built under ``strategy`` (their slots exist before a checkpoint is restored)."""
    encoder_variables, head_variables = list(model.trainable_variables), []
    if head_learning_rate is not None:
        head_variables = unshared_head_variables(model)
        head_refs = {v.ref() for v in head_variables}
        encoder_variables = [v for v in model.trainable_variables if v.ref() not in head_refs]
    with strategy.scope():
        encoder = tf_keras.optimizers.Adam(WarmupLinearDecay(learning_rate, warmup_steps, total_steps))
        encoder.build(encoder_variables)
        head = None
        if head_variables:
            head = tf_keras.optimizers.Adam(WarmupLinearDecay(head_learning_rate, warmup_steps, total_steps))
            head.build(head_variables)
    return Optimisers(encoder, encoder_variables, head, tuple(head_variables))


def make_train_step(model, optimisers: Optimisers, strategy: tf.distribute.Strategy, *, jit_compile: bool = False):
    """A ``tf.function`` taking one distributed batch (input_ids, positions, labels, weights) and returning the
    global batch's mean masked-LM loss. ``jit_compile`` (XLA) applies on a single replica only."""
    single = strategy.num_replicas_in_sync == 1
    variables = optimisers.encoder_variables + list(optimisers.head_variables)
    n_encoder = len(optimisers.encoder_variables)

    def replica_step(input_ids, positions, labels, weights):
        count = tf.reduce_sum(weights)
        if not single:
            count = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, count)
        with tf.GradientTape() as tape:
            logits, _ = masked_logits(model, input_ids, tf.ones_like(input_ids), positions, training=True)
            loss = masked_lm_loss(labels, logits, weights, reduction="sum") / tf.maximum(count, 1.0)
        gradients = tape.gradient(loss, variables)
        optimisers.encoder.apply_gradients(zip(gradients[:n_encoder], optimisers.encoder_variables))
        if optimisers.head is not None:
            optimisers.head.apply_gradients(zip(gradients[n_encoder:], optimisers.head_variables))
        return loss

    if single and jit_compile:
        replica_step = tf.function(replica_step, jit_compile=True)

    @tf.function
    def step(batch):
        losses = strategy.run(replica_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return step
