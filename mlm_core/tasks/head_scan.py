"""Head importance scan: for one mask and one word, the change in log P(word) when each head, and each whole layer,
is switched off alone (Michel, Levy & Neubig 2019). L×H + L variants of the same text, batched through the
compiled pass with one head mask per row; a variant that changes layer l onwards starts from the text's cached
hidden states at layer l, since the layers before it are untouched (``resumed_target_log_probs``: one compiled
program per resume layer and padded shape, run by the model's program cache).

Caveat shown with the result: one head at a time misses heads that back each other up — switching off two heads
that each look unimportant can matter a great deal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import tensorflow as tf

from ..analysis import analyze
from ..architecture import apply_head, run_layers
from ..model import MaskedLM
from ..programs import ProgramKey
from ..shapes import BATCH_BUCKETS, LENGTH_BUCKETS, batch_chunks, bucket
from .heads import check_ablatable
from .predict import mask_prediction
from .words import one_token_word

SCAN_CAVEAT = (
    "Each head is switched off on its own. Heads that back each other up look unimportant one at a "
    "time, so a small drop does not prove a head is not needed — switch several off together to check."
)


@dataclass(frozen=True)
class HeadScan:
    """log P(``target`` at mask ``mask_index``) with all heads (``baseline_log_prob``) and its change when one head
    (``head_deltas`` float[L, H], row = layer 1…L, column = head 1…H) or one whole layer (``layer_deltas``
    float[L]) is switched off. Negative = the word became less likely without it."""

    model_name: str
    text: str
    mask_index: int
    target: str
    target_id: int
    baseline_log_prob: float
    head_deltas: np.ndarray
    layer_deltas: np.ndarray

    def to_dict(self) -> dict:
        """The JSON shape of ``python -m mlm_core heads --json`` (mask 0-based as in explain; layers, heads 1-based)."""
        n_layers, n_heads = self.head_deltas.shape
        return {
            "model": self.model_name,
            "text": self.text,
            "mask": self.mask_index,
            "target": self.target,
            "baseline_log_prob": self.baseline_log_prob,
            "heads": [
                {"layer": layer + 1, "head": head + 1, "delta_log_prob": float(self.head_deltas[layer, head])}
                for layer in range(n_layers)
                for head in range(n_heads)
            ],
            "layers": [
                {"layer": layer + 1, "delta_log_prob": float(delta)} for layer, delta in enumerate(self.layer_deltas)
            ],
        }

    def ranked_frame(self) -> pd.DataFrame:
        """Every head, largest drop first: layer, head, change in log-prob, probability without the head."""
        rows = [
            {
                "layer": layer + 1,
                "head": head + 1,
                "delta_log_prob": float(delta),
                "probability_without": float(np.exp(self.baseline_log_prob + delta)),
            }
            for (layer, head), delta in np.ndenumerate(self.head_deltas)
        ]
        return pd.DataFrame(rows).sort_values("delta_log_prob", kind="stable").reset_index(drop=True)

    @property
    def reading(self) -> str:
        """The scan in a few plain sentences (Markdown), for the heatmap's reader."""
        n_layers, n_heads = self.head_deltas.shape
        return (
            f"Each cell: how much log P('{self.target}') changes when that one head is switched off (its "
            f"attention weights set to 0). Red = the word becomes less likely. Click heads to switch them off "
            f"below. With every head, P('{self.target}') = {np.exp(self.baseline_log_prob):.4f}; "
            f"{n_layers * (n_heads + 1)} variants of the sentence ran."
        )

    def layers_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"layer": np.arange(1, len(self.layer_deltas) + 1), "delta_log_prob": self.layer_deltas})


def scan_masks(num_layers: int, num_heads: int) -> np.ndarray:
    """float32[L·H + L, L, H]: first one row per single head switched off (layer-major), then one per layer."""
    singles = np.ones((num_layers * num_heads, num_layers, num_heads), dtype=np.float32)
    singles.reshape(num_layers * num_heads, num_layers * num_heads)[
        np.arange(num_layers * num_heads), np.arange(num_layers * num_heads)
    ] = 0.0
    layers = np.ones((num_layers, num_layers, num_heads), dtype=np.float32)
    layers[np.arange(num_layers), np.arange(num_layers)] = 0.0
    return np.concatenate([singles, layers])


