"""Benchmark rows for the Layers page, and the eager reference they (and the tests) compare against.

heads/distilbert-scan: the same scan on a DistilBERT-base-shaped model (6 layers × 12 heads, its family adapter)
against one eager call of DistilBERT's own layers per variant.
heads/base-scan: the whole head importance scan (L×H single heads + L layers, batched with head masks through the
compiled pass) against one eager reference call per variant. layers/base: the logit lens at one mask on every
layer against Predict on the same text (the lens reads the same single pass, plus one head call).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .bench import BenchContext, BenchResult, text_of_length, time_calls

# transformers' attribute names, written out here rather than read from mlm_core.architecture
REFERENCE_PARTS = {"bert": ("bert", "mlm"), "roberta": ("roberta", "lm_head"), "camembert": ("roberta", "lm_head"),
                   "xlm-roberta": ("roberta", "lm_head")}


def eager_head_masked_log_probs(model, ids, positions, head_mask: np.ndarray) -> np.ndarray:
    """Reference for head ablation: the model's own embedding layer, its *encoder* (given per-layer head masks in
    the form transformers documents, [batch, heads, 1, 1] for each layer) and its MLM head, called eagerly on one
    unpadded row. log-probabilities float[P, V] at ``positions``."""
    encoder_name, head_name = REFERENCE_PARTS[model.config.model_type]
    main, head = getattr(model, encoder_name), getattr(model, head_name)
    input_ids = tf.constant([ids], dtype=tf.int32)
    embedded = main.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)
    out = main.encoder(hidden_states=embedded, attention_mask=tf.zeros((1, 1, 1, len(ids))),
                       head_mask=[tf.constant(layer_mask[None, :, None, None]) for layer_mask in head_mask],
                       encoder_hidden_states=None, encoder_attention_mask=None, past_key_values=None,
                       use_cache=False, output_attentions=False, output_hidden_states=False, return_dict=True,
                       training=False)
    logits = head(out.last_hidden_state, training=False)[0].numpy()
    return tf.nn.log_softmax(logits[list(positions)], axis=-1).numpy()


def eager_distilbert_log_probs(model, ids, positions, head_mask: np.ndarray) -> np.ndarray:
    """Reference for DistilBERT: its embeddings, each ``transformer.layer[i]`` given that layer's head mask
    [1, heads, 1, 1], then vocab_transform, activation, vocab_layer_norm and vocab_projector, eagerly, one row."""
    input_ids = tf.constant([ids], dtype=tf.int32)
    hidden = model.distilbert.embeddings(input_ids)
    for index, block in enumerate(model.distilbert.transformer.layer):
        hidden = block(hidden, tf.ones((1, len(ids))), tf.constant(head_mask[index][None, :, None, None]), False,
                       training=False)[-1]
    logits = model.vocab_projector(model.vocab_layer_norm(model.act(model.vocab_transform(hidden))))[0].numpy()
    return tf.nn.log_softmax(logits[list(positions)], axis=-1).numpy()


def _distilbert(ctx: BenchContext):
    """A DistilBERT-base-shaped model (768 wide, 6 layers, 12 heads, random weights) and its MaskedLM."""
    from pathlib import Path

    from ..analysis import set_memo_size
    from ..loading import load_model
    from .families import build_family

    ctx.progress("building a DistilBERT-base-shaped model with random weights...")
    folder = build_family(Path(ctx._folder.name) / "distilbert", "distilbert", size="base", layers=6)
    mlm = load_model(str(folder))
    set_memo_size(mlm, 0)
    return mlm


def scan_row(name: str, mlm, eager, text: str, repeats: int, progress) -> BenchResult:
    """The head importance scan, batched, against one eager reference call per variant."""
    from ..analysis import analyze
    from ..tasks.head_scan import head_importance, scan_masks

    masks = scan_masks(mlm.num_layers, mlm.num_heads)
    progress(f"{name}: ours ({len(masks)} variants, batched)...")
    ours = time_calls(lambda: head_importance(mlm, text), max(3, repeats // 4), warmup=1)
    analysis = analyze(mlm, text)
    ids, position = analysis.encoding.input_ids, [analysis.mask_positions[0]]

    def eager_scan():
        for mask in masks:
            eager(mlm.model, ids, position, mask)

    progress(f"{name}: eager reference, {len(masks)} separate calls...")
    theirs = time_calls(eager_scan, 1, warmup=0)
    return BenchResult(name, float(np.median(ours)), float(np.percentile(ours, 95)),
                       f"{len(masks)} eager calls of the family's own layers with head masks",
                       float(np.median(theirs)), float(np.median(theirs) / np.median(ours)))


def layers_rows(ctx: BenchContext) -> list[BenchResult]:
    from ..analysis import analyze
    from ..tasks.head_scan import head_importance, scan_masks
    from ..tasks.lens import layer_lens
    from ..tasks.predict import predict

    results = []
    text = text_of_length(20)
    if ctx.wants("heads/distilbert-scan"):
        results.append(scan_row("heads/distilbert-scan", _distilbert(ctx), eager_distilbert_log_probs, text,
                                ctx.repeats, ctx.progress))
    if ctx.wants("heads/base-scan"):
        mlm, _ = ctx.base
        ctx.progress("heads/base-scan: ours (144 heads + 12 layers, batched)...")
        ours = time_calls(lambda: head_importance(mlm, text), max(3, ctx.repeats // 4), warmup=1)
        analysis = analyze(mlm, text)
        ids, position = analysis.encoding.input_ids, [analysis.mask_positions[0]]
        masks = scan_masks(mlm.num_layers, mlm.num_heads)

        def eager_scan():
            for mask in masks:
                eager_head_masked_log_probs(mlm.model, ids, position, mask)

        ctx.progress(f"heads/base-scan: eager reference, {len(masks)} separate calls...")
        theirs = time_calls(eager_scan, 1, warmup=0)
        results.append(BenchResult("heads/base-scan", float(np.median(ours)), float(np.percentile(ours, 95)),
                                   f"{len(masks)} eager calls of embeddings + encoder(head_mask) + MLM head",
                                   float(np.median(theirs)), float(np.median(theirs) / np.median(ours))))
    if ctx.wants("layers/base"):
        mlm, _ = ctx.base
        ctx.progress("layers/base: logit lens on 13 layers vs predict...")
        ours = time_calls(lambda: layer_lens(mlm, text), ctx.repeats)
        theirs = time_calls(lambda: predict(mlm, text, top_k=5), ctx.repeats)
        results.append(BenchResult("layers/base", float(np.median(ours)), float(np.percentile(ours, 95)),
                                   "predict on the same text (the lens should cost at most 1.5× it)",
                                   float(np.median(theirs)), float(np.median(theirs) / np.median(ours))))
    return results
