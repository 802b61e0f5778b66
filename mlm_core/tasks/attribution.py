"""What every explanation of a masked prediction shares: the words as features, how a word is hidden, the
targets and their output scale, and the result type.

SHAP (``explain.py``), integrated gradients and gradient × input (``gradients.py``) and the faithfulness curves
(``faithfulness.py``) all hide words the same way: each of the word's tokens is overwritten by the unknown-word
token — never by the mask token, which is the very token being predicted — so every hidden variant has the same
length, exactly one mask token (the target) and its special tokens untouched. Other masks in the text are shown to
the model as unknown words, so the target is never ambiguous.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis import Analysis, Encoding, analyze, word_groups
from ..errors import InputError
from ..model import MaskedLM
from .predict import mask_prediction
from .vocabulary import display_token
from .words import one_token_word

OUTPUTS = ("probability", "log-odds")
METHOD_LABELS = {
    "shap": "SHAP",
    "ig": "integrated gradients",
    "gradxinput": "gradient × input",
    "rollout": "attention rollout",
}


@dataclass(frozen=True)
class TargetExplanation:
    """Attributions of one output: ``values`` float[W] per word; base_value = f(every word hidden);
    output = f(x), the output on the full text. For a contrast, ``token`` reads 'A − B'.
    ``completeness_gap`` (gradient methods) = |Σ values − (output − base_value)|; SHAP's is 0 by construction."""

    token: str
    base_value: float
    output: float
    values: np.ndarray
    completeness_gap: float | None = None


@dataclass(frozen=True)
class Explanation:
    """Words (in text order) and one ``TargetExplanation`` per target (then the contrast, if asked).
    ``method``: 'shap', 'ig' or 'gradxinput'; ``evaluations``: model inputs scored (rows, gradient rows included);
    ``target_ids``: the explained token ids (without the contrast)."""

    model_name: str
    text: str
    mask_index: int
    output_kind: str
    words: tuple[str, ...]
    targets: tuple[TargetExplanation, ...]
    evaluations: int
    method: str = "shap"
    target_ids: tuple[int, ...] = ()

    @property
    def contrast(self) -> bool:
        return len(self.targets) > len(self.target_ids)

    def frame(self) -> pd.DataFrame:
        """One row per (target, word): target, word, position (0-based word number), value."""
        rows = [
            {"target": t.token, "word": word, "position": i, "value": float(t.values[i])}
            for t in self.targets
            for i, word in enumerate(self.words)
        ]
        return pd.DataFrame(rows, columns=["target", "word", "position", "value"])

    def how_made(self, *, steps: int) -> str:
        """How the values were made, in plain words: evaluations, how a word is hidden, the method (``steps``:
        integrated gradients' points on the path)."""
        what = {
            "shap": "SHAP Partition explainer (Owen values over neighbouring words)",
            "ig": f"integrated gradients over the word embeddings, {steps} points (trapezoid rule)",
            "gradxinput": "gradient × (input − baseline) at the input, one pass",
        }[self.method]
        return (
            f"{self.evaluations} model evaluations. Hidden words are replaced by the unknown-word token (never "
            f"by the mask); other masks in the text count as unknown words. {what[0].upper() + what[1:]}."
        )

    def to_dict(self) -> dict:
        targets = []
        for t in self.targets:
            entry = {
                "token": t.token,
                "base_value": t.base_value,
                "output": t.output,
                "words": [{"word": w, "value": float(v)} for w, v in zip(self.words, t.values)],
                "method": self.method,
            }
            if t.completeness_gap is not None:
                entry["completeness_gap"] = t.completeness_gap
            targets.append(entry)
        return {"mask": self.mask_index, "output": self.output_kind, "targets": targets}


