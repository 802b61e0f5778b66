"""The one place that calls a model: compiled, padded to a few length buckets so traces are reused.

Every task (predict, attention, embeddings, explain, score) goes through ``CompiledForward``. A call of a few rows
(up to 8: a prediction, an analysis) is padded to the next length bucket, the batch to the next batch bucket and
the gathered positions to the next slot bucket, so a handful of XLA programs serve any text. Padding keys are
masked out; padding changes the log-probabilities at real positions by ~1e-6 (tested).

A call of many rows (explanations, faithfulness, masked copies) runs in chunks of 64 rows at their exact length
through one program per kind that accepts any shape (a TF graph without XLA): at that batch size XLA gains
nothing on CPU, while padding a 17-token text to 24 costs 40 % more work (measured on the BERT-base shape).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from .architecture import (apply_head, dense_attentions, fast_last_layer, head_masked_logits, masked_logits,
                           refusal, run_layers)
from .shapes import (BATCH_BUCKETS, BULK_ROWS, HEAD_ROW_BUCKETS, LENGTH_BUCKETS, SLOT_BUCKETS,  # noqa: F401
                     batch_chunks, bucket as _bucket, call_chunks)
from .turns import FairTurn

IDLE_BEFORE_COMPILING = 1.0  # seconds without a model call before a background compilation starts
class _RetracingNoteFilter(logging.Filter):
    """Each padded shape gets its own tf.function on purpose (one trace each), which TF's retracing heuristic
    reports as excessive retracing; the note is wrong here and would alarm users, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_RetracingNoteFilter())


