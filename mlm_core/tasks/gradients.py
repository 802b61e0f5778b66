"""Integrated gradients and gradient × input for a masked prediction: a second opinion next to SHAP.

Integrated gradients (Sundararajan et al. 2017, "Axiomatic Attribution for Deep Networks"): attribution of input
dimension i = (x_i − b_i) · ∫₀¹ ∂f(b + α(x − b))/∂x_i dα, here over the *word embeddings* (position and token-type
embeddings are added by the model as usual). The baseline b is SHAP's "every word hidden": each word piece's
embedding replaced by the hiding token's (``WordFeatures.hidden_rows``), the target mask and special tokens kept, so
f(b) is exactly SHAP's base value. The integral uses the trapezoid rule on ``steps`` points from α = 0 to 1
(as Captum's ``n_steps``: 32 points fill four 8-row calls); per-token attributions are summed over each word's
pieces. Completeness says Σ attributions = f(x) − f(b); the gap left by the finite number of steps is reported.

Gradient × input is the one-pass variant: (x − b) · ∂f/∂x at x alone.

All points run through one compiled gradient program per padded shape (rows padded to the batch buckets, length
to the length buckets of ``shapes``), one backward pass per target, run by the model's program cache
(``mlm.forward.programs``) like every other program (in the dashboard a new shape's first call runs eagerly and
compiles in the background); the program returns per-token attributions, never the [N, T, D] gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from ..architecture import adapter_for, head_masked_logits, layered, masked_logits
from ..errors import UnsupportedModelError
from ..model import MaskedLM
from ..params import Interval, OneOf, check_params
from ..programs import ProgramKey
from ..shapes import BATCH_BUCKETS, LENGTH_BUCKETS, batch_chunks, bucket
from .attribution import OUTPUTS, ExplainRequest, Explanation, TargetExplanation, output_scale, prepare

METHODS = ("ig", "gradxinput")
GRADIENT_PARAMS = {
    "mask_index": Interval(int, 0, 511),
    "steps": Interval(int, 2, 512, widget=(8, 128)),
    "output": OneOf(OUTPUTS),
    "method": OneOf(METHODS),
}
DEFAULT_STEPS = 32


def _make_program(model, n_targets: int, output: str):
    by_layers = layered(model)  # the family's adapter: embeddings that may also read the ids (ESM's mask scaling)

    def step(start, delta, alphas, weights, attention_mask, position, target_ids, input_ids):
        """start, delta float[T, D]; alphas, weights float[N]; input_ids int[T] (the text's, for families whose
        embeddings read them besides the word vectors) → scores float[N, K], attributions float[K, T]."""
        n_rows = tf.shape(alphas)[0]
        embeds = start[tf.newaxis] + alphas[:, tf.newaxis, tf.newaxis] * delta[tf.newaxis]
        masks, positions = tf.tile(attention_mask[tf.newaxis], [n_rows, 1]), tf.fill([n_rows, 1], position)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(embeds)
            if by_layers:
                logits = head_masked_logits(
                    model, tf.tile(input_ids[tf.newaxis], [n_rows, 1]), masks, positions, inputs_embeds=embeds
                )
            else:
                logits, _ = masked_logits(model, None, masks, positions, training=False, inputs_embeds=embeds)
            log_probs = tf.nn.log_softmax(logits[:, 0], axis=-1)
            scores = output_scale(tf.gather(log_probs, target_ids, axis=1), output, math=tf.math)
            # ∂(Σ_n w_n f(e_n))/∂e_n = w_n ∇f(e_n): the quadrature weights ride along the backward pass
            totals = [tf.reduce_sum(scores[:, k] * weights) for k in range(n_targets)]
        attributions = [
            tf.reduce_sum(tape.gradient(total, embeds) * delta[tf.newaxis], axis=[0, 2]) for total in totals
        ]
        return scores, tf.stack(attributions)

    return step


def word_embeddings(mlm: MaskedLM):
    """The model's word-embedding matrix float[V, D], or an error saying to use SHAP for this model."""
    try:
        table = adapter_for(mlm.model).word_embeddings()
    except AttributeError:
        table = None
    if table is None:
        raise UnsupportedModelError(
            f"Model '{mlm.name}' does not expose its word embeddings, which integrated "
            "gradients and gradient × input follow — use SHAP for this model."
        )
    return table


