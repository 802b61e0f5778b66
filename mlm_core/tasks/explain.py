"""SHAP values for a masked-token prediction: which words pushed the model toward (or away from) a word.

Done right, unlike SHAP's stock Text masker (which hides words by writing the tokenizer's mask token — the very
token being predicted):

- features are the *words* of the text (word pieces grouped), never the target mask or special tokens;
- a hidden word's tokens are replaced, one for one, by the unknown-word token (``attribution.WordFeatures``), so
  every evaluated input has the same length, exactly one mask token (the target), and fits one compiled batch;
- the model function scores fixed target token ids chosen on the full text, through the compiled forward pass
  with the vocabulary head evaluated only at the target position;
- SHAP's Partition explainer over a positional word tree gives Owen values: base value + Σ values = f(x)
  (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model Predictions").

Speed: the Partition explainer walks the tree level by level and asks for 2, 8, 32, … inputs at a time, each a
small padded model call, and its first use in a process costs seconds of imports and numba compilation. When the
evaluation budget covers the whole tree (about 140 inputs for 14 words, the usual case), which inputs it needs
does not depend on the answers: ``owen_terms`` lists them and the terms of its recursion, all inputs are scored in
full batches, and the Owen values are summed in numpy — the same sums shap's ``PartitionExplainer.owen`` forms
(tested against it to 1e-4). Larger trees, cut by the budget, go through shap itself.

Targets are explained together in one run, so a contrast column p(A) − p(B) is exactly the difference of the
single-target values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..model import MaskedLM
from ..params import Interval, OneOf, check_params
from .attribution import (
    OUTPUTS,
    ExplainRequest,
    Explanation,
    TargetExplanation,
    WordFeatures,
    prepare,
    word_features,  # noqa: F401  (re-exported: tests and callers import it from here)
)

EXPLAIN_PARAMS = {
    "mask_index": Interval(int, 0, 511),
    "max_evals": Interval(int, 10, 5000, widget=(50, 1000)),
    "output": OneOf(OUTPUTS),
}
DEFAULT_MAX_EVALS = 300
BATCH_SIZE = 64


def positional_tree(n_features: int) -> np.ndarray:
    """A balanced binary clustering of neighbouring words, in scipy's linkage format [M−1, 4]."""
    clusters = [(i, 1) for i in range(n_features)]  # (cluster id, size)
    rows, next_id, height = [], n_features, 1.0
    while len(clusters) > 1:
        merged = []
        for i in range(0, len(clusters) - 1, 2):
            (a, size_a), (b, size_b) = clusters[i], clusters[i + 1]
            rows.append([a, b, height, size_a + size_b])
            merged.append((next_id, size_a + size_b))
            next_id += 1
        if len(clusters) % 2:
            merged.append(clusters[-1])
        clusters, height = merged, height + 1.0
    return np.asarray(rows, dtype=float).reshape(-1, 4)


@dataclass(frozen=True)
class OwenTerms:
    """SHAP's Partition recursion (fixed_context=None) over a whole tree, before any model output is known.

    masks bool[E, M]: every coalition it evaluates (all hidden first, all shown second); each term t adds
    ``weights[t] · (f(masks[high[t]]) − f(masks[low[t]]))`` to the value of word ``leaves[t]``."""

    masks: np.ndarray
    leaves: np.ndarray
    weights: np.ndarray
    high: np.ndarray
    low: np.ndarray

    def values(self, outputs: np.ndarray) -> np.ndarray:
        """float[M, K] Owen values from the outputs float[E, K] of ``masks``."""
        values = np.zeros((self.masks.shape[1], outputs.shape[1]))
        np.add.at(values, self.leaves, self.weights[:, None] * (outputs[self.high] - outputs[self.low]))
        return values


def owen_terms(tree: np.ndarray, n_features: int, *, limit: int | None = None) -> OwenTerms | None:
    """Mirror of ``PartitionExplainer.owen`` without its priority queue (the order does not matter when nothing is
    cut): a node seen with coalitions (low, high) and weight w evaluates low + left child and low + right child
    and passes w/2 to each child in both the zero context (low) and the one context; a leaf adds
    w·(f(high) − f(low)). None when the tree needs ``limit`` coalitions or more (long texts: thousands)."""
    members = [np.eye(n_features, dtype=bool)[i] for i in range(n_features)]
    for left, right, *_ in tree:
        members.append(members[int(left)] | members[int(right)])
    masks = [np.zeros(n_features, bool), np.ones(n_features, bool)]
    terms = []
    stack = [(0, 1, len(members) - 1, 1.0)]  # (index of low mask, index of high mask, node, weight)
    while stack:
        low, high, node, weight = stack.pop()
        if node < n_features:
            terms.append((node, weight, high, low))
            continue
        left, right = (int(child) for child in tree[node - n_features, :2])
        masks += [masks[low] | members[left], masks[low] | members[right]]
        if limit is not None and len(masks) >= limit:
            return None
        with_left, with_right = len(masks) - 2, len(masks) - 1
        half = weight / 2
        stack += [
            (low, with_left, left, half),
            (low, with_right, right, half),
            (with_right, high, left, half),
            (with_left, high, right, half),
        ]
    leaves, weights, highs, lows = (np.asarray(column) for column in zip(*terms))
    return OwenTerms(np.asarray(masks), leaves.astype(int), weights.astype(float), highs.astype(int), lows.astype(int))


