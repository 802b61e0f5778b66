"""Can you trust an explanation? Hide the words it ranks highest and see whether the prediction falls.

DeYoung et al. 2020 (ERASER, "A Benchmark to Evaluate Rationalized NLP Models"): comprehensiveness = how much the
output drops when the explanation's top words are hidden; sufficiency = how much it drops when *only* the top
words are kept. Both are averaged over steps of 10 %, 20 %, …, 100 % of the words (AOPC), and compared with the
same numbers for random word orders — a faithful explanation's comprehensiveness is well above random.

Words are hidden exactly as SHAP's masker hides them (``WordFeatures.hidden_rows``: the unknown-word token over
each of the word's pieces; never the target mask, never special tokens). The hidden variants of every step of every
explanation go through the compiled forward pass in one batched call, those of the random orders in another,
duplicates scored once; the random band is remembered per text, so a second method's check costs only its own
variants.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cache import LruCache
from ..model import MaskedLM
from .attribution import METHOD_LABELS, ExplainRequest, Explanation, prepare

FRACTIONS = tuple(round(0.1 * k, 1) for k in range(1, 11))
RANDOM_ORDERS = 20
SEED = 0
BAND_MEMO_SIZE = 32  # random bands kept per model
# The random band depends on the text, mask, targets and output only, not on the explanation: a second method's or
# a re-ranked explanation's faithfulness reuses it (kept per model, weakly, like the analysis memo).
_BANDS: weakref.WeakKeyDictionary[MaskedLM, LruCache] = weakref.WeakKeyDictionary()
_BANDS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Faithfulness:
    """Deletion and keep-only curves of one explanation of one output, against random word orders.

    fractions float[S]; counts int[S] words hidden (deletion) or kept (keep-only) at each step;
    deletion float[S]: output with the explanation's top ``counts[s]`` words hidden; keep_only float[S]: output
    with only those words shown; random_deletion, random_keep_only float[R, S]: the same for R random orders.
    """

    method: str
    token: str
    output_kind: str
    words: tuple[str, ...]
    order: tuple[int, ...]  # word numbers, the explanation's most important first
    fractions: np.ndarray
    counts: np.ndarray
    full_output: float
    deletion: np.ndarray
    keep_only: np.ndarray
    random_deletion: np.ndarray
    random_keep_only: np.ndarray

    @property
    def comprehensiveness(self) -> float:
        """Mean drop f(x) − f(x without the top words) over the steps (AOPC): higher = more faithful."""
        return float(np.mean(self.full_output - self.deletion))

    @property
    def sufficiency(self) -> float:
        """Mean drop f(x) − f(only the top words) over the steps: lower = the top words alone suffice."""
        return float(np.mean(self.full_output - self.keep_only))

    @property
    def random_comprehensiveness(self) -> np.ndarray:
        """float[R]: each random order's comprehensiveness."""
        return np.mean(self.full_output - self.random_deletion, axis=1)

    @property
    def random_sufficiency(self) -> np.ndarray:
        return np.mean(self.full_output - self.random_keep_only, axis=1)

    def frame(self) -> pd.DataFrame:
        """The deletion curve against the random band, one row per step: fraction, words hidden, the
        explanation's output, the random orders' mean, 10th and 90th percentile."""
        low, high = np.percentile(self.random_deletion, [10, 90], axis=0)
        return pd.DataFrame(
            {
                "fraction": self.fractions,
                "words hidden": self.counts,
                "explanation": self.deletion,
                "random mean": self.random_deletion.mean(axis=0),
                "random 10%": low,
                "random 90%": high,
            }
        )

    def reading(self, method_label: str | None = None) -> str:
        """One plain sentence: what hiding the top words does, against hiding as many random words."""
        step = int(np.argmin(np.abs(self.fractions - 0.25)))  # about a quarter of the words
        k = int(self.counts[step])
        words = "word" if k == 1 else f"{k} words"
        scale = "P" if self.output_kind == "probability" else "log-odds"
        quantity = " − ".join(f"{scale}({token})" for token in self.token.split(" − "))  # a contrast: P(A) − P(B)
        label = method_label or METHOD_LABELS.get(self.method, self.method)
        return (
            f"Hiding the {words} {label} ranks highest changes {quantity} from "
            f"{self.full_output:.3g} to {self.deletion[step]:.3g}; hiding {k} random "
            f"{'word' if k == 1 else 'words'}, to {self.random_deletion[:, step].mean():.3g} on average."
        )

    def to_dict(self) -> dict:
        return {
            "comprehensiveness": self.comprehensiveness,
            "sufficiency": self.sufficiency,
            "random_comprehensiveness": float(self.random_comprehensiveness.mean()),
            "random_sufficiency": float(self.random_sufficiency.mean()),
            "random_comprehensiveness_std": float(self.random_comprehensiveness.std()),
            "curve": [{"fraction": float(f), "output": float(v)} for f, v in zip(self.fractions, self.deletion)],
        }


