"""The one place that calls a model: compiled, padded to a few length buckets so traces are reused.

Every task (predict, attention, embeddings, explain, score) goes through ``CompiledForward``. A call of a few rows
(up to 8: a prediction, an analysis) is padded to the next length bucket, the batch to the next batch bucket and
the gathered positions to the next slot bucket, so a handful of XLA programs serve any text. Padding keys are
masked out; padding changes the log-probabilities at real positions by ~1e-6 (tested).

A call of many rows (explanations, faithfulness, masked copies) runs in chunks of 64 rows at their exact length
through one program per kind that accepts any shape (a TF graph without XLA): at that batch size XLA gains
nothing on CPU, while padding a 17-token text to 24 costs 40 % more work (measured on the BERT-base shape).

Its programs, like every task's own (integrated gradients, the head scan, activation patching), are kept and
compiled by the model's ``programs.ProgramCache`` (``forward.programs``), which also serialises the calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .architecture import apply_head, dense_attentions, fast_last_layer, head_masked_logits, masked_logits, refusal
from .programs import ProgramCache, ProgramKey
from .shapes import BATCH_BUCKETS, BULK_ROWS, HEAD_ROW_BUCKETS, LENGTH_BUCKETS, SLOT_BUCKETS, call_chunks
from .shapes import bucket as _bucket


@dataclass(frozen=True)
class ForwardResult:
    """Outputs for N rows of true length T (padding removed).

    log_probs: float32[N, P, V] — log-softmax over the vocabulary at the P gathered positions of each row.
    attentions: float32[N, L, H, T, T] or None; hidden_states: float32[N, L+1, T, D] or None.
    """

    log_probs: np.ndarray
    attentions: np.ndarray | None
    hidden_states: np.ndarray | None


class CompiledForward:
    """Callable wrapper around a TF masked-LM that pads, runs a compiled program and trims.

    Thread-safe: calls are serialised per model (by ``programs``), which on a small CPU machine is also the fastest
    schedule.
    """

    def __init__(self, model: tf.keras.Model, *, pad_id: int, max_length: int, jit_compile: bool | None = None):
        self._model = model
        self.pad_id = int(pad_id)
        self._max_length = int(max_length)
        # Every program of this model, its own and its tasks': one per key, compiled once, one call at a time.
        self.programs = ProgramCache(jit_compile=jit_compile)

    def _make_step(self, kind: str):
        model = self._model
        internals = kind == "internals"
        # Only the gathered positions are read: families whose last layer can run there alone do so.
        layered = kind == "ablated" or (not internals and fast_last_layer(model))
        # Families whose layers change the sequence length (Funnel) have no per-token internals to return.
        internals_refused = internals and refusal(model, "embeddings") is not None

        def step(input_ids, attention_mask, positions, targets, head_mask=None):
            if layered:
                logits, out = head_masked_logits(model, input_ids, attention_mask, positions, head_mask), None
            else:
                asked = internals and not internals_refused
                logits, out = masked_logits(
                    model,
                    input_ids,
                    attention_mask,
                    positions,
                    training=False,
                    output_attentions=asked,
                    output_hidden_states=asked,
                )
            log_probs = tf.nn.log_softmax(logits, axis=-1)
            if kind == "targets":  # only the asked-for token's log-prob leaves the graph: [N, P], not [N, P, V]
                return (tf.gather(log_probs, targets, batch_dims=2),)
            if not internals:
                return (log_probs,)
            if internals_refused:  # no layers to show: empty stacks, each view refuses with the family's reason
                rows, length = tf.shape(input_ids)[0], tf.shape(input_ids)[1]
                return (
                    log_probs,
                    tf.zeros([rows, 0, 1, length, length]),
                    tf.zeros([rows, 0, length, out.last_hidden_state.shape[-1]]),
                )
            length = tf.shape(input_ids)[1]
            return (log_probs, dense_attentions(model, out.attentions, length), tf.stack(out.hidden_states, axis=1))

        return step

    def _padded_call(
        self,
        kind: str,
        rows: Sequence[Sequence[int]],
        positions: Sequence[Sequence[int]],
        targets: Sequence[Sequence[int]] | None = None,
        head_masks: np.ndarray | None = None,
        *,
        bulk: bool = False,
    ) -> list[np.ndarray]:
        """One compiled call: up to one batch bucket of rows (their lengths may differ) padded to the longest
        row's length bucket, or with ``bulk`` to the longest row's own length; outputs cut back to the real rows.
        ``head_masks`` float[N, L, H] (the "ablated" kinds) is an input of the compiled program, so every choice
        of heads reuses one trace."""
        n_rows, longest, n_slots = len(rows), max(len(row) for row in rows), len(positions[0])
        if bulk:
            padded_length, padded_rows, padded_slots = longest, n_rows, max(n_slots, 1)
        else:
            padded_length = _bucket(longest, LENGTH_BUCKETS, cap=self._max_length)
            padded_rows = _bucket(n_rows, BATCH_BUCKETS)
            padded_slots = _bucket(max(n_slots, 1), SLOT_BUCKETS + (padded_length,))

        ids = np.full((padded_rows, padded_length), self.pad_id, dtype=np.int32)
        mask = np.zeros((padded_rows, padded_length), dtype=np.int32)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
            mask[index, : len(row)] = 1
        mask[n_rows:, :1] = 1  # padding rows attend to one token so their softmax stays finite
        gather = np.zeros((padded_rows, padded_slots), dtype=np.int32)
        chosen = np.zeros((padded_rows, padded_slots), dtype=np.int32)
        if n_slots:
            gather[:n_rows, :n_slots] = np.asarray(positions, dtype=np.int32)
            if targets is not None:
                chosen[:n_rows, :n_slots] = np.asarray(targets, dtype=np.int32)

        key = ProgramKey(kind, any_shape=True) if bulk else ProgramKey(kind, (ids.shape, gather.shape))
        inputs = (tf.constant(ids), tf.constant(mask), tf.constant(gather), tf.constant(chosen))
        if head_masks is not None:
            padded_masks = np.ones((padded_rows, *np.shape(head_masks)[1:]), dtype=np.float32)
            padded_masks[:n_rows] = head_masks
            inputs += (tf.constant(padded_masks),)
        outputs = self.programs.run(key, lambda: self._make_step(kind), inputs)
        return [output.numpy()[:n_rows] for output in outputs]

    def __call__(
        self,
        rows: Sequence[Sequence[int]],
        positions: Sequence[Sequence[int]],
        *,
        internals: bool = False,
        head_masks: np.ndarray | None = None,
        on_rows: Callable[[int], None] | None = None,
    ) -> ForwardResult:
        """Run N token-id rows of equal length T; gather log-probs at ``positions[n]`` for each row n.

        ``head_masks`` float[N, L, H] switches heads off per row (0 removes a head's attention weights); it cannot
        be combined with ``internals``. ``on_rows`` is told how many rows are done after each call (a progress
        bar), so callers need not split a job themselves, which would change how its rows are run.
        """
        n_rows, length = len(rows), len(rows[0])
        n_slots = len(positions[0])
        if any(len(row) != length for row in rows) or any(len(p) != n_slots for p in positions):
            raise ValueError("rows must share one length and positions one count")
        if head_masks is not None and internals:
            raise ValueError("head masks are not available together with internals")
        kind = "ablated" if head_masks is not None else "internals" if internals else "log_probs"
        parts = []
        for start, stop in call_chunks(n_rows):
            parts.append(
                self._padded_call(
                    kind,
                    rows[start:stop],
                    positions[start:stop],
                    None,
                    _rows_of(head_masks, start, stop),
                    bulk=n_rows > BULK_ROWS,
                )
            )
            if on_rows is not None:
                on_rows(stop)
        outputs = [np.concatenate(arrays) for arrays in zip(*parts)]
        log_probs = outputs[0][:, :n_slots]
        if not internals:
            return ForwardResult(log_probs, None, None)
        return ForwardResult(log_probs, outputs[1][:, :, :, :length, :length], outputs[2][:, :, :length])

    def head_log_probs(self, states: np.ndarray) -> np.ndarray:
        """The model's masked-LM head (then log-softmax) on R hidden states float[R, D] → float32[R, V]; rows are
        padded to a bucket so the compiled program is reused (the layer-by-layer "lens")."""
        n_rows = len(states)
        padded = np.zeros((_bucket(n_rows, HEAD_ROW_BUCKETS), states.shape[-1]), dtype=np.float32)
        padded[:n_rows] = states
        model = self._model

        def make_step():
            return lambda hidden: (tf.nn.log_softmax(apply_head(model, hidden), axis=-1),)

        (values,) = self.programs.run(ProgramKey("head", padded.shape), make_step, (tf.constant(padded),))
        return values.numpy()[:n_rows]

    def target_log_probs(
        self, rows: Sequence[Sequence[int]], positions: Sequence[int], targets: Sequence[int]
    ) -> np.ndarray:
        """log P(``targets[n]`` at ``positions[n]`` | ``rows[n]``) for N rows of any lengths: float32[N].

        Rows are sorted by length and run in chunks (``call_chunks``), each padded to its longest row, so thousands
        of masked copies of many sentences cost one compiled program; only N numbers come back, never N × V.
        """
        result = np.empty(len(rows), dtype=np.float32)
        by_length = np.argsort([len(row) for row in rows], kind="stable")
        for start, stop in call_chunks(len(rows)):
            chosen = by_length[start:stop]
            (values,) = self._padded_call(
                "targets",
                [rows[n] for n in chosen],
                [[positions[n]] for n in chosen],
                [[targets[n]] for n in chosen],
                bulk=len(rows) > BULK_ROWS,
            )
            result[chosen] = values[:, 0]
        return result


def _rows_of(head_masks: np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    return None if head_masks is None else np.asarray(head_masks[start:stop], dtype=np.float32)
