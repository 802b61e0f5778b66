"""Benchmark rows for explanations — ``explain/*``, ``ig/base-12w``, ``faithfulness/base-12w`` — each against the
naive way in the same run: SHAP's stock Text-masker explainer on an eager model, an eager gradient call per path
point, an eager model call per hidden variant.
"""

from __future__ import annotations

import time

import numpy as np

from .rows import BenchContext, BenchResult, time_calls

EXPLAIN_TEXT = "the old man sat on the [MASK] in the small garden with his dog ."  # 12 words and the mask
NAIVE_SAMPLE = 8  # eager calls timed for the extrapolated baselines


def naive_explainer(model, tokenizer, text: str, target_id: int):
    """The seeds' way, as a baseline: SHAP's Text masker and an eager model call on strings, scoring the target
    at the first mask of each string (the masker writes more masks, so the target is ambiguous)."""
    import shap
    import tensorflow as tf

    def f(strings):
        batch = tokenizer(list(strings), return_tensors="tf", padding=True)
        logits = model(**batch, training=False).logits.numpy()
        ids = batch["input_ids"].numpy()
        rows = np.arange(len(ids))
        first_mask = np.argmax(ids == tokenizer.mask_token_id, axis=1)
        return tf.nn.softmax(logits[rows, first_mask]).numpy()[:, target_id]

    return shap.Explainer(f, shap.maskers.Text(tokenizer), silent=True)([text])


def _row(name: str, ours: np.ndarray, baseline: str | None = None, theirs_ms: float | None = None) -> BenchResult:
    median = float(np.median(ours))
    return BenchResult(
        name, median, float(np.percentile(ours, 95)), baseline, theirs_ms, theirs_ms / median if theirs_ms else None
    )