def path_points(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, weights): the points on the straight path from baseline (α=0) to input (α=1) and their quadrature
    weights. IG: ``steps`` evenly spaced points, α = 0 and 1 included, trapezoid weights summing to 1.
    Gradient × input: α = 1 with weight 1, and α = 0 with weight 0 (only for f(baseline))."""
    if method == "gradxinput":
        return np.asarray([1.0, 0.0]), np.asarray([1.0, 0.0])
    alphas = np.linspace(0.0, 1.0, steps)
    weights = np.full(steps, 1.0 / (steps - 1))
    weights[[0, -1]] /= 2
    return alphas, weights


def token_attributions(
    mlm: MaskedLM, request: ExplainRequest, alphas: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(scores float[N, K] at each path point, attributions float[K, T] = Σ_n w_n ∇f(e_n)·(x − b) per token) for
    the K target tokens (the contrast column is left to the caller)."""
    features = request.features
    table = word_embeddings(mlm)
    baseline_ids = features.hidden_rows(np.zeros((1, len(features.groups)), dtype=bool))[0]
    x = tf.gather(table, features.input_ids).numpy()
    start = tf.gather(table, baseline_ids).numpy()
    length = len(features.input_ids)
    padded_length = bucket(length, LENGTH_BUCKETS, cap=mlm.max_tokens)
    padded_start = np.zeros((padded_length, x.shape[1]), np.float32)
    padded_delta = np.zeros_like(padded_start)
    padded_start[:length], padded_delta[:length] = start, x - start
    mask = np.zeros(padded_length, np.int32)
    mask[:length] = 1
    ids = np.full(padded_length, mlm.forward.pad_id, np.int32)
    ids[:length] = features.input_ids
    targets = np.asarray(request.target_ids, np.int32)
    scores, attributions = [], np.zeros((len(targets), padded_length))
    for begin, end in batch_chunks(len(alphas)):
        rows = bucket(end - begin, BATCH_BUCKETS)
        chunk_alphas = np.zeros(rows, np.float32)
        chunk_weights = np.zeros(rows, np.float32)  # padding rows: weight 0, so they add nothing
        chunk_alphas[: end - begin], chunk_weights[: end - begin] = alphas[begin:end], weights[begin:end]
        inputs = (
            tf.constant(padded_start),
            tf.constant(padded_delta),
            tf.constant(chunk_alphas),
            tf.constant(chunk_weights),
            tf.constant(mask),
            tf.constant(features.target_position, tf.int32),
            tf.constant(targets),
            tf.constant(ids),
        )
        key = ProgramKey("gradients", (rows, padded_length, len(targets), request.output))
        chunk_scores, chunk_attributions = mlm.forward.programs.run(
            key, lambda: _make_program(mlm.model, len(targets), request.output), inputs
        )
        scores.append(chunk_scores.numpy()[: end - begin])
        attributions += chunk_attributions.numpy()
    return np.concatenate(scores).astype(np.float64), attributions[:, :length]


def integrated_gradients(
    mlm: MaskedLM,
    text: str,
    *,
    mask_index: int = 0,
    targets: Sequence[str | int] | None = None,
    contrast: bool = False,
    output: str = "probability",
    method: str = "ig",
    steps: int = DEFAULT_STEPS,
    record_inputs: Callable[[np.ndarray], None] | None = None,
) -> Explanation:
    """Integrated gradients (``method='ig'``, trapezoid rule on ``steps`` points) or gradient × input
    (``'gradxinput'``) per word for each target's probability or log-odds at mask ``mask_index``.

    Same targets, words and baseline as ``explain``: base_value = f(every word hidden) = SHAP's base value. A
    contrast A − B is IG(A) − IG(B) (IG is linear in the output). ``record_inputs`` receives the input and
    baseline token rows (tests check the target mask is never hidden).
    """
    check_params(
        "integrated gradients",
        {"mask_index": mask_index, "steps": steps, "output": output, "method": method},
        GRADIENT_PARAMS,
    )
    request = prepare(mlm, text, mask_index, targets, contrast, output)
    features = request.features
    if record_inputs is not None:
        record_inputs(features.input_ids.copy())
        record_inputs(features.hidden_rows(np.zeros((1, len(features.groups)), dtype=bool))[0])
    alphas, weights = path_points(method, steps)
    scores, per_token = token_attributions(mlm, request, alphas, weights)
    full, base = scores[np.argmax(alphas)], scores[np.argmin(alphas)]
    values = np.stack(
        [[per_token[k, list(group)].sum() for group in features.groups] for k in range(len(request.target_ids))]
    )
    if contrast:
        values = np.concatenate([values, values[:1] - values[1:2]])
        full, base = (np.append(v, v[0] - v[1]) for v in (full, base))
    explained = tuple(
        TargetExplanation(
            name, float(base[k]), float(full[k]), values[k], float(abs(values[k].sum() - (full[k] - base[k])))
        )
        for k, name in enumerate(request.names)
    )
    return Explanation(
        mlm.name, text, mask_index, output, features.words, explained, len(alphas), method, request.target_ids
    )
