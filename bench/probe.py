"""Benchmark row ``probe/demo-task``: the largest shipped probing task on the demo model, end to end, against the
plain way — one eager model call per sentence with ``output_hidden_states=True``, then the same probes.

That plain way is ``eager_word_vectors`` of ``tests/references.py``, the tests' reference for the probe's features.
"""

from __future__ import annotations

import time

import numpy as np

from tests.references import eager_word_vectors

from .rows import BenchContext, BenchResult

EAGER_SAMPLE = 20  # sentences the eager loop reads; its time is extrapolated to the task
EAGER = "eager loop: one model call per sentence (output_hidden_states=True), same probes"


def largest_task():
    """(task, rows) of the shipped task with the most rows."""
    from mlm_core.tasks.probe_files import list_probe_tasks, load_probe_task

    loaded = [load_probe_task(task.key) for task in list_probe_tasks()]
    return max(loaded, key=lambda item: len(item[1]))


def probe_rows(ctx: BenchContext) -> list[BenchResult]:
    from mlm_core.catalog import DEMO_MODEL_DIR
    from mlm_core.loading import load_model
    from mlm_core.tasks.probe import control_labels, fold_accuracy, probe
    from mlm_core.tasks.probe_features import word_vectors

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
    return [
        BenchResult(
            "probe/demo-task",
            float(np.median(ours)),
            float(np.percentile(ours, 95)),
            f"{EAGER} ({task.key}, {len(rows)} rows; the model calls timed on {EAGER_SAMPLE} sentences, "
            f"× {len(rows) / EAGER_SAMPLE:.1f})",
            theirs,
            theirs / float(np.median(ours)),
        )
    ]
