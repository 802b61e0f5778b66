"""Probing classifiers with control tasks: which layer's representation of a word lets a linear classifier read a
property (part of speech, number, sense) — and how much of that is the probe memorising words.

preprocess (rows from ``probe_files``, checked) → forward (``probe_features.word_vectors``: every layer from one
pass per chunk of sentences) → postprocess (per layer: scikit-learn ``StandardScaler`` + ``LogisticRegression``,
accuracy averaged over stratified folds, for the task and for its control task).

The control task (Hewitt & Liang 2019, "Designing and Interpreting Probes with Control Tasks") gives every distinct
word (lower-cased) one label drawn at random from the task's label distribution: only memorising words can learn
it. Selectivity = task accuracy − control accuracy: high when the layer encodes the property, not just the word.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import MaskedLM
from ..params import Interval, check_params
from .probe_features import word_vectors
from .probe_files import ProbeRow, check_rows

PROBE_PARAMS = {"folds": Interval(int, 2, 20, widget=(2, 10)), "seed": Interval(int, 0, 2**31 - 1, widget=(0, 999))}
READABLE_SHARE = 0.9  # "readable from layer k": the first layer within 90 % of the best layer's gain over guessing
NOTHING_READ = 0.05  # a best gain over the majority baseline below this reads as "not readable"


@dataclass(frozen=True)
class LayerScore:
    """Mean accuracy over the folds of the probe on the task and on its control task at one layer (0 = the
    embeddings)."""

    layer: int
    accuracy: float
    control_accuracy: float

    @property
    def selectivity(self) -> float:
        return self.accuracy - self.control_accuracy

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "accuracy": self.accuracy,
            "control_accuracy": self.control_accuracy,
            "selectivity": self.selectivity,
        }


@dataclass(frozen=True)
class ProbeResult:
    """One probing task on one model: ``layers`` has L + 1 scores (layer 0 … L); ``labels`` (label, rows) pairs;
    ``majority`` the accuracy of always guessing ``majority_label``."""

    model_name: str
    task: str
    property: str
    rows: int
    labels: tuple[tuple[str, int], ...]
    majority: float
    majority_label: str
    layers: tuple[LayerScore, ...]
    folds: int
    seed: int

    def to_dict(self) -> dict:
        return {
            "model": self.model_name,
            "task": self.task,
            "rows": self.rows,
            "labels": dict(self.labels),
            "majority": self.majority,
            "layers": [score.to_dict() for score in self.layers],
        }

    def frame(self) -> pd.DataFrame:
        """One row per layer: layer, accuracy, control_accuracy, selectivity, majority (the table and the CSV)."""
        return pd.DataFrame([{**score.to_dict(), "majority": self.majority} for score in self.layers])

    def summary(self) -> str:
        """One line: the rows, the count of each label, the folds and the seed."""
        labels = ", ".join(f"{label}: {count}" for label, count in self.labels)
        return f"{self.rows} rows · {labels} · {self.folds} folds, seed {self.seed}"

    def reading(self) -> str:
        """Plain sentences: from which layer the property is readable, where selectivity peaks, and what the
        control task says about layer 0."""
        best = max(self.layers, key=lambda score: score.accuracy)
        guess = f"{self.majority:.0%} for always guessing {self.majority_label!r}"
        if best.accuracy - self.majority < NOTHING_READ:
            return (
                f"{self.property} is not readable from any layer: the best, {_layer(best.layer)}, reaches "
                f"{best.accuracy:.0%}, against {guess}."
            )
        needed = self.majority + READABLE_SHARE * (best.accuracy - self.majority)
        first = next(score for score in self.layers if score.accuracy >= needed)
        peak = max(self.layers, key=lambda score: score.selectivity)
        text = (
            f"{self.property} is readable from {_layer(first.layer)} ({first.accuracy:.0%}, against {guess}); "
            f"the best layer is {best.layer} ({best.accuracy:.0%}). Selectivity — accuracy minus the control "
            f"task's — peaks at {_layer(peak.layer)} ({peak.selectivity:+.0%})"
        )
        if peak.selectivity <= 0:
            text += (
                ": the control task is the easier one here, because its words repeat and each keeps one "
                "control label, while the task's label changes with the sentence"
            )
        text += "."
        control = self.layers[0].control_accuracy
        if control >= self.majority + NOTHING_READ:
            text += (
                f" The control task, random labels that only memorising words can learn, reaches {control:.0%} "
                "after the embeddings: judge the layers by selectivity, not by accuracy alone."
            )
        return text


def _layer(layer: int) -> str:
    return "layer 0 (the embeddings)" if layer == 0 else f"layer {layer}"


def control_labels(rows: Sequence[ProbeRow], *, seed: int) -> np.ndarray:
    """str[N]: each distinct lower-cased word gets one label drawn (seeded) from the task's label distribution."""
    counts = Counter(row.label for row in rows)
    labels = sorted(counts)
    shares = np.array([counts[label] for label in labels], dtype=np.float64) / len(rows)
    words = sorted({row.word.lower() for row in rows})
    drawn = np.random.default_rng(seed).choice(len(labels), size=len(words), p=shares)
    by_word = {word: labels[k] for word, k in zip(words, drawn)}
    return np.array([by_word[row.word.lower()] for row in rows])


