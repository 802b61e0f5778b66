"""Layer-by-layer predictions: the model's own masked-LM head read at every layer, at each mask.

The "logit lens" (nostalgebraist 2020, "interpreting GPT: the logit lens"), here for masked LMs: the head the model
was trained with (for BERT dense + GELU + LayerNorm + tied decoder + bias; RoBERTa's ``lm_head`` likewise) applied
to the hidden state after each layer 0…L, where layer 0 is the embedding output. Read from the one cached
``Analysis``: no extra encoder pass. The last layer's row is exactly Predict's answer.

preprocess (``analyze``) → forward (``lens_log_probs``: one head call on L+1 × M states) → postprocess
(``LayerLens``: top-k per layer, the final word's rank and probability per layer, the masks' rollout rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis import Analysis, analyze
from ..architecture import require_view
from ..model import MaskedLM
from ..params import Interval, check_params
from .rollout import mask_rollout
from .vocabulary import Word, display_token, special_ids, top_ids, top_words, vocabulary_rank
from .words import one_token_word

LAYERS_PARAMS = {"top_k": Interval(int, 1, 100, widget=(1, 20))}


@dataclass(frozen=True)
class LayerReading:
    """What the head reads at one mask after layer ``layer`` (0 = embeddings): its top words, and where the final
    layer's top word stands (rank 1 = best; special tokens, never offered, are not counted)."""

    layer: int
    words: tuple[Word, ...]
    final_token_rank: int
    final_token_probability: float


@dataclass(frozen=True)
class MaskLens:
    """One mask (``index`` 0-based, token ``position``): L+1 readings, the rollout row float[T] of the mask, and
    the last layer's raw attention row of the mask, averaged over heads, float[T] (what rollout is compared with)."""

    index: int
    position: int
    final_token: str
    final_token_id: int
    layers: tuple[LayerReading, ...]
    rollout: np.ndarray
    last_layer_attention: np.ndarray

    @property
    def reading(self) -> str:
        """What the lens heatmap shows at this mask, in plain words (Markdown)."""
        return (
            "The model's own prediction head applied after every layer (the *logit lens*): what it would guess "
            f"if it stopped there. The last row is the real prediction — **{self.final_token}**."
        )


@dataclass(frozen=True)
class LayerLens:
    """Layer-by-layer predictions at every mask of ``text``; ``tokens`` name the rollout rows' T columns."""

    model_name: str
    text: str
    tokens: tuple[str, ...]
    masks: tuple[MaskLens, ...]

    def to_dict(self) -> dict:
        """The documented JSON shape of ``python -m mlm_core layers --json``: mask ``index`` 0-based as in
        ``predict --json``, layers numbered from 0 (the embeddings) to L."""
        return {
            "model": self.model_name,
            "text": self.text,
            "masks": [
                {
                    "index": mask.index,
                    "position": mask.position,
                    "layers": [
                        {
                            "layer": reading.layer,
                            "predictions": [word.to_dict() for word in reading.words],
                            "final_token_rank": reading.final_token_rank,
                            "final_token_probability": reading.final_token_probability,
                        }
                        for reading in mask.layers
                    ],
                    "rollout": [
                        {"token": token, "value": float(value)} for token, value in zip(self.tokens, mask.rollout)
                    ],
                }
                for mask in self.masks
            ],
        }

    def words_frame(self) -> pd.DataFrame:
        """One row per (mask, layer, rank): mask (1-based), layer, rank (1-based), token, probability."""
        rows = [
            {
                "mask": mask.index + 1,
                "layer": reading.layer,
                "rank": rank,
                "token": word.token,
                "probability": word.probability,
            }
            for mask in self.masks
            for reading in mask.layers
            for rank, word in enumerate(reading.words, 1)
        ]
        return pd.DataFrame(rows, columns=["mask", "layer", "rank", "token", "probability"])

    def final_word_frame(self) -> pd.DataFrame:
        """One row per (mask, layer): the final layer's top word, its rank and probability after that layer."""
        rows = [
            {
                "mask": mask.index + 1,
                "layer": reading.layer,
                "word": mask.final_token,
                "rank": reading.final_token_rank,
                "probability": reading.final_token_probability,
            }
            for mask in self.masks
            for reading in mask.layers
        ]
        return pd.DataFrame(rows, columns=["mask", "layer", "word", "rank", "probability"])

    def rollout_frame(self) -> pd.DataFrame:
        """One row per (mask, token position): how much of that input token flows into the mask through all layers
        (rollout), and the share the last layer's heads give it directly (mean raw attention)."""
        rows = [
            {
                "mask": mask.index + 1,
                "position": position,
                "token": token,
                "rollout": float(flow),
                "last_layer_attention": float(direct),
            }
            for mask in self.masks
            for position, (token, flow, direct) in enumerate(zip(self.tokens, mask.rollout, mask.last_layer_attention))
        ]
        return pd.DataFrame(rows, columns=["mask", "position", "token", "rollout", "last_layer_attention"])


def check_head_per_layer(mlm: MaskedLM) -> None:
    """Refuse, with a message, a model whose masked-LM head cannot be applied to one position's hidden state."""
    require_view(mlm.model, "layers", "The layer-by-layer view", mlm.name)


