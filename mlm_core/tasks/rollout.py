"""Attention rollout: how much each input token flows into each position, through every layer.

Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers" (ACL): per layer Â = 0.5·mean_heads(A) + 0.5·I,
rows renormalised, multiplied through the layers from the first to the last. Read from the one cached
``Analysis`` — no extra model pass.
"""

from __future__ import annotations

import numpy as np

from ..analysis import Analysis


def rollout(attentions: np.ndarray) -> np.ndarray:
    """Rolled-out attention float[T, T] from attentions float[L, H, T, T]: row i says how much each input token
    flows into position i after all L layers; every row sums to 1."""
    attentions = np.asarray(attentions, dtype=np.float64)
    length = attentions.shape[-1]
    identity = np.eye(length)
    flow = identity
    for layer in attentions:
        with_residual = 0.5 * layer.mean(axis=0) + 0.5 * identity
        with_residual /= with_residual.sum(axis=-1, keepdims=True)
        flow = with_residual @ flow  # the later layer mixes what the earlier layers already mixed
    return flow


def mask_rollout(analysis: Analysis) -> np.ndarray:
    """Rollout rows of the masks: float[M, T], row m for the m-th mask, summing to 1 over the T tokens."""
    return rollout(analysis.attentions)[list(analysis.mask_positions)]
