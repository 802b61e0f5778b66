"""Benchmark row for Trace against the eager reference the tests trust (``tests/references.py``).

trace/base-20tok: the whole layer × position grid of a 20-token pair on the BERT-base shape (13 × 20 patches,
batched per resume layer through compiled programs) against an eager loop of one full model call per patch.
"""

from __future__ import annotations

import numpy as np

from tests.references import eager_patched_log_probs, eager_states

from .rows import BenchContext, BenchResult, text_of_length, time_calls


def bench_pair(n_tokens: int) -> tuple[str, str]:
    """Two texts of ``n_tokens`` tokens that differ in their second word."""
    clean = text_of_length(n_tokens)
    words = clean.split(" ")
    return clean, " ".join([words[0], "dog" if words[1] != "dog" else "cat"] + words[2:])


def trace_rows(ctx: BenchContext) -> list[BenchResult]:
    from mlm_core.analysis import analyze
    from mlm_core.tasks.trace import trace

    if not ctx.wants("trace/base-20tok"):
        return []
    mlm, _ = ctx.base
    clean, corrupt = bench_pair(20)
    ctx.progress("trace/base-20tok: ours (13 × 20 patches, one compiled call per layer)...")
    ours = time_calls(lambda: trace(mlm, clean, corrupt, contrast=None), max(3, ctx.repeats // 4), warmup=1)
    corrupt_ids = analyze(mlm, corrupt).encoding.input_ids
    mask = analyze(mlm, corrupt).mask_positions[0]

    def eager_grid():
        states = eager_states(mlm.model, analyze(mlm, clean).encoding.input_ids)
        for layer in range(len(states)):
            for position in range(len(corrupt_ids)):
                eager_patched_log_probs(mlm.model, corrupt_ids, states, layer, [position], mask)

    n_patches = mlm.num_layers + 1
    ctx.progress(f"trace/base-20tok: eager reference, {n_patches * len(corrupt_ids)} separate calls...")
    theirs = time_calls(eager_grid, 1, warmup=0)
    return [
        BenchResult(
            "trace/base-20tok",
            float(np.median(ours)),
            float(np.percentile(ours, 95)),
            f"{n_patches * len(corrupt_ids)} eager calls of embeddings + patched layers + MLM head",
            float(np.median(theirs)),
            float(np.median(theirs) / np.median(ours)),
        )
    ]
