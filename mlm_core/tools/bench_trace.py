"""Benchmark row for Trace, and the eager reference it (and the tests) compare against.

trace/base-20tok: the whole layer × position grid of a 20-token pair on the BERT-base shape (13 × 20 patches,
batched per resume layer through compiled programs) against an eager loop of one full model call per patch.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .bench import BenchContext, BenchResult, text_of_length, time_calls
from .bench_layers import REFERENCE_PARTS


def model_parts(model):
    encoder_name, head_name = REFERENCE_PARTS[model.config.model_type]
    main = getattr(model, encoder_name)
    return main, list(main.encoder.layer), getattr(model, head_name)


def _layer(layer, hidden):
    return layer(hidden_states=hidden, attention_mask=tf.zeros((1, 1, 1, hidden.shape[1])), head_mask=None,
                 encoder_hidden_states=None, encoder_attention_mask=None, past_key_value=None,
                 output_attentions=False, training=False)[0]


def eager_states(model, ids) -> list[tf.Tensor]:
    """Every layer's input and the last output, float[1, T, D] each (L+1), from the model's own embedding layer
    and encoder layers called eagerly on one unpadded row."""
    main, layers, _ = model_parts(model)
    input_ids = tf.constant([ids], dtype=tf.int32)
    states = [main.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)]
    for layer in layers:
        states.append(_layer(layer, states[-1]))
    return states


def eager_patched_log_probs(model, corrupt_ids, clean_states, layer: int, positions, mask: int) -> np.ndarray:
    """Reference for one patch: one full eager call of the corrupted row (embeddings, every layer, MLM head) whose
    state after ``layer`` (0 = embeddings) at ``positions`` is replaced by ``clean_states[layer]`` there.
    log-probabilities float[V] at token ``mask``."""
    main, layers, head = model_parts(model)
    input_ids = tf.constant([corrupt_ids], dtype=tf.int32)
    hidden = main.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)
    chosen = np.zeros((1, len(corrupt_ids), 1), dtype=bool)
    chosen[0, list(positions)] = True
    for index in range(len(layers) + 1):
        if index == layer:
            hidden = tf.where(chosen, clean_states[layer], hidden)
        if index < len(layers):
            hidden = _layer(layers[index], hidden)
    return tf.nn.log_softmax(head(hidden, training=False)[0, mask], axis=-1).numpy()


def bench_pair(n_tokens: int) -> tuple[str, str]:
    """Two texts of ``n_tokens`` tokens that differ in their second word."""
    clean = text_of_length(n_tokens)
    words = clean.split(" ")
    return clean, " ".join([words[0], "dog" if words[1] != "dog" else "cat"] + words[2:])


def trace_rows(ctx: BenchContext) -> list[BenchResult]:
    from ..analysis import analyze
    from ..tasks.trace import trace

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
    return [BenchResult("trace/base-20tok", float(np.median(ours)), float(np.percentile(ours, 95)),
                        f"{n_patches * len(corrupt_ids)} eager calls of embeddings + patched layers + MLM head",
                        float(np.median(theirs)), float(np.median(theirs) / np.median(ours)))]
