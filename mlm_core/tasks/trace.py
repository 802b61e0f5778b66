"""Trace: where in the network the difference between two sentences is decided (activation patching).

Interchange interventions (Vig et al. 2020; Geiger et al. 2021; "causal tracing", Meng et al. 2022): run a
corrupted text, copy one hidden state of a minimally different clean text into it, and see how far the prediction
at the mask moves toward the clean one. Metric m = log P(target) − log P(contrast) at the mask (log P(target) alone
without a contrast); effect = (m_patched − m_corrupt) / (m_clean − m_corrupt): 0 = the patch changes nothing,
1 = it restores the clean prediction.

preprocess (``trace_inputs``: both texts analysed once, checked, target and contrast chosen) → forward
(``layer_effects``: one compiled program per resume layer, rows = positions; ``head_effects``: one per layer, rows =
heads; the model internals live in ``trace_program``) → postprocess (``trace_result.Trace``: frames, JSON, a plain
reading).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis import Analysis, analyze
from ..errors import InputError
from ..model import MaskedLM
from .predict import display_token, special_ids, top_ids
from .trace_program import check_traceable, clean_contexts, head_patched_log_probs, patched_log_probs
from .trace_result import Trace
from .words import one_token_word

AUTO = "auto"  # contrast: the corrupted run's top word (none when it is the target)
MIN_DIFFERENCE = 1e-3  # |m_clean − m_corrupt| below this leaves nothing to explain (effects would be noise)
GRID_CAVEAT = (
    "Each cell copies one hidden state alone. When the information sits in several places at once "
    "(redundant paths), each copy restores only part of it, so a small effect does not prove a state "
    "is not used."
)
HEADS_CAVEAT = (
    "Each head's output is copied alone, at every position at once. Heads that back each other up "
    "each look small, and a head's effect says nothing about which positions it matters at."
)


@dataclass(frozen=True)
class TraceInputs:
    """Both texts analysed, the mask's token ``position``, and the metric's ids: ``target_id`` and
    ``contrast_id`` (None: the metric is log P(target) alone)."""

    clean: Analysis
    corrupt: Analysis
    position: int
    target_id: int
    target: str
    contrast_id: int | None
    contrast: str | None

    def metric(self, log_probs: np.ndarray) -> np.ndarray:
        """m from log-probabilities float[..., V] (or float[..., 2] of (target, contrast))."""
        if log_probs.shape[-1] == 2:
            return log_probs[..., 0] - (log_probs[..., 1] if self.contrast_id is not None else 0.0)
        return self.metric(log_probs[..., self.ids()])

    def ids(self) -> np.ndarray:
        return np.array([self.target_id, self.target_id if self.contrast_id is None else self.contrast_id])


def trace_inputs(
    mlm: MaskedLM, clean: str, corrupt: str, *, target: str | None = None, contrast: str | None = AUTO
) -> TraceInputs:
    """Analyse and check both texts (same token count, one mask each at the same place) and choose the metric:
    ``target`` defaults to the clean run's top word; ``contrast`` to the corrupted run's top word ("auto"), none
    when that is the target (then m = log P(target) alone, which still moves), or None for none."""
    check_traceable(mlm)
    runs = [analyze(mlm, text, require_mask=True) for text in (clean, corrupt)]
    for name, run in zip(("clean", "corrupted"), runs):
        if len(run.mask_positions) != 1:
            raise InputError(
                f"The {name} text has {len(run.mask_positions)} masks — Trace follows one prediction: "
                f"keep exactly one [MASK] in each text."
            )
    if len(runs[0].tokens) != len(runs[1].tokens):
        raise InputError(
            f"The texts must have the same number of tokens so states can be copied position by "
            f"position; clean has {len(runs[0].tokens)}: {' '.join(runs[0].tokens)} — corrupted has "
            f"{len(runs[1].tokens)}: {' '.join(runs[1].tokens)}. Change one word for one word."
        )
    position = runs[0].mask_positions[0]
    if runs[1].mask_positions[0] != position:
        raise InputError(
            f"The masks are at different places (token {position} in the clean text, token "
            f"{runs[1].mask_positions[0]} in the corrupted one) — put [MASK] at the same place in both."
        )
    target_id, target = _word(mlm, target, runs[0], "Target")
    if contrast == AUTO:
        contrast_id, contrast = _word(mlm, None, runs[1], "Contrast")
        if contrast_id == target_id:
            contrast_id, contrast = None, None
    elif contrast is not None:
        contrast_id, contrast = _word(mlm, contrast, runs[1], "Contrast")
        if contrast_id == target_id:
            raise InputError(
                f"Target and contrast are the same word ('{target}'), so log P(target) − log P(contrast)"
                " is always 0 — pick another contrast, or none."
            )
    else:
        contrast_id = None
    inputs = TraceInputs(runs[0], runs[1], position, target_id, target, contrast_id, contrast)
    values = [float(inputs.metric(run.mask_log_probs[0])) for run in runs]
    if abs(values[0] - values[1]) < MIN_DIFFERENCE:
        raise InputError(
            f"{_label(inputs)} is the same in both texts ({values[0]:.4f}), so there is no difference "
            "to trace — change a word that matters for the mask, or pick another target."
        )
    return inputs


def _label(inputs: TraceInputs) -> str:
    return f"log P({inputs.target})" + (f" − log P({inputs.contrast})" if inputs.contrast else "")


def _word(mlm: MaskedLM, word: str | None, run: Analysis, role: str) -> tuple[int, str]:
    if word is None:  # the run's top word at its mask, as Predict lists it
        token_id = int(top_ids(run.mask_log_probs[0], 1, special_ids(mlm))[0])
        return token_id, display_token(mlm, token_id)
    return one_token_word(mlm, run.encoding, 0, word, role=role)


def candidate_words(mlm: MaskedLM, text: str, k: int = 5) -> list[str]:
    """The ``k`` top words at the first mask of ``text`` (the target and contrast a page offers), no model call
    beyond the text's one memoised pass."""
    log_probs = analyze(mlm, text, require_mask=True).mask_log_probs[0]
    return [display_token(mlm, token_id) for token_id in top_ids(log_probs, k, special_ids(mlm))]


