"""One prediction, several explanations: SHAP, integrated gradients and attention rollout side by side.

For one target word: each method's word scores and ranking, the Spearman rank correlation between every two
methods, and each method's faithfulness (comprehensiveness against random orders, ``faithfulness.py``), so a
reader can see where the methods agree and which one is the more faithful for this sentence. Rollout (Abnar &
Zuidema 2020) reads the cached pass's attentions: how much each word flows into the mask, the same for any target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..architecture import refusal
from ..model import MaskedLM
from .attribution import METHOD_LABELS, Explanation, TargetExplanation, prepare
from .explain import DEFAULT_MAX_EVALS, explain
from .faithfulness import Faithfulness, faithfulness
from .gradients import DEFAULT_STEPS, integrated_gradients
from .rollout import mask_rollout


@dataclass(frozen=True)
class SideBySide:
    """``explanations[m]`` and ``faithfulness[m]`` per method m (SHAP, IG, rollout) for one target;
    ``correlations`` float[M, M]: Spearman's ρ between the methods' word scores."""

    words: tuple[str, ...]
    explanations: tuple[Explanation, ...]
    faithfulness: tuple[Faithfulness, ...]
    correlations: np.ndarray

    @property
    def labels(self) -> list[str]:
        return [METHOD_LABELS[e.method] for e in self.explanations]

    def frame(self) -> pd.DataFrame:
        """One row per word: each method's score and rank (1 = the word it credits most)."""
        columns = {"word": list(self.words)}
        for label, explanation in zip(self.labels, self.explanations):
            values = explanation.targets[0].values
            columns[label] = values
            columns[f"{label} rank"] = rank_of(values)
        return pd.DataFrame(columns)

    def correlations_frame(self) -> pd.DataFrame:
        """Spearman's ρ between every two methods, rounded to 2 decimals; rows and columns named by method."""
        return pd.DataFrame(self.correlations, index=self.labels, columns=self.labels).round(2)

    def verdict(self) -> str:
        """Which explanation is the more faithful here, in words."""
        scores = [f.comprehensiveness for f in self.faithfulness]
        best = int(np.argmax(scores))
        random = self.faithfulness[best].random_comprehensiveness.mean()
        others = ", ".join(
            f"{label} {score:.3g}" for k, (label, score) in enumerate(zip(self.labels, scores)) if k != best
        )
        if scores[best] <= random:
            return (
                f"No method beats hiding random words for this sentence (best: {self.labels[best]}, "
                f"comprehensiveness {scores[best]:.3g}; random orders {random:.3g}) — trust none of them much."
            )
        return (
            f"{self.labels[best]} is the most faithful explanation here: hiding the words it ranks highest "
            f"lowers the output the most (comprehensiveness {scores[best]:.3g}; {others}; random orders "
            f"{random:.3g})."
        )


def rank_of(values: np.ndarray) -> np.ndarray:
    """Rank of each value, 1 = the highest; ties share their average rank (as Spearman's ρ needs)."""
    values = -np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's r of the (average-tie) ranks; 0 when either is constant."""
    ra, rb = rank_of(a) - (len(a) + 1) / 2, rank_of(b) - (len(b) + 1) / 2
    denominator = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0


def rollout_explanation(mlm: MaskedLM, shap_result: Explanation) -> Explanation:
    """Attention rollout from the mask to each word (its pieces summed), as an Explanation of the same target;
    base value and output are f's (rollout itself does not decompose the output)."""
    request = prepare(
        mlm, shap_result.text, shap_result.mask_index, list(shap_result.target_ids), False, shap_result.output_kind
    )
    flow = mask_rollout(request.analysis)[shap_result.mask_index]
    values = np.asarray([flow[list(group)].sum() for group in request.features.groups])
    target = shap_result.targets[0]
    return Explanation(
        mlm.name,
        shap_result.text,
        shap_result.mask_index,
        shap_result.output_kind,
        shap_result.words,
        (TargetExplanation(target.token, target.base_value, target.output, values),),
        0,
        "rollout",
        shap_result.target_ids[:1],
    )


def side_by_side(
    mlm: MaskedLM,
    text: str,
    *,
    mask_index: int = 0,
    target: str | None = None,
    output: str = "probability",
    max_evals: int = DEFAULT_MAX_EVALS,
    steps: int = DEFAULT_STEPS,
    rollout: bool = True,
) -> SideBySide:
    """SHAP, integrated gradients and (with ``rollout``) attention rollout for one target word (default: the
    model's top word), their rank correlations and faithfulness — all hidden variants in one batched pass."""
    target_id = prepare(mlm, text, mask_index, [target] if target else None, False, output).target_ids[0]
    shap_result = explain(mlm, text, mask_index=mask_index, targets=[target_id], output=output, max_evals=max_evals)
    ig_result = integrated_gradients(mlm, text, mask_index=mask_index, targets=[target_id], output=output, steps=steps)
    rollout = rollout and refusal(mlm.model, "attention") is None  # no per-token attention (Funnel): no rollout
    explanations = [shap_result, ig_result] + ([rollout_explanation(mlm, shap_result)] if rollout else [])
    curves = tuple(per_target[0] for per_target in faithfulness(mlm, explanations))
    scores = [e.targets[0].values for e in explanations]
    correlations = np.asarray([[spearman(a, b) for b in scores] for a in scores])
    return SideBySide(shap_result.words, tuple(explanations), curves, correlations)
