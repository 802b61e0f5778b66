"""Masked-LM loss and quality over masked positions only: loss, perplexity, top-1 and top-5 accuracy."""

from __future__ import annotations

import math
import weakref
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

from ..forward import masked_logits
from .masking import MaskedBlocks


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


def masked_lm_loss(labels, logits, weights, *, reduction: str = "mean"):
    """Cross-entropy of the true token at each prediction slot, weighted by ``weights`` (0 on padding slots).

    labels int32[N, P], logits float32[N, P, V], weights float32[N, P]. ``"mean"`` over real slots is the
    training loss; ``"sum"`` adds up across batches (divide by the summed weights at the end). The one loss of
    every trainer, evaluation and timing here.
    """
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    total = tf.reduce_sum(losses * weights)
    if reduction == "sum":
        return total
    return total / tf.maximum(tf.reduce_sum(weights), 1.0)


def _sums(logits, labels, weights):
    """Per-batch sums of loss, top-1 hits and top-5 hits, weighted by real slots."""
    flat_labels = tf.reshape(labels, [-1])
    flat_logits = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
    top1 = tf.cast(tf.math.in_top_k(flat_labels, flat_logits, 1), tf.float32)
    top5 = tf.cast(tf.math.in_top_k(flat_labels, flat_logits, 5), tf.float32)
    flat_weights = tf.reshape(weights, [-1])
    return (
        masked_lm_loss(labels, logits, weights, reduction="sum"),
        tf.reduce_sum(top1 * flat_weights),
        tf.reduce_sum(top5 * flat_weights),
        tf.reduce_sum(weights),
    )


_EVAL_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
        totals += np.asarray(
            [
                float(v)
                for v in step(
                    masked.input_ids[batch], masked.positions[batch], masked.labels[batch], masked.weights[batch]
                )
            ]
        )
    loss, top1, top5, count = (float(total) for total in totals)
    count = max(count, 1.0)
    return MlmMetrics(loss / count, math.exp(min(loss / count, 50.0)), top1 / count, top5 / count, int(count))
