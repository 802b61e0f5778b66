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
small padded model call. When its evaluation budget covers the whole tree (about 140 inputs for 14 words, the
usual case), which inputs it will ask for does not depend on the answers, so they are all scored first in full
batches and the explainer then reads them from a table: the same algorithm, the same values, a few large calls.

Targets are explained together in one run, so a contrast column p(A) − p(B) is exactly the difference of the
single-target values.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Callable, Sequence

import numpy as np

from ..forward import BATCH_BUCKETS
from ..model import MaskedLM
from ..params import Interval, OneOf, check_params
from .attribution import OUTPUTS, Explanation, ExplainRequest, TargetExplanation, WordFeatures, prepare
from .attribution import word_features  # noqa: F401  (re-exported: tests and callers import it from here)

EXPLAIN_PARAMS = {
    "mask_index": Interval(int, 0, 511),
    "max_evals": Interval(int, 10, 5000, widget=(50, 1000)),
    "output": OneOf(OUTPUTS),
}
DEFAULT_MAX_EVALS = 300
BATCH_SIZE = 64
_WARM_UP = threading.Lock()


def warm_up() -> None:
    """Import shap (about 2 s) in a background thread, once: a page calls this before its model and text are
    ready, so the first explanation does not wait for the import (an ``import shap`` meanwhile waits for it)."""
    if "shap" in sys.modules or not _WARM_UP.acquire(blocking=False):
        return
    threading.Thread(target=importlib.import_module, args=("shap",), name="mlm-explorer-shap-import",
                     daemon=True).start()


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


def tree_masks(tree: np.ndarray, n_features: int) -> np.ndarray:
    """bool[E, M]: every coalition SHAP's Partition explainer (fixed_context=None) evaluates when its budget covers
    the whole tree — all hidden, all shown, and for each internal node in each context the context plus either
    child — mirroring ``PartitionExplainer.owen``'s recursion without its priority queue."""
    members = [np.eye(n_features, dtype=bool)[i] for i in range(n_features)]
    for left, right, *_ in tree:
        members.append(members[int(left)] | members[int(right)])
    masks = [np.zeros(n_features, bool), np.ones(n_features, bool)]
    stack = [(masks[0], len(members) - 1)]
    while stack:
        context, node = stack.pop()
        if node < n_features:
            continue
        left, right = (int(child) for child in tree[node - n_features, :2])
        with_left, with_right = context | members[left], context | members[right]
        masks += [with_left, with_right]
        stack += [(context, left), (context, right), (with_right, left), (with_left, right)]
    return np.asarray(masks)


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
        """Score the rows not in the table yet, a full batch at a time (so progress can be shown)."""
        rows = np.asarray(rows, dtype=np.int32)
        fresh = list({row.tobytes(): row for row in rows if row.tobytes() not in self.table}.values())
        position = self.request.features.target_position
        for start in range(0, len(fresh), BATCH_BUCKETS[-1]):
            chunk = fresh[start:start + BATCH_BUCKETS[-1]]
            log_probs = self.mlm.forward([row.tolist() for row in chunk], [[position]] * len(chunk)).log_probs[:, 0]
            for row, scores in zip(chunk, self.request.scores(log_probs)):
                self.table[row.tobytes()] = scores
            self.evaluated += len(chunk)
            if self.on_evaluations:
                self.on_evaluations(self.evaluated)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int32).reshape(len(rows), -1)
        self.score(rows)
        return np.stack([self.table[row.tobytes()] for row in rows])


def explain(mlm: MaskedLM, text: str, *, mask_index: int = 0, targets: Sequence[str | int] | None = None,
            contrast: bool = False, output: str = "probability", max_evals: int = DEFAULT_MAX_EVALS,
            on_evaluations: Callable[[int], None] | None = None,
            record_inputs: Callable[[np.ndarray], None] | None = None) -> Explanation:
    """SHAP values per word for the probability (or log-odds) of each target word at mask ``mask_index``.

    ``targets`` (words or token ids) default to the model's top 3 there; ``contrast`` adds p(targets[0]) − p(targets[1]).
    ``on_evaluations`` is told how many model inputs have been scored so far (for a progress bar);
    ``record_inputs`` receives every token-id row the explainer builds (tests use it).
    """
    import shap

    check_params("explain", {"mask_index": mask_index, "max_evals": max_evals, "output": output}, EXPLAIN_PARAMS)
    request = prepare(mlm, text, mask_index, targets, contrast, output)
    features = request.features
    n_words = len(features.groups)
    scores = _ScoreTable(mlm, request, on_evaluations)
    planned = tree_masks(positional_tree(n_words), n_words)
    if len(planned) < max_evals:  # the explainer will walk the whole tree: score all of it in full batches now
        scores.score(features.hidden_rows(planned))
    explainer = shap.PartitionExplainer(scores, _make_masker(features, record_inputs))
    result = explainer(features.input_ids[None, :], max_evals=max_evals, batch_size=BATCH_SIZE, silent=True)
    values = np.asarray(result.values[0]).reshape(n_words, -1)
    base_values = np.asarray(result.base_values).reshape(-1)
    full_output = scores(features.input_ids[None, :])[0]
    explained = tuple(TargetExplanation(name, float(base_values[k]), float(full_output[k]), values[:, k])
                      for k, name in enumerate(request.names))
    return Explanation(mlm.name, text, mask_index, output, features.words, explained, scores.evaluated, "shap",
                       request.target_ids)