def summary_frame(curves: Sequence[Faithfulness], labels: Sequence[str]) -> pd.DataFrame:
    """One row per explanation: its comprehensiveness and sufficiency, and the random orders' means."""
    return pd.DataFrame(
        {
            "explanation": list(labels),
            "comprehensiveness": [c.comprehensiveness for c in curves],
            "sufficiency": [c.sufficiency for c in curves],
            "random comprehensiveness": [c.random_comprehensiveness.mean() for c in curves],
            "random sufficiency": [c.random_sufficiency.mean() for c in curves],
        }
    )


def curves_frame(curves: Sequence[Faithfulness], labels: Sequence[str]) -> pd.DataFrame:
    """Every explanation's ``frame()`` (deletion curve and random band per step) with its label, stacked."""
    return pd.concat([curve.frame().assign(explanation=label) for curve, label in zip(curves, labels)])


def ranking(values: np.ndarray) -> np.ndarray:
    """Word numbers from the highest value to the lowest (ties: earlier word first)."""
    return np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")


def step_counts(n_words: int, fractions: Sequence[float] = FRACTIONS) -> np.ndarray:
    """Words hidden (or kept) at each fraction f of W words: the nearest whole number to f · W (halves up, at
    least 1), mirrored above one half so that count(f) + count(1 − f) = W. Keeping an order's top count(f) words
    then hides the same words as deleting the top count(1 − f) of its reverse, and the random orders, which come
    in reversed pairs, share most of their hidden variants (160 instead of 238 for 14 words)."""
    fractions = np.asarray(fractions, dtype=float)
    nearest = np.floor(np.minimum(fractions, 1 - fractions) * n_words + 0.5 + 1e-9)
    return np.where(fractions <= 0.5, np.maximum(1, nearest), n_words - nearest).astype(int)