def layer_effects(mlm: MaskedLM, inputs: TraceInputs, on_layer=lambda done, total: None) -> np.ndarray:
    """float[L+1, T]: one compiled call per layer, one row per position whose clean and corrupted states differ
    (copying an identical state changes nothing: its effect is 0 without a run)."""
    clean, corrupt = inputs.clean.hidden_states, inputs.corrupt.hidden_states
    m_clean, m_corrupt = (float(inputs.metric(run.mask_log_probs[0])) for run in (inputs.clean, inputs.corrupt))
    effects = np.zeros(clean.shape[:2], dtype=np.float64)
    for layer in range(len(clean)):
        differ = np.flatnonzero((clean[layer] != corrupt[layer]).any(axis=1))
        if len(differ):
            patches = np.eye(clean.shape[1], dtype=bool)[differ]
            values = inputs.metric(
                patched_log_probs(mlm, layer, clean[layer], corrupt[layer], patches, inputs.position, inputs.ids())
            )
            effects[layer, differ] = (values - m_corrupt) / (m_clean - m_corrupt)
        on_layer(layer + 1, len(clean))
    return effects


def head_effects(mlm: MaskedLM, inputs: TraceInputs) -> np.ndarray:
    """float[L, H]: each head's output at every position copied from the clean run, one compiled call per layer."""
    contexts = clean_contexts(mlm, inputs.clean.hidden_states)
    m_clean, m_corrupt = (float(inputs.metric(run.mask_log_probs[0])) for run in (inputs.clean, inputs.corrupt))
    rows = np.eye(mlm.num_heads, dtype=np.float32)
    values = [
        inputs.metric(
            head_patched_log_probs(
                mlm, layer, inputs.corrupt.hidden_states[layer], contexts[layer], rows, inputs.position, inputs.ids()
            )
        )
        for layer in range(mlm.num_layers)
    ]
    return (np.stack(values) - m_corrupt) / (m_clean - m_corrupt)


def trace(
    mlm: MaskedLM,
    clean: str,
    corrupt: str,
    *,
    target: str | None = None,
    contrast: str | None = AUTO,
    heads: bool = False,
    on_layer=lambda done, total: None,
) -> Trace:
    """The layer × position grid of patching effects (and with ``heads`` the layer × head grid) for ``clean``
    against ``corrupt`` (same token count, one [MASK] at the same place); ``on_layer`` hears progress."""
    check_traceable(mlm, heads=heads)
    inputs = trace_inputs(mlm, clean, corrupt, target=target, contrast=contrast)
    grid = layer_effects(mlm, inputs, on_layer)
    values = [float(inputs.metric(run.mask_log_probs[0])) for run in (inputs.clean, inputs.corrupt)]
    return Trace(
        mlm.name,
        clean,
        corrupt,
        inputs.corrupt.tokens,
        inputs.position,
        inputs.target,
        inputs.contrast,
        values[0],
        values[1],
        grid,
        head_effects(mlm, inputs) if heads else None,
        inputs.clean.tokens,
    )
