"""SHAP values for a masked-token prediction: which words pushed the model toward (or away from) a word.

Done right, unlike SHAP's stock Text masker (which hides words by writing the tokenizer's mask token — the very
token being predicted):

- features are the *words* of the text (word pieces grouped), never the target mask or special tokens;
- a hidden word's tokens are replaced, one for one, by the unknown-word token — never by the mask token — so
  every evaluated input has the same length, exactly one mask token (the target), and fits one compiled batch;
- other masks in the text are shown to the model as unknown words too (so the target is never ambiguous);
- the model function scores fixed target token ids chosen on the full text, through the compiled forward pass
  with the vocabulary head evaluated only at the target position;
- SHAP's Partition explainer over a positional word tree gives Owen values: base value + Σ values = f(x).

Targets are explained together in one run, so a contrast column p(A) − p(B) is exactly the difference of the
single-target values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..analysis import Analysis, Encoding, analyze, word_groups
from ..errors import InputError
from ..model import MaskedLM
from ..params import Interval, OneOf, check_params
from .predict import display_token, mask_prediction

EXPLAIN_PARAMS = {
    "mask_index": Interval(int, 0, 511),
    "max_evals": Interval(int, 10, 5000, widget=(50, 1000)),
    "output": OneOf(("probability", "log-odds")),
}
DEFAULT_MAX_EVALS = 300
BATCH_SIZE = 64


@dataclass(frozen=True)
class TargetExplanation:
    """SHAP values of one output: ``values`` float[W] per word; base_value = f(every word hidden);
    output = f(x), the output on the full text. For a contrast, ``token`` reads 'A − B'."""

    token: str
    base_value: float
    output: float
    values: np.ndarray


@dataclass(frozen=True)
class Explanation:
    """Words (in text order) and one ``TargetExplanation`` per target (then the contrast, if asked)."""

    model_name: str
    text: str
    mask_index: int
    output_kind: str
    words: tuple[str, ...]
    targets: tuple[TargetExplanation, ...]
    evaluations: int

    def frame(self) -> pd.DataFrame:
        """One row per (target, word): target, word, position (0-based word number), value."""
        rows = [{"target": t.token, "word": word, "position": i, "value": float(t.values[i])}
                for t in self.targets for i, word in enumerate(self.words)]
        return pd.DataFrame(rows, columns=["target", "word", "position", "value"])

    def to_dict(self) -> dict:
        return {
            "mask": self.mask_index,
            "output": self.output_kind,
            "targets": [{"token": t.token, "base_value": t.base_value, "output": t.output,
                         "words": [{"word": w, "value": float(v)} for w, v in zip(self.words, t.values)]}
                        for t in self.targets],
        }


@dataclass(frozen=True)
class WordFeatures:
    """The text split into explainable words: ``groups[k]`` are the token positions of word k."""

    input_ids: np.ndarray
    target_position: int
    groups: tuple[tuple[int, ...], ...]
    words: tuple[str, ...]
    hide_id: int


def word_features(mlm: MaskedLM, encoding: Encoding, mask_index: int) -> WordFeatures:
    """Group tokens into words; the target mask and special tokens are not features; other masks become the
    unknown-word token."""
    tokenizer = mlm.tokenizer
    hide_id = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id
    target = encoding.mask_positions[mask_index]
    ids = np.asarray(encoding.input_ids, dtype=np.int32)
    for position in encoding.mask_positions:
        if position != target:
            ids[position] = hide_id
    groups = word_groups(encoding.word_ids, skip=set(encoding.mask_positions))
    words = tuple(tokenizer.convert_tokens_to_string([encoding.tokens[p] for p in group]).strip()
                  for group in groups)
    return WordFeatures(ids, target, groups, words, int(hide_id))


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
            ids = features.input_ids.copy()
            for keep, group in zip(np.asarray(mask, dtype=bool), features.groups):
                if not keep:
                    ids[list(group)] = features.hide_id
            if record is not None:
                record(ids)
            return (ids[None, :],)

    return WordMasker()


def explain(mlm: MaskedLM, text: str, *, mask_index: int = 0, targets: Sequence[str] | None = None,
            contrast: bool = False, output: str = "probability", max_evals: int = DEFAULT_MAX_EVALS,
            on_evaluations: Callable[[int], None] | None = None,
            record_inputs: Callable[[np.ndarray], None] | None = None) -> Explanation:
    """SHAP values per word for the probability (or log-odds) of each target word at mask ``mask_index``.

    ``targets`` default to the model's top 3 there; ``contrast`` adds p(targets[0]) − p(targets[1]).
    ``on_evaluations`` is told how many model inputs have been scored so far (for a progress bar);
    ``record_inputs`` receives every token-id row the explainer builds (tests use it).
    """
    import shap

    check_params("explain", {"mask_index": mask_index, "max_evals": max_evals, "output": output}, EXPLAIN_PARAMS)
    analysis = analyze(mlm, text, require_mask=True)
    n_masks = len(analysis.mask_positions)
    if mask_index >= n_masks:
        raise InputError(f"Mask number {mask_index + 1} was asked for, but the text has {n_masks} "
                         f"mask{'s' if n_masks > 1 else ''} — pick a number from 1 to {n_masks}.")
    target_ids, target_names = _target_ids(mlm, analysis, mask_index, targets)
    if contrast and len(target_ids) < 2:
        raise InputError("A contrast needs two target words — give two, e.g. 'mat' and 'floor'.")
    features = word_features(mlm, analysis.encoding, mask_index)
    if not features.groups:
        raise InputError("There are no words besides the mask to explain — write a sentence around the [MASK].")
    evaluated = [0]

    def model_function(rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int32).reshape(len(rows), -1)
        log_probs = mlm.forward(rows.tolist(), [[features.target_position]] * len(rows)).log_probs[:, 0]
        chosen = log_probs[:, target_ids].astype(np.float64)
        scores = np.exp(chosen) if output == "probability" else chosen - np.log1p(-np.minimum(np.exp(chosen), 1 - 1e-12))
        if contrast:
            scores = np.concatenate([scores, scores[:, :1] - scores[:, 1:2]], axis=1)
        evaluated[0] += len(rows)
        if on_evaluations:
            on_evaluations(evaluated[0])
        return scores

    masker = _make_masker(features, record_inputs)
    explainer = shap.PartitionExplainer(model_function, masker)
    result = explainer(features.input_ids[None, :], max_evals=max_evals, batch_size=BATCH_SIZE, silent=True)
    values = np.asarray(result.values[0]).reshape(len(features.groups), -1)
    base_values = np.asarray(result.base_values).reshape(-1)
    full_output = model_function(features.input_ids[None, :])[0]
    names = list(target_names) + ([f"{target_names[0]} − {target_names[1]}"] if contrast else [])
    explained = tuple(TargetExplanation(name, float(base_values[k]), float(full_output[k]), values[:, k])
                      for k, name in enumerate(names))
    return Explanation(mlm.name, text, mask_index, output, features.words, explained, evaluated[0])


def _target_ids(mlm: MaskedLM, analysis: Analysis, mask_index: int, targets: Sequence[str] | None):
    if not targets:
        candidates = mask_prediction(mlm, analysis, mask_index, top_k=3).candidates
        return [c.token_id for c in candidates], [c.token for c in candidates]
    ids, names = [], []
    vocabulary = mlm.tokenizer.get_vocab()
    for target in targets:
        if target in vocabulary:  # a token as Predict lists it, word pieces like '##s' included
            ids.append(vocabulary[target])
            names.append(target)
            continue
        pieces = mlm.tokenizer(target.strip(), add_special_tokens=False)["input_ids"]
        if len(pieces) != 1:
            split = " ".join(mlm.tokenizer.convert_ids_to_tokens(pieces)) or "nothing"
            raise InputError(f"Target '{target}' is not one token for this model (it becomes: {split}) — pick a "
                             "word from the Predict list, which the model can put in one mask.")
        ids.append(int(pieces[0]))
        names.append(display_token(mlm, pieces[0]))
    return ids, names