def _make_masker(features: WordFeatures, record: Callable[[np.ndarray], None] | None):
    import shap

    class WordMasker(shap.maskers.Masker):
        """Hides words by writing the unknown-word token over each of their tokens; never the target mask."""

        def __init__(self):
            self.shape = (1, len(features.groups))
            self.clustering = positional_tree(len(features.groups))

        def mask_shapes(self, *args):
            return [(len(features.groups),)]

        def __call__(self, mask, *args):
            ids = features.hidden_rows(np.asarray(mask, dtype=bool)[None, :])[0]
            if record is not None:
                record(ids)
            return (ids[None, :],)

    return WordMasker()


class _ScoreTable:
    """Outputs of the token rows scored so far, keyed by the row's bytes; missing rows are scored in one batched
    compiled call. ``evaluated`` counts rows the model actually ran."""

    def __init__(self, mlm: MaskedLM, request: ExplainRequest, on_evaluations: Callable[[int], None] | None):
        self.mlm, self.request, self.on_evaluations = mlm, request, on_evaluations
        self.table: dict[bytes, np.ndarray] = {}
        self.evaluated = 0

    def score(self, rows: np.ndarray) -> None:
        """Score the rows not in the table yet in one batched call (progress is told after each chunk of it)."""
        rows = np.asarray(rows, dtype=np.int32)
        fresh = list({row.tobytes(): row for row in rows if row.tobytes() not in self.table}.values())
        if not fresh:
            return
        done_before = self.evaluated

        def progress(done: int) -> None:
            if self.on_evaluations:
                self.on_evaluations(done_before + done)

        position = self.request.features.target_position
        log_probs = self.mlm.forward(
            [row.tolist() for row in fresh], [[position]] * len(fresh), on_rows=progress
        ).log_probs[:, 0]
        for row, scores in zip(fresh, self.request.scores(log_probs)):
            self.table[row.tobytes()] = scores
        self.evaluated += len(fresh)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int32).reshape(len(rows), -1)
        self.score(rows)
        return np.stack([self.table[row.tobytes()] for row in rows])


def explain(
    mlm: MaskedLM,
    text: str,
    *,
    mask_index: int = 0,
    targets: Sequence[str | int] | None = None,
    contrast: bool = False,
    output: str = "probability",
    max_evals: int = DEFAULT_MAX_EVALS,
    on_evaluations: Callable[[int], None] | None = None,
    record_inputs: Callable[[np.ndarray], None] | None = None,
) -> Explanation:
    """SHAP values per word for the probability (or log-odds) of each target word at mask ``mask_index``.

    ``targets`` (words or token ids) default to the model's top 3 there; ``contrast`` adds
    p(targets[0]) − p(targets[1]).
    ``on_evaluations`` is told how many model inputs have been scored so far (for a progress bar);
    ``record_inputs`` receives every token-id row the explainer builds (tests use it).
    """
    check_params("explain", {"mask_index": mask_index, "max_evals": max_evals, "output": output}, EXPLAIN_PARAMS)
    request = prepare(mlm, text, mask_index, targets, contrast, output)
    features = request.features
    n_words = len(features.groups)
    scores = _ScoreTable(mlm, request, on_evaluations)
    terms = owen_terms(positional_tree(n_words), n_words, limit=max_evals)
    if terms is not None:  # shap would walk the whole tree: the same sums, all inputs in full batches
        rows = features.hidden_rows(terms.masks)
        for row in rows if record_inputs is not None else ():
            record_inputs(row)
        outputs = scores(rows)
        values, base_values, full_output = terms.values(outputs), outputs[0], outputs[1]
    else:
        values, base_values = _shap_values(scores, features, max_evals, record_inputs)
        full_output = scores(features.input_ids[None, :])[0]
    explained = tuple(
        TargetExplanation(name, float(base_values[k]), float(full_output[k]), values[:, k])
        for k, name in enumerate(request.names)
    )
    return Explanation(
        mlm.name, text, mask_index, output, features.words, explained, scores.evaluated, "shap", request.target_ids
    )


def _shap_values(
    scores: _ScoreTable, features: WordFeatures, max_evals: int, record_inputs: Callable[[np.ndarray], None] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(values float[M, K], base values float[K]) from shap's PartitionExplainer, for trees its budget cuts."""
    import shap

    explainer = shap.PartitionExplainer(scores, _make_masker(features, record_inputs))
    result = explainer(features.input_ids[None, :], max_evals=max_evals, batch_size=BATCH_SIZE, silent=True)
    return (np.asarray(result.values[0]).reshape(len(features.groups), -1), np.asarray(result.base_values).reshape(-1))