def explain_rows(ctx: BenchContext) -> list[BenchResult]:
    """One SHAP explanation (top 3 words in one run) of a 12-word sentence: ours vs the naive eager explainer
    (top word only), on the BERT-base shape and on the demo model."""
    from mlm_core.catalog import DEMO_MODEL_DIR
    from mlm_core.loading import load_model
    from mlm_core.tasks.explain import explain
    from mlm_core.tasks.predict import predict

    results = []
    for name in ("explain/base-12w", "explain/demo-12w"):
        if not ctx.wants(name) or (name == "explain/demo-12w" and not DEMO_MODEL_DIR.is_dir()):
            continue
        mlm = ctx.base[0] if name == "explain/base-12w" else load_model("demo")
        target = predict(mlm, EXPLAIN_TEXT, top_k=1).masks[0].candidates[0]
        repeats = max(3, ctx.repeats // 5)
        ctx.progress(f"{name}: ours...")
        ours = time_calls(lambda mlm=mlm: explain(mlm, EXPLAIN_TEXT), repeats, warmup=1)
        ctx.progress(f"{name}: naive eager explainer...")
        theirs = time_calls(
            lambda mlm=mlm, target=target: naive_explainer(mlm.model, mlm.tokenizer, EXPLAIN_TEXT, target.token_id),
            repeats,
            warmup=1,
        )
        results.append(
            _row(name, ours, "shap.Explainer + Text masker, eager model on strings", float(np.median(theirs)))
        )
    return results


def eager_gradient_ms(mlm, text: str, points: int) -> float:
    """Milliseconds of the naive integrated gradients: one eager forward + backward call per path point, timed
    on ``NAIVE_SAMPLE`` points and scaled to ``points``."""
    import tensorflow as tf

    ids = tf.constant([mlm.tokenizer(text)["input_ids"]])
    position = int(np.flatnonzero(ids.numpy()[0] == mlm.tokenizer.mask_token_id)[0])
    x = tf.gather(mlm.model.get_input_embeddings().weight, ids)
    baseline = tf.gather(mlm.model.get_input_embeddings().weight, tf.fill(tf.shape(ids), mlm.tokenizer.unk_token_id))

    def point(alpha: float):
        embeds = baseline + alpha * (x - baseline)
        with tf.GradientTape() as tape:
            tape.watch(embeds)
            logits = mlm.model(input_ids=None, inputs_embeds=embeds, training=False).logits[0, position]
            probability = tf.nn.softmax(logits)[0]
        return tape.gradient(probability, embeds)

    point(1.0)  # eager warm-up
    started = time.perf_counter()
    for alpha in np.linspace(0, 1, NAIVE_SAMPLE):
        point(float(alpha))
    return (time.perf_counter() - started) * 1000 * points / NAIVE_SAMPLE


def eager_variants_ms(mlm, rows: np.ndarray, position: int, total: int) -> float:
    """Milliseconds of one eager model call per hidden variant, timed on ``NAIVE_SAMPLE`` rows, scaled to
    ``total``."""
    import tensorflow as tf

    mlm.model(input_ids=tf.constant(rows[:1]), training=False)  # eager warm-up
    started = time.perf_counter()
    for row in rows[:NAIVE_SAMPLE]:
        mlm.model(input_ids=tf.constant(row[None]), training=False).logits[0, position].numpy()
    return (time.perf_counter() - started) * 1000 * total / min(NAIVE_SAMPLE, len(rows))


def gradient_rows(ctx: BenchContext) -> list[BenchResult]:
    """Integrated gradients (32 points, top word) and the faithfulness of one SHAP explanation (10 steps, 20
    random orders) of the 12-word sentence on the BERT-base shape: with its random band (a text's first check),
    and again with the band remembered (a second method's check of the same text)."""
    from mlm_core.tasks.attribution import prepare
    from mlm_core.tasks.explain import explain
    from mlm_core.tasks.faithfulness import FRACTIONS, RANDOM_ORDERS, faithfulness, forget_bands
    from mlm_core.tasks.gradients import DEFAULT_STEPS, integrated_gradients

    results = []
    if ctx.wants("ig/base-12w"):
        mlm, _ = ctx.base
        top = _top_word(mlm)
        ctx.progress("ig/base-12w: ours...")
        ours = time_calls(
            lambda: integrated_gradients(mlm, EXPLAIN_TEXT, targets=[top], steps=DEFAULT_STEPS),
            max(3, ctx.repeats // 5),
            warmup=1,
        )
        ctx.progress("ig/base-12w: eager gradient per point...")
        results.append(
            _row(
                "ig/base-12w",
                ours,
                f"eager forward + backward per point ({NAIVE_SAMPLE} timed, × {DEFAULT_STEPS // NAIVE_SAMPLE})",
                eager_gradient_ms(mlm, EXPLAIN_TEXT, DEFAULT_STEPS),
            )
        )
    if ctx.wants("faithfulness/base-12w"):
        mlm, _ = ctx.base
        explained = explain(mlm, EXPLAIN_TEXT, targets=[_top_word(mlm)])
        seen: list[np.ndarray] = []
        faithfulness(mlm, [explained], record_inputs=seen.append)
        position = prepare(mlm, EXPLAIN_TEXT, 0, None, False, "probability").features.target_position
        repeats = max(3, ctx.repeats // 5)
        ctx.progress("faithfulness/base-12w: ours, random band included...")
        cold = time_calls(lambda: (forget_bands(mlm), faithfulness(mlm, [explained])), repeats, warmup=1)
        ctx.progress("faithfulness/base-12w-next: ours, random band remembered...")
        warm = time_calls(lambda: faithfulness(mlm, [explained]), repeats, warmup=1)
        ctx.progress("faithfulness/base-12w: eager call per variant...")
        all_variants = 2 * len(FRACTIONS) * (1 + RANDOM_ORDERS)  # every step of every order, nothing shared
        results.append(
            _row(
                "faithfulness/base-12w",
                cold,
                f"eager model call per hidden variant ({NAIVE_SAMPLE} timed, scaled)",
                eager_variants_ms(mlm, np.asarray(seen), position, all_variants),
            )
        )
        results.append(
            _row(
                "faithfulness/base-12w-next",
                warm,
                f"eager model call per hidden variant ({NAIVE_SAMPLE} timed, scaled)",
                eager_variants_ms(mlm, np.asarray(seen), position, 2 * len(FRACTIONS)),
            )
        )
    return results


def _top_word(mlm) -> int:
    from mlm_core.tasks.predict import predict

    return predict(mlm, EXPLAIN_TEXT, top_k=1).masks[0].candidates[0].token_id