def fold_accuracy(features: np.ndarray, labels: np.ndarray, *, folds: int, seed: int) -> float:
    """Mean test accuracy of StandardScaler + LogisticRegression(max_iter=1000) over
    StratifiedKFold(folds, shuffle=True, random_state=seed) on ``features`` float[N, D]. A training part with one
    label (a control task can draw one label for nearly every word) predicts that label."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    scores = []
    # One BLAS thread: these matrices are small, and two threads fighting over busy cores made each fit several
    # times slower.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")  # a control label rarer than the folds; lbfgs near convergence
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(features, labels):
            if len(set(labels[train])) == 1:
                scores.append(float(np.mean(labels[test] == labels[train][0])))
                continue
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            scores.append(float(model.fit(features[train], labels[train]).score(features[test], labels[test])))
    return float(np.mean(scores))


def probe(
    mlm: MaskedLM,
    rows: Sequence[ProbeRow],
    *,
    task: str = "",
    property: str = "The label",
    folds: int = 5,
    seed: int = 0,
    on_progress: Callable[[float, str], None] | None = None,
) -> ProbeResult:
    """Probe every layer of ``mlm`` for ``rows``' labels, with the control task and the majority baseline.

    ``on_progress(fraction, what)`` is told after each model call and each layer's probes (a progress bar).
    """
    check_params("probe", {"folds": folds, "seed": seed}, PROBE_PARAMS)
    rows = list(rows)
    check_rows(rows, folds=folds, name=f"Task '{task}'" if task else "The task")
    report = on_progress or (lambda fraction, what: None)
    n_layers = mlm.num_layers + 1
    # The model's share of the work is small next to the 2 × folds fits per layer; a rough split is enough here.
    vectors = word_vectors(
        mlm,
        rows,
        on_sentences=lambda done, total: report(
            0.2 * done / total, f"Reading hidden states: {done:,} of {total:,} sentences"
        ),
    )
    labels = np.array([row.label for row in rows])
    control = control_labels(rows, seed=seed)
    scores = []
    for layer in range(n_layers):
        scores.append(
            LayerScore(
                layer,
                fold_accuracy(vectors[:, layer], labels, folds=folds, seed=seed),
                fold_accuracy(vectors[:, layer], control, folds=folds, seed=seed),
            )
        )
        report(0.2 + 0.8 * (layer + 1) / n_layers, f"Probing layer {layer} of {n_layers - 1}")
    counts = Counter(labels.tolist())
    majority_label, majority_rows = max(sorted(counts.items()), key=lambda item: item[1])
    return ProbeResult(
        mlm.name,
        task,
        property,
        len(rows),
        tuple(sorted(counts.items())),
        majority_rows / len(rows),
        majority_label,
        tuple(scores),
        folds,
        seed,
    )