def head_importance(mlm: MaskedLM, text: str, *, mask_index: int = 0, target: str | int | None = None) -> HeadScan:
    """Switch off each head, then each layer, alone; the change in log P(``target``) at mask ``mask_index``
    (0-based; ``target`` defaults to the model's top word there; a typed word or a token id is read as
    ``one_token_word`` reads it — a word of several pieces is refused)."""
    check_ablatable(mlm)
    analysis = analyze(mlm, text, require_mask=True)
    position = analysis.mask_position(mask_index)
    if target is None:
        top = mask_prediction(mlm, analysis, mask_index, top_k=1).candidates[0]
        target_id, name = top.token_id, top.token
    else:
        target_id, name = one_token_word(mlm, analysis.encoding, mask_index, target)
    masks = scan_masks(mlm.num_layers, mlm.num_heads)
    first_off = np.argmax((masks == 0).any(axis=2), axis=1)  # the first layer each variant changes
    changed = np.empty(len(masks), dtype=np.float32)
    for first, last in layer_groups(mlm.num_layers):
        members = np.flatnonzero((first_off >= first) & (first_off < last))
        # Layers before ``first`` are the same in every member: start from their output in the Analysis. The
        # group's own intact row runs in the same program, so each delta compares like with like.
        rows = np.concatenate([np.ones_like(masks[:1]), masks[members]])
        values = resumed_target_log_probs(mlm, analysis.hidden_states[first], int(first), position, target_id, rows)
        if first == 0:  # the group run from the embeddings: the model exactly as Predict runs it
            baseline = float(values[0])
        changed[members] = values[1:] - values[0]
    n_singles = mlm.num_layers * mlm.num_heads
    return HeadScan(
        mlm.name,
        text,
        mask_index,
        name,
        int(target_id),
        baseline,
        changed[:n_singles].reshape(mlm.num_layers, mlm.num_heads),
        changed[n_singles:],
    )


def resumed_target_log_probs(
    mlm: MaskedLM, hidden: np.ndarray, first: int, position: int, target: int, head_masks: np.ndarray
) -> np.ndarray:
    """log P(``target`` at ``position``) of one text, once per head mask float[N, L, H] → float32[N], running
    only layers ``first``…L from ``hidden`` float[T, D] (the input of layer ``first``, e.g. from the text's
    ``Analysis``): switching off heads of layer ``first`` onwards cannot change the layers before it."""
    length, width = hidden.shape
    padded = np.zeros((bucket(length, LENGTH_BUCKETS, cap=mlm.max_tokens), width), dtype=np.float32)
    padded[:length] = hidden
    mask = (np.arange(len(padded)) < length).astype(np.int32)
    result = np.empty(len(head_masks), dtype=np.float32)
    for start, stop in batch_chunks(len(head_masks)):
        rows = np.ones((bucket(stop - start, BATCH_BUCKETS), *head_masks.shape[1:]), dtype=np.float32)
        rows[: stop - start] = head_masks[start:stop]
        inputs = (tf.constant(padded), tf.constant(mask), tf.constant(position), tf.constant(target), tf.constant(rows))
        key = ProgramKey("resumed", (first, padded.shape, rows.shape))
        (values,) = mlm.forward.programs.run(key, lambda: _resumed_step(mlm.model, first), inputs)
        result[start:stop] = values.numpy()[: stop - start]
    return result


def _resumed_step(model, first: int):
    def step(hidden, attention_mask, position, target, head_mask):
        rows = tf.shape(head_mask)[0]
        states = run_layers(
            model,
            tf.tile(hidden[tf.newaxis], [rows, 1, 1]),
            tf.tile(attention_mask[tf.newaxis], [rows, 1]),
            head_mask,
            first=first,
            positions=tf.fill([rows, 1], position),
        )
        return (tf.nn.log_softmax(apply_head(model, states[:, 0]), axis=-1)[:, target],)

    return step


def layer_groups(num_layers: int, groups: int = 4) -> list[tuple[int, int]]:
    """(first, stop) 0-based layer ranges the scan runs separately: variants that switch off heads of later layers
    need only the later layers run again. Four groups balance the work saved (≈ 35 % on 12 layers) against one
    compiled program per group."""
    size = -(-num_layers // groups)
    return [(first, min(first + size, num_layers)) for first in range(0, num_layers, size)]