def curve_outputs(
    mlm: MaskedLM,
    request: ExplainRequest,
    orders: np.ndarray,
    counts: np.ndarray,
    record_inputs: Callable[[np.ndarray], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deletion, keep-only, full): outputs float[O, S, K] with the first ``counts[s]`` words of each order
    int[O, W] hidden (deletion) and with only those shown (keep-only), and float[K] on the full text, for every
    output column K of the request. One batched pass over the unique hidden variants (the full text included)."""
    n_orders, n_words = orders.shape
    keeps = np.ones((2, n_orders, len(counts), n_words), dtype=bool)
    rank = np.argsort(orders, axis=1)  # rank[o, w]: where word w comes in order o
    for s, k in enumerate(counts):
        keeps[0, :, s] = rank >= k  # deletion: the top k hidden
        keeps[1, :, s] = rank < k  # keep-only: only the top k shown
    every = np.concatenate([keeps.reshape(-1, n_words), np.ones((1, n_words), dtype=bool)])
    unique, where = np.unique(every, axis=0, return_inverse=True)
    rows = request.features.hidden_rows(unique)
    if record_inputs is not None:
        for row in rows:
            record_inputs(row)
    position = request.features.target_position
    log_probs = mlm.forward(rows.tolist(), [[position]] * len(rows)).log_probs[:, 0]
    scores = request.scores(log_probs)[where.reshape(-1)]
    curves = scores[:-1].reshape(2, n_orders, len(counts), -1)
    return curves[0], curves[1], scores[-1]


def random_orders(n_words: int, n_orders: int = RANDOM_ORDERS, seed: int = SEED) -> np.ndarray:
    """int[R, W] seeded random word orders. Orders come in reversed pairs: keeping the top k words of one order
    hides the same words as deleting the top W − k of its reverse, so the two curves share hidden variants."""
    rng = np.random.default_rng(seed)
    half = [rng.permutation(n_words) for _ in range((n_orders + 1) // 2)]
    return np.asarray([order for first in half for order in (first, first[::-1])][:n_orders])


def faithfulness(
    mlm: MaskedLM,
    explanations: Sequence[Explanation],
    *,
    n_random: int = RANDOM_ORDERS,
    seed: int = SEED,
    fractions: Sequence[float] = FRACTIONS,
    record_inputs: Callable[[np.ndarray], None] | None = None,
) -> list[list[Faithfulness]]:
    """Faithfulness of every target of every explanation (same text, mask, targets and output kind), against
    ``n_random`` seeded random orders; ``result[e][t]`` belongs to ``explanations[e].targets[t]``.

    The random band depends only on the text, mask, targets and output: it is computed once for all the
    explanations and remembered for the next call (``record_inputs`` bypasses the memory).
    """
    first = explanations[0]
    if any(
        (e.text, e.mask_index, e.output_kind, [t.token for t in e.targets])
        != (first.text, first.mask_index, first.output_kind, [t.token for t in first.targets])
        for e in explanations
    ):
        raise ValueError("explanations compared for faithfulness must share text, mask, targets and output")
    request = _request_of(mlm, first)
    n_words = len(request.features.groups)
    counts = step_counts(n_words, fractions)
    orders = np.asarray([ranking(t.values) for e in explanations for t in e.targets])
    deletion, keep_only, _ = curve_outputs(mlm, request, orders, counts, record_inputs)

    def band() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return curve_outputs(mlm, request, random_orders(n_words, n_random, seed), counts, record_inputs)

    if record_inputs is not None:  # every evaluated input must reach the recorder: no memo
        random_deletion, random_keep_only, full = band()
    else:
        key = (
            request.analysis.encoding.text,
            request.mask_index,
            request.target_ids,
            request.contrast,
            request.output,
            n_random,
            seed,
            tuple(counts),
        )
        random_deletion, random_keep_only, full = _band_memo(mlm).get_or_compute(key, band)
    results, index = [], 0
    for explanation in explanations:
        per_target = []
        for k, target in enumerate(explanation.targets):
            per_target.append(
                Faithfulness(
                    explanation.method,
                    target.token,
                    explanation.output_kind,
                    explanation.words,
                    tuple(int(w) for w in orders[index]),
                    np.asarray(fractions, dtype=float),
                    counts,
                    float(full[k]),
                    deletion[index, :, k],
                    keep_only[index, :, k],
                    random_deletion[:, :, k],
                    random_keep_only[:, :, k],
                )
            )
            index += 1
        results.append(per_target)
    return results


def _request_of(mlm: MaskedLM, explanation: Explanation) -> ExplainRequest:
    """The explanation's own request again: same text, mask, target ids, contrast and output."""
    return prepare(
        mlm,
        explanation.text,
        explanation.mask_index,
        list(explanation.target_ids),
        explanation.contrast,
        explanation.output_kind,
    )


def _band_memo(mlm: MaskedLM) -> LruCache:
    with _BANDS_LOCK:
        if mlm not in _BANDS:
            _BANDS[mlm] = LruCache(BAND_MEMO_SIZE)
        return _BANDS[mlm]


def forget_bands(mlm: MaskedLM) -> None:
    """Drop the remembered random bands of ``mlm`` (benchmarks time the full computation with it)."""
    _band_memo(mlm).resize(0)
    _band_memo(mlm).resize(BAND_MEMO_SIZE)