@dataclass(frozen=True)
class WordFeatures:
    """The text split into explainable words: ``groups[k]`` are the token positions of word k.

    ``input_ids`` int32[T] is the text as every method shows it to the model (other masks already hidden);
    ``word_of_token`` int[T] gives each token's word number, −1 for the target mask and special tokens."""

    input_ids: np.ndarray
    target_position: int
    groups: tuple[tuple[int, ...], ...]
    words: tuple[str, ...]
    hide_id: int
    word_of_token: np.ndarray

    def hidden_rows(self, keep: np.ndarray) -> np.ndarray:
        """int32[N, T] token rows for keep masks bool[N, W]: word k's tokens become the hiding token where
        ``keep[n, k]`` is False. The target mask and special tokens belong to no word and are never touched."""
        keep = np.asarray(keep, dtype=bool).reshape(-1, len(self.groups))
        rows = np.repeat(self.input_ids[None, :], len(keep), axis=0)
        is_word = self.word_of_token >= 0
        hide = np.zeros(rows.shape, dtype=bool)
        hide[:, is_word] = ~keep[:, self.word_of_token[is_word]]
        rows[hide] = self.hide_id
        return rows


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
    words = tuple(tokenizer.convert_tokens_to_string([encoding.tokens[p] for p in group]).strip() for group in groups)
    word_of_token = np.full(len(ids), -1, dtype=np.int64)
    for k, group in enumerate(groups):
        word_of_token[list(group)] = k
    return WordFeatures(ids, target, groups, words, int(hide_id), word_of_token)


@dataclass(frozen=True)
class ExplainRequest:
    """A checked request: the text's analysis and words, the target token ids and their display names."""

    analysis: Analysis
    features: WordFeatures
    mask_index: int
    target_ids: tuple[int, ...]
    target_names: tuple[str, ...]
    contrast: bool
    output: str

    @property
    def names(self) -> list[str]:
        """Names of the explained outputs: the targets, then 'A − B' for a contrast."""
        extra = [f"{self.target_names[0]} − {self.target_names[1]}"] if self.contrast else []
        return list(self.target_names) + extra

    def scores(self, log_probs: np.ndarray) -> np.ndarray:
        """float64[N, K(+1)] outputs from log-probabilities float[N, V] at the target mask: each target's
        probability or log-odds, then the contrast column first − second."""
        chosen = np.asarray(log_probs, dtype=np.float64)[:, list(self.target_ids)]
        scores = output_scale(chosen, self.output)
        if self.contrast:
            scores = np.concatenate([scores, scores[:, :1] - scores[:, 1:2]], axis=1)
        return scores


def output_scale(log_prob, output: str, *, math=np):
    """log P → P or log-odds log(P / (1 − P)); ``math`` is numpy or ``tf.math`` (the gradient methods use the same
    formula inside their compiled graph). P is capped just below 1 so the log-odds stay finite."""
    if output == "probability":
        return math.exp(log_prob)
    cap = 1e-12 if log_prob.dtype == np.float64 else 1e-6
    return log_prob - math.log1p(-math.minimum(math.exp(log_prob), 1 - cap))


def prepare(
    mlm: MaskedLM, text: str, mask_index: int, targets: Sequence[str | int] | None, contrast: bool, output: str
) -> ExplainRequest:
    """Analyse the text, check the mask number and targets, and split the text into words (one set of checks
    and messages for every method)."""
    analysis = analyze(mlm, text, require_mask=True)
    analysis.mask_position(mask_index)
    target_ids, target_names = target_tokens(mlm, analysis, mask_index, targets)
    if contrast and len(target_ids) < 2:
        raise InputError("A contrast needs two target words — give two, e.g. 'mat' and 'floor'.")
    features = word_features(mlm, analysis.encoding, mask_index)
    if not features.groups:
        raise InputError("There are no words besides the mask to explain — write a sentence around the [MASK].")
    return ExplainRequest(analysis, features, mask_index, tuple(target_ids), tuple(target_names), contrast, output)


def target_tokens(
    mlm: MaskedLM, analysis: Analysis, mask_index: int, targets: Sequence[str | int] | None
) -> tuple[list[int], list[str]]:
    """Token ids and display names of the target words, given as words or token ids (default: the model's top 3
    at the mask)."""
    if not targets:
        candidates = mask_prediction(mlm, analysis, mask_index, top_k=3).candidates
        return [c.token_id for c in candidates], [c.token for c in candidates]
    ids, names = [], []
    for target in targets:
        if isinstance(target, (int, np.integer)):
            token_id, name = int(target), display_token(mlm, int(target))
        else:  # read in place of the mask, as Predict's chosen words (a BPE word gets its leading-space token)
            token_id, name = one_token_word(mlm, analysis.encoding, mask_index, target)
        ids.append(int(token_id))
        names.append(name)
    return ids, names