def lens_log_probs(mlm: MaskedLM, analysis: Analysis, masks: Sequence[int] | None = None) -> np.ndarray:
    """log-softmax of the head applied to every layer's hidden state at each mask (or at ``masks``, 0-based):
    float32[M, L+1, V]."""
    check_head_per_layer(mlm)
    masks = range(len(analysis.mask_positions)) if masks is None else masks
    positions = [analysis.mask_positions[k] for k in masks]
    states = np.swapaxes(analysis.hidden_states[:, positions], 0, 1)  # [M, L+1, D]
    n_masks, n_states, width = states.shape
    log_probs = mlm.forward.head_log_probs(states[:, :-1].reshape(-1, width)).reshape(n_masks, n_states - 1, -1)
    # The last layer's reading is the prediction itself (the same pass), not the head run again: recomputed, float
    # noise could reorder near-ties between this view and Predict.
    final = np.asarray(analysis.mask_log_probs)[list(masks)]
    return np.concatenate([log_probs, final[:, np.newaxis]], axis=1)


def layer_lens(mlm: MaskedLM, text: str, *, top_k: int = 5) -> LayerLens:
    """Top-``top_k`` words after every layer at every mask of ``text``, with the final word's rank per layer."""
    check_params("layers", locals(), LAYERS_PARAMS)
    analysis = analyze(mlm, text, require_mask=True)
    log_probs = lens_log_probs(mlm, analysis)
    banned = special_ids(mlm)
    rollouts = mask_rollout(analysis)
    last_attention = analysis.attentions[-1].mean(axis=0)[list(analysis.mask_positions)]  # [M, T]
    masks = tuple(
        _mask_lens(
            mlm,
            index,
            analysis.mask_positions[index],
            log_probs[index],
            banned,
            top_k,
            rollouts[index],
            last_attention[index],
        )
        for index in range(len(analysis.mask_positions))
    )
    return LayerLens(mlm.name, text, analysis.tokens, masks)


def _mask_lens(
    mlm: MaskedLM,
    index: int,
    position: int,
    log_probs: np.ndarray,
    banned: np.ndarray,
    top_k: int,
    rollout: np.ndarray,
    last_attention: np.ndarray,
) -> MaskLens:
    final_id = int(top_ids(log_probs[-1], 1, banned)[0])
    readings = []
    for layer, layer_log_probs in enumerate(log_probs):
        words = top_words(mlm, layer_log_probs, top_k, banned)
        rank = vocabulary_rank(layer_log_probs, final_id, banned)
        readings.append(LayerReading(layer, words, rank, float(np.exp(layer_log_probs[final_id]))))
    for array in (rollout, last_attention):
        array.setflags(write=False)
    return MaskLens(index, position, display_token(mlm, final_id), final_id, tuple(readings), rollout, last_attention)


@dataclass(frozen=True)
class FollowedWord:
    """One word at one mask (``mask_index`` 0-based) after every layer 0…L: ``log_probs`` float[L+1] and ``ranks``
    int[L+1] (1 = top of the vocabulary, special tokens left out). The last layer's value is the prediction's own."""

    model_name: str
    text: str
    mask_index: int
    word: str
    token_id: int
    log_probs: np.ndarray
    ranks: np.ndarray

    def to_dict(self) -> dict:
        return {
            "word": self.word,
            "token_id": self.token_id,
            "layers": [
                {"layer": layer, "rank": int(rank), "probability": float(np.exp(value)), "log_prob": float(value)}
                for layer, (value, rank) in enumerate(zip(self.log_probs, self.ranks))
            ],
        }

    def frame(self) -> pd.DataFrame:
        """One row per layer: mask (1-based), layer, word, rank, probability, log_prob."""
        return pd.DataFrame(
            {
                "mask": self.mask_index + 1,
                "layer": np.arange(len(self.ranks)),
                "word": self.word,
                "rank": self.ranks,
                "probability": np.exp(self.log_probs.astype(np.float64)),
                "log_prob": self.log_probs,
            }
        )


def follow_word(mlm: MaskedLM, text: str, word: str | int | None = None, *, mask_index: int = 0) -> FollowedWord:
    """``word`` (typed, as Predict's chosen words; a token id; or None for the last layer's top word) read through
    the head after every layer at mask ``mask_index``. A word of several pieces is refused (``one_token_word``):
    the lens reads one position, and one token's probability there."""
    check_head_per_layer(mlm)
    analysis = analyze(mlm, text, require_mask=True)
    analysis.mask_position(mask_index)
    banned = special_ids(mlm)
    if word is not None:
        token_id, name = one_token_word(mlm, analysis.encoding, mask_index, word, role="Word to follow")
    log_probs = lens_log_probs(mlm, analysis, [mask_index])[0]
    if word is None:
        token_id = int(top_ids(log_probs[-1], 1, banned)[0])
        name = display_token(mlm, token_id)
    ranks = np.array([vocabulary_rank(layer, token_id, banned) for layer in log_probs])
    values = log_probs[:, token_id].copy()
    for array in (values, ranks):
        array.setflags(write=False)
    return FollowedWord(mlm.name, text, mask_index, name, token_id, values, ranks)
