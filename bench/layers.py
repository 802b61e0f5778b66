"""Benchmark rows for the Layers page, against the eager references the tests trust (``tests/references.py``).

heads/distilbert-scan: the same scan on a DistilBERT-base-shaped model (6 layers × 12 heads, its family adapter)
against one eager call of DistilBERT's own layers per variant.
heads/base-scan: the whole head importance scan (L×H single heads + L layers, batched with head masks through the
compiled pass) against one eager reference call per variant. layers/base: the logit lens at one mask on every
layer against Predict on the same text (the lens reads the same single pass, plus one head call).
"""

from __future__ import annotations

import numpy as np

from tests.references import eager_distilbert_log_probs, eager_head_masked_log_probs

from .rows import BenchContext, BenchResult, text_of_length, time_calls


def _distilbert(ctx: BenchContext):
    """A DistilBERT-base-shaped model (768 wide, 6 layers, 12 heads, random weights) and its MaskedLM."""
    from pathlib import Path

    from mlm_core.analysis import set_memo_size
    from mlm_core.loading import load_model
    from mlm_core.testing.families import build_family

    ctx.progress("building a DistilBERT-base-shaped model with random weights...")
    folder = build_family(Path(ctx._folder.name) / "distilbert", "distilbert", size="base", layers=6)
    mlm = load_model(str(folder))
    set_memo_size(mlm, 0)
    return mlm


def scan_row(name: str, mlm, eager, text: str, repeats: int, progress) -> BenchResult:
    """The head importance scan, batched, against one eager reference call per variant."""
    from mlm_core.analysis import analyze
    from mlm_core.tasks.head_scan import head_importance, scan_masks

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
    return BenchResult(
        name,
        float(np.median(ours)),
        float(np.percentile(ours, 95)),
        f"{len(masks)} eager calls of the family's own layers with head masks",
        float(np.median(theirs)),
        float(np.median(theirs) / np.median(ours)),
    )


def layers_rows(ctx: BenchContext) -> list[BenchResult]:
    from mlm_core.analysis import analyze
    from mlm_core.tasks.head_scan import head_importance, scan_masks
    from mlm_core.tasks.lens import layer_lens
    from mlm_core.tasks.predict import predict

    results = []
    text = text_of_length(20)
    if ctx.wants("heads/distilbert-scan"):
        results.append(
            scan_row(
                "heads/distilbert-scan", _distilbert(ctx), eager_distilbert_log_probs, text, ctx.repeats, ctx.progress
            )
        )
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
        results.append(
            BenchResult(
                "heads/base-scan",
                float(np.median(ours)),
                float(np.percentile(ours, 95)),
                f"{len(masks)} eager calls of embeddings + encoder(head_mask) + MLM head",
                float(np.median(theirs)),
                float(np.median(theirs) / np.median(ours)),
            )
        )
    if ctx.wants("layers/base"):
        mlm, _ = ctx.base
        ctx.progress("layers/base: logit lens on 13 layers vs predict...")
        ours = time_calls(lambda: layer_lens(mlm, text), ctx.repeats)
        theirs = time_calls(lambda: predict(mlm, text, top_k=5), ctx.repeats)
        results.append(
            BenchResult(
                "layers/base",
                float(np.median(ours)),
                float(np.percentile(ours, 95)),
                "predict on the same text (the lens should cost at most 1.5× it)",
                float(np.median(theirs)),
                float(np.median(theirs) / np.median(ours)),
            )
        )
    return results