def xla_enabled() -> bool:
    """XLA roughly halves CPU latency; ``MLM_EXPLORER_XLA=0`` turns it off (e.g. to debug)."""
    return os.environ.get("MLM_EXPLORER_XLA", "1") != "0"


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
    """Callable wrapper around a TF masked-LM that pads, runs a compiled graph and trims.

    Thread-safe: calls are serialised per model, which on a small CPU machine is also the fastest schedule.
    """

    def __init__(self, model: tf.keras.Model, *, pad_id: int, max_length: int, jit_compile: bool | None = None):
        self._model = model
        self.pad_id = int(pad_id)
        self._max_length = int(max_length)
        self._jit = xla_enabled() if jit_compile is None else jit_compile
        self._lock = FairTurn()  # calls take turns in arrival order: quick calls get in between a long job's chunks
        # One tf.function per (kind of output, padded shape), so each compiles exactly once.
        self._graphs: dict[tuple, tf.types.experimental.GenericFunction] = {}
        # A dashboard answers the first request of each shape at once: the same step runs eagerly (same maths,
        # slower per call) and a background thread compiles the program that later calls use. Off by default,
        # so the CLI, tests and benchmarks always use compiled programs.
        self.compile_in_background = False
        self._compiling: set[tuple] = set()
        self._compile_turn = threading.Lock()  # one background compilation at a time
        self._last_call = time.monotonic()

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
                logits, out = masked_logits(model, input_ids, attention_mask, positions, training=False,
                                            output_attentions=asked, output_hidden_states=asked)
            log_probs = tf.nn.log_softmax(logits, axis=-1)
            if kind == "targets":  # only the asked-for token's log-prob leaves the graph: [N, P], not [N, P, V]
                return (tf.gather(log_probs, targets, batch_dims=2),)
            if not internals:
                return (log_probs,)
            if internals_refused:  # no layers to show: empty stacks, each view refuses with the family's reason
                rows, length = tf.shape(input_ids)[0], tf.shape(input_ids)[1]
                return (log_probs, tf.zeros([rows, 0, 1, length, length]),
                        tf.zeros([rows, 0, length, out.last_hidden_state.shape[-1]]))
            length = tf.shape(input_ids)[1]
            return (log_probs, dense_attentions(model, out.attentions, length),
                    tf.stack(out.hidden_states, axis=1))

        return step

    def _run(self, kind: str, rows: Sequence[Sequence[int]], positions: Sequence[Sequence[int]],
             targets: Sequence[Sequence[int]] | None = None, head_masks: np.ndarray | None = None, *,
             bulk: bool = False) -> list[np.ndarray]:
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
            ids[index, :len(row)] = row
            mask[index, :len(row)] = 1
        mask[n_rows:, :1] = 1  # padding rows attend to one token so their softmax stays finite
        gather = np.zeros((padded_rows, padded_slots), dtype=np.int32)
        chosen = np.zeros((padded_rows, padded_slots), dtype=np.int32)
        if n_slots:
            gather[:n_rows, :n_slots] = np.asarray(positions, dtype=np.int32)
            if targets is not None:
                chosen[:n_rows, :n_slots] = np.asarray(targets, dtype=np.int32)

        key = ("bulk", kind) if bulk else (kind, ids.shape, gather.shape)
        inputs = (tf.constant(ids), tf.constant(mask), tf.constant(gather), tf.constant(chosen))
        if head_masks is not None:
            padded_masks = np.ones((padded_rows, *np.shape(head_masks)[1:]), dtype=np.float32)
            padded_masks[:n_rows] = head_masks
            inputs += (tf.constant(padded_masks),)
        outputs = self.run_program(key, lambda: self._make_step(kind), inputs, any_shape=bulk)
        return [output.numpy()[:n_rows] for output in outputs]

    def run_program(self, key: tuple, make_step, inputs: tuple, *, any_shape: bool = False):
        """Run this model's compiled program for ``key`` (made from ``make_step()`` on first use), or in the
        dashboard's background mode run the step eagerly and compile the program in the background. An
        ``any_shape`` program is one TF graph for inputs of every shape (no XLA), traced once. Every task's
        programs go through here (keys name the task), so they share the lock and the background compiler."""
        with self._lock:
            try:
                program = self._graphs.get(key)
                if program is None and not self.compile_in_background:
                    program = self._graphs[key] = self._compile(make_step(), inputs, any_shape)
                if program is None:
                    self._start_compiling(key, make_step, inputs, any_shape)
                    return make_step()(*inputs)
                return program(*inputs)
            finally:
                self._last_call = time.monotonic()

    def _compile(self, step, inputs: tuple, any_shape: bool):
        if not any_shape:
            return tf.function(step, jit_compile=self._jit)
        signature = [tf.TensorSpec([None] * len(tensor.shape), tensor.dtype) for tensor in inputs]
        return tf.function(step, jit_compile=False, input_signature=signature)

    def _start_compiling(self, key: tuple, make_step, inputs: tuple, any_shape: bool) -> None:
        """Compile the program for ``key`` in a background thread (once); later calls of that shape use it. The
        thread waits until the model has been idle for ``IDLE_BEFORE_COMPILING`` seconds: on two cores, compiling
        while the page's other first calls run eagerly made a first explanation 2–3 s slower."""
        if key in self._compiling:
            return
        self._compiling.add(key)

        def compile_program() -> None:
            try:
                with self._compile_turn:
                    while time.monotonic() - self._last_call < IDLE_BEFORE_COMPILING or self._lock.locked():
                        time.sleep(0.05)
                    program = self._compile(make_step(), inputs, any_shape)
                    program(*inputs)  # traces and compiles for this shape
                    with self._lock:
                        self._graphs[key] = program
            finally:
                self._compiling.discard(key)

        threading.Thread(target=compile_program, name="mlm-explorer-compile", daemon=True).start()

    def wait_until_compiled(self, timeout: float = 120.0) -> bool:
        """True once no background compilation is running (False after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while self._compiling and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._compiling

    def __call__(
        self, rows: Sequence[Sequence[int]], positions: Sequence[Sequence[int]], *, internals: bool = False,
        head_masks: np.ndarray | None = None, on_rows: Callable[[int], None] | None = None,
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
            parts.append(self._run(kind, rows[start:stop], positions[start:stop], None,
                                   _rows_of(head_masks, start, stop), bulk=n_rows > BULK_ROWS))
            if on_rows is not None:
                on_rows(stop)
        outputs = [np.concatenate(arrays) for arrays in zip(*parts)]
        log_probs = outputs[0][:, :n_slots]
        if not internals:
            return ForwardResult(log_probs, None, None)
        return ForwardResult(log_probs, outputs[1][:, :, :, :length, :length], outputs[2][:, :, :length])

    def resumed_target_log_probs(self, hidden: np.ndarray, first: int, position: int, target: int,
                                 head_masks: np.ndarray) -> np.ndarray:
        """log P(``target`` at ``position``) of one text, once per head mask float[N, L, H] → float32[N], running
        only layers ``first``…L from ``hidden`` float[T, D] (the input of layer ``first``, e.g. from the text's
        ``Analysis``): switching off heads of layer ``first`` onwards cannot change the layers before it."""
        length, width = hidden.shape
        padded = np.zeros((_bucket(length, LENGTH_BUCKETS, cap=self._max_length), width), dtype=np.float32)
        padded[:length] = hidden
        mask = (np.arange(len(padded)) < length).astype(np.int32)
        result = np.empty(len(head_masks), dtype=np.float32)
        for start, stop in batch_chunks(len(head_masks)):
            rows = np.ones((_bucket(stop - start, BATCH_BUCKETS), *head_masks.shape[1:]), dtype=np.float32)
            rows[:stop - start] = head_masks[start:stop]
            inputs = (tf.constant(padded), tf.constant(mask), tf.constant(position), tf.constant(target),
                      tf.constant(rows))
            (values,) = self.run_program(("resumed", first, padded.shape, rows.shape),
                                      lambda: self._make_resumed_step(first), inputs)
            result[start:stop] = values.numpy()[:stop - start]
        return result

    def _make_resumed_step(self, first: int):
        model = self._model

        def step(hidden, attention_mask, position, target, head_mask):
            rows = tf.shape(head_mask)[0]
            states = run_layers(model, tf.tile(hidden[tf.newaxis], [rows, 1, 1]),
                                tf.tile(attention_mask[tf.newaxis], [rows, 1]), head_mask, first=first,
                                positions=tf.fill([rows, 1], position))
            return (tf.nn.log_softmax(apply_head(model, states[:, 0]), axis=-1)[:, target],)

        return step

    def head_log_probs(self, states: np.ndarray) -> np.ndarray:
        """The model's masked-LM head (then log-softmax) on R hidden states float[R, D] → float32[R, V]; rows are
        padded to a bucket so the compiled program is reused (the layer-by-layer "lens")."""
        n_rows = len(states)
        padded = np.zeros((_bucket(n_rows, HEAD_ROW_BUCKETS), states.shape[-1]), dtype=np.float32)
        padded[:n_rows] = states
        model = self._model

        def make_step():
            return lambda hidden: tf.nn.log_softmax(apply_head(model, hidden), axis=-1)

        return self.run_program(("head", padded.shape), make_step, (tf.constant(padded),)).numpy()[:n_rows]

    def target_log_probs(self, rows: Sequence[Sequence[int]], positions: Sequence[int],
                         targets: Sequence[int]) -> np.ndarray:
        """log P(``targets[n]`` at ``positions[n]`` | ``rows[n]``) for N rows of any lengths: float32[N].

        Rows are sorted by length and run in chunks (``call_chunks``), each padded to its longest row, so thousands
        of masked copies of many sentences cost one compiled program; only N numbers come back, never N × V.
        """
        result = np.empty(len(rows), dtype=np.float32)
        by_length = np.argsort([len(row) for row in rows], kind="stable")
        for start, stop in call_chunks(len(rows)):
            chosen = by_length[start:stop]
            (values,) = self._run("targets", [rows[n] for n in chosen], [[positions[n]] for n in chosen],
                                  [[targets[n]] for n in chosen], bulk=len(rows) > BULK_ROWS)
            result[chosen] = values[:, 0]
        return result


def _rows_of(head_masks: np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    return None if head_masks is None else np.asarray(head_masks[start:stop], dtype=np.float32)
