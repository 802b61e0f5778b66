"""Benchmark row ``probe/demo-task``: the largest shipped probing task on the demo model, end to end, against the
plain way — one eager model call per sentence with ``output_hidden_states=True``, then the same probes.

``eager_word_vectors`` is that plain way, written independently of ``tasks.probe_features``: the word's characters
found with ``str.find``, its pieces with the tokenizer's own ``char_to_word`` / ``word_to_tokens``, the hidden states
from the model's own call. The tests use it as the reference for the probe's features.
"""

from __future__ import annotations

import re
import time

import numpy as np

from .bench import BenchContext, BenchResult

EAGER_SAMPLE = 20  # sentences the eager loop reads; its time is extrapolated to the task
EAGER = "eager loop: one model call per sentence (output_hidden_states=True), same probes"


def eager_word_vectors(mlm, rows) -> np.ndarray:
    """float32[N, L+1, D]: per row, the model's own hidden states averaged over its word's pieces."""
    import tensorflow as tf

    vectors = []
    for row in rows:
        matches = [m.start() for m in re.finditer(r"(?<!\w)" + re.escape(row.word.lower()) + r"(?!\w)",
                                                  row.sentence.lower())]
        start = matches[row.occurrence - 1]
        encoding = mlm.tokenizer(row.sentence)
        word = encoding.char_to_word(start)
        span = encoding.word_to_tokens(word)
        ids = tf.constant([encoding["input_ids"]])
        output = mlm.model(input_ids=ids, attention_mask=tf.ones_like(ids), output_hidden_states=True,
                           training=False)
        states = np.stack([layer[0].numpy() for layer in output.hidden_states])  # [L+1, T, D]
        vectors.append(states[:, span.start:span.end].mean(axis=1))
    return np.asarray(vectors, dtype=np.float32)


def largest_task():
    """(task, rows) of the shipped task with the most rows."""
    from ..tasks.probe_files import list_probe_tasks, load_probe_task

    loaded = [load_probe_task(task.key) for task in list_probe_tasks()]
    return max(loaded, key=lambda item: len(item[1]))


def probe_rows(ctx: BenchContext) -> list[BenchResult]:
    from ..catalog import DEMO_MODEL_DIR
    from ..loading import load_model
    from ..tasks.probe import control_labels, fold_accuracy, probe
    from ..tasks.probe_features import word_vectors

    if not (ctx.wants("probe/demo-task") and DEMO_MODEL_DIR.is_dir()):
        return []
    demo = load_model("demo")
    task, rows = largest_task()
    ctx.progress(f"probe/demo-task: ours on {task.key} ({len(rows)} rows; one untimed run traces the programs)...")
    probe(demo, rows, task=task.key)
    ours = []
    for _ in range(max(1, ctx.repeats // 10)):
        started = time.perf_counter()
        probe(demo, rows, task=task.key)
        ours.append((time.perf_counter() - started) * 1000)
    ctx.progress(f"probe/demo-task: eager loop on {EAGER_SAMPLE} sentences, extrapolated, then the same probes...")
    eager_word_vectors(demo, rows[:1])  # eager warm-up
    started = time.perf_counter()
    eager_word_vectors(demo, rows[:EAGER_SAMPLE])
    reading_ms = (time.perf_counter() - started) * 1000 * len(rows) / EAGER_SAMPLE
    vectors = word_vectors(demo, rows)  # the probes' share is timed on the same features
    labels, control = np.array([row.label for row in rows]), control_labels(rows, seed=0)
    started = time.perf_counter()
    for layer in range(vectors.shape[1]):
        fold_accuracy(vectors[:, layer], labels, folds=5, seed=0)
        fold_accuracy(vectors[:, layer], control, folds=5, seed=0)
    theirs = reading_ms + (time.perf_counter() - started) * 1000
    return [BenchResult("probe/demo-task", float(np.median(ours)), float(np.percentile(ours, 95)),
                        f"{EAGER} ({task.key}, {len(rows)} rows; the model calls timed on {EAGER_SAMPLE} sentences, "
                        f"× {len(rows) / EAGER_SAMPLE:.1f})", theirs, theirs / float(np.median(ours)))]
