"""Fill-mask prediction: top-k per mask and, with several masks, the best joint fillings.

Joint fillings use a left-to-right beam search that factorises the joint probability by the chain rule:
p(w1..wn) = p(w1 | text) · p(w2 | text, w1) · … · p(wn | text, w1..wn-1), each factor read from the model with
the earlier masks filled in and the later ones still masked. It is exact for this factorisation (a masked LM
defines no unique joint), needs n − 1 extra batched forward passes, and unlike filling each mask
independently it can make the words agree ("New [MASK] [MASK]" → "york city", not "york york").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis import Analysis, Encoding, analyze, fill_text
from ..model import MaskedLM
from ..params import Interval, check_params
from .vocabulary import Word, display_token, special_ids, top_ids

PREDICT_PARAMS = {
    "top_k": Interval(int, 1, 100, widget=(1, 20)),
    "joint_k": Interval(int, 0, 20),
    "max_joint_masks": Interval(int, 2, 16),
}


@dataclass(frozen=True)
class Candidate(Word):
    """One word for one mask (token, token_id, probability). ``sentence`` is the user's text with this mask filled,
    others left as typed."""

    sentence: str

    def to_dict(self) -> dict:
        return {**super().to_dict(), "sentence": self.sentence}


@dataclass(frozen=True)
class MaskPrediction:
    """Top-k candidates at mask number ``index`` (0-based), token position ``position``; probability descending."""

    index: int
    position: int
    candidates: tuple[Candidate, ...]

    def __post_init__(self):
        probabilities = [c.probability for c in self.candidates]
        if probabilities != sorted(probabilities, reverse=True):
            raise ValueError(
                f"MaskPrediction candidates must be sorted by probability, highest first; got {probabilities}"
            )


@dataclass(frozen=True)
class JointFilling:
    """One filling of every mask; ``probability`` is the product of ``conditionals`` (chain rule, left to right)."""

    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    conditionals: tuple[float, ...]
    probability: float
    sentence: str


@dataclass(frozen=True)
class Prediction:
    """Per-mask candidates (in mask order) and, for 2+ masks, joint fillings sorted by probability."""

    model_name: str
    text: str
    tokens: tuple[str, ...]
    masks: tuple[MaskPrediction, ...]
    joint: tuple[JointFilling, ...]
    joint_skipped_reason: str | None = None

    def to_dict(self) -> dict:
        """The documented JSON shape (CLI ``--json`` and the page's download)."""
        return {
            "model": self.model_name,
            "text": self.text,
            "masks": [
                {
                    "index": mask.index,
                    "position": mask.position,
                    "predictions": [
                        {"token": c.token, "token_id": c.token_id, "probability": c.probability, "sentence": c.sentence}
                        for c in mask.candidates
                    ],
                }
                for mask in self.masks
            ],
            "joint": [
                {
                    "tokens": list(f.tokens),
                    "probability": f.probability,
                    "conditionals": list(f.conditionals),
                    "sentence": f.sentence,
                }
                for f in self.joint
            ],
        }

    def candidates_frame(self) -> pd.DataFrame:
        """One row per (mask, rank): mask (1-based), rank (1-based), token, probability, sentence."""
        rows = [
            {
                "mask": mask.index + 1,
                "rank": rank,
                "token": c.token,
                "probability": c.probability,
                "sentence": c.sentence,
            }
            for mask in self.masks
            for rank, c in enumerate(mask.candidates, start=1)
        ]
        return pd.DataFrame(rows, columns=["mask", "rank", "token", "probability", "sentence"])

    def joint_frame(self) -> pd.DataFrame:
        """One row per joint filling: rank, tokens (joined by ' | '), probability, conditionals, sentence."""
        rows = [
            {
                "rank": rank,
                "tokens": " | ".join(f.tokens),
                "probability": f.probability,
                "conditionals": " × ".join(f"{p:.3g}" for p in f.conditionals),
                "sentence": f.sentence,
            }
            for rank, f in enumerate(self.joint, start=1)
        ]
        return pd.DataFrame(rows, columns=["rank", "tokens", "probability", "conditionals", "sentence"])


def predict(mlm: MaskedLM, text: str, *, top_k: int = 5, joint_k: int = 5, max_joint_masks: int = 8) -> Prediction:
    """Top-``top_k`` words for every mask in ``text`` and, for 2+ masks, the ``joint_k`` best joint fillings."""
    check_params("predict", locals(), PREDICT_PARAMS)
    analysis = analyze(mlm, text, require_mask=True)
    banned = special_ids(mlm)
    masks = tuple(mask_prediction(mlm, analysis, k, top_k=top_k) for k in range(len(analysis.mask_positions)))
    joint, skipped = (), None
    n_masks = len(masks)
    if n_masks >= 2 and joint_k > 0:
        if n_masks <= max_joint_masks:
            joint = tuple(_beam_search(mlm, analysis, joint_k, banned))
        else:
            skipped = f"Joint fillings are computed for up to {max_joint_masks} masks; this text has {n_masks}."
    return Prediction(mlm.name, text, analysis.tokens, masks, joint, skipped)


def mask_prediction(mlm: MaskedLM, analysis: Analysis, k: int, *, top_k: int) -> MaskPrediction:
    """The ``top_k`` words for mask number ``k`` (0-based) of an analysed text; no model call."""
    log_probs = analysis.mask_log_probs[k]
    candidates = []
    for token_id in top_ids(log_probs, top_k, special_ids(mlm)):
        word = display_token(mlm, token_id)
        candidates.append(
            Candidate(word, int(token_id), float(np.exp(log_probs[token_id])), fill_text(analysis.encoding, {k: word}))
        )
    return MaskPrediction(k, analysis.mask_positions[k], tuple(candidates))


def _beam_search(mlm: MaskedLM, analysis: Analysis, beam_width: int, banned: np.ndarray) -> list[JointFilling]:
    encoding: Encoding = analysis.encoding
    positions = analysis.mask_positions
    # A beam is (token ids chosen for masks 0..i-1, their conditional log-probs).
    beams: list[tuple[tuple[int, ...], tuple[float, ...]]] = [((), ())]
    for step, position in enumerate(positions):
        if step == 0:
            step_log_probs = analysis.mask_log_probs[:1]  # the analysis already holds p(w1 | text)
        else:
            rows = [_filled_ids(encoding, chosen) for chosen, _ in beams]
            step_log_probs = mlm.forward(rows, [[position]] * len(rows)).log_probs[:, 0]
        expanded = []
        for (chosen, logs), log_probs in zip(beams, step_log_probs):
            for token_id in top_ids(log_probs, beam_width, banned):
                expanded.append((chosen + (int(token_id),), logs + (float(log_probs[token_id]),)))
        expanded.sort(key=lambda beam: sum(beam[1]), reverse=True)
        beams = expanded[:beam_width]
    return [_joint_filling(mlm, encoding, chosen, logs) for chosen, logs in beams]


def _filled_ids(encoding: Encoding, chosen: tuple[int, ...]) -> list[int]:
    ids = list(encoding.input_ids)
    for position, token_id in zip(encoding.mask_positions, chosen):
        ids[position] = token_id
    return ids


def _joint_filling(mlm: MaskedLM, encoding: Encoding, chosen: tuple[int, ...], logs: tuple[float, ...]):
    words = tuple(display_token(mlm, token_id) for token_id in chosen)
    return JointFilling(
        words,
        chosen,
        tuple(float(np.exp(v)) for v in logs),
        float(np.exp(sum(logs))),
        fill_text(encoding, dict(enumerate(words))),
    )
