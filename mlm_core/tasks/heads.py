"""Switch attention heads off: the prediction without them, and a scan of every head's and layer's importance.

A head is switched off by multiplying its attention weights by 0, what transformers' attention layers do with a
``head_mask`` (Michel, Levy & Neubig 2019, "Are Sixteen Heads Really Better than One?", take importance as the
change in the objective when a head is masked; here the change in log P(word) at one mask). The head mask is an
input of the compiled forward pass, so any choice of heads and the whole scan (L×H single heads + L layers, one
row each) run batched through one program per shape.

Heads and layers are numbered from 1 in everything a user sees (layer 0 is the embeddings, which have no heads).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis import analyze
from ..architecture import require_view
from ..errors import InputError
from ..model import MaskedLM
from ..params import Interval, check_params
from .vocabulary import Word, special_ids, top_words

ABLATE_PARAMS = {"top_k": Interval(int, 1, 100, widget=(1, 20))}
Head = tuple[int, int]  # (layer, head), both 1-based


def parse_heads(spec: str, *, num_layers: int, num_heads: int) -> tuple[Head, ...]:
    """'2.3,4.1' → ((2, 3), (4, 1)): layer.head pairs, 1-based, checked against the model's size; '' → ()."""
    heads = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        match = re.fullmatch(r"(\d+)\.(\d+)", item)
        if not match:
            raise InputError(
                f"'{item}' is not a head — write heads as layer.head, both from 1, separated by "
                f"commas, e.g. '2.3,4.1' (layer 2 head 3, layer 4 head 1)."
            )
        heads.append((int(match[1]), int(match[2])))
    return check_heads(heads, num_layers=num_layers, num_heads=num_heads)


def check_heads(heads: Sequence[Sequence[int]], *, num_layers: int, num_heads: int) -> tuple[Head, ...]:
    """The heads as sorted, distinct (layer, head) pairs, each refused with a message when outside the model."""
    for layer, head in heads:
        if not (1 <= layer <= num_layers and 1 <= head <= num_heads):
            raise InputError(
                f"There is no head {layer}.{head} — this model has layers 1–{num_layers} with heads "
                f"1–{num_heads} each; pick e.g. '{num_layers}.{num_heads}'."
            )
    return tuple(sorted({(int(layer), int(head)) for layer, head in heads}))


def head_mask(heads: Sequence[Head], *, num_layers: int, num_heads: int) -> np.ndarray:
    """float32[L, H]: 0 for each switched-off (layer, head), 1 elsewhere."""
    mask = np.ones((num_layers, num_heads), dtype=np.float32)
    for layer, head in heads:
        mask[layer - 1, head - 1] = 0.0
    return mask


def check_ablatable(mlm: MaskedLM) -> None:
    require_view(mlm.model, "heads", "Switching heads off", mlm.name)


@dataclass(frozen=True)
class MaskAblation:
    """Top words at mask ``index`` (0-based) with every head (``intact``) and with the chosen heads off."""

    index: int
    position: int
    intact: tuple[Word, ...]
    ablated: tuple[Word, ...]
    intact_probabilities: dict[int, float]
    ablated_probabilities: dict[int, float]

    def changes(self) -> list[dict]:
        """Every word in either top list: probability intact, after, and the change (after − intact)."""
        words = {word.token_id: word.token for word in self.intact + self.ablated}
        return [
            {
                "token": token,
                "token_id": token_id,
                "intact": self.intact_probabilities[token_id],
                "ablated": self.ablated_probabilities[token_id],
                "change": self.ablated_probabilities[token_id] - self.intact_probabilities[token_id],
            }
            for token_id, token in words.items()
        ]


@dataclass(frozen=True)
class Ablation:
    """The prediction at every mask of ``text`` with ``heads`` ((layer, head), 1-based) switched off."""

    model_name: str
    text: str
    heads: tuple[Head, ...]
    masks: tuple[MaskAblation, ...]

    def to_dict(self) -> dict:
        """The JSON shape of ``python -m mlm_core ablate --json`` (mask ``index`` 0-based as in predict)."""
        return {
            "model": self.model_name,
            "text": self.text,
            "heads": [list(head) for head in self.heads],
            "masks": [
                {
                    "index": mask.index,
                    "intact": [word.to_dict() for word in mask.intact],
                    "ablated": [word.to_dict() for word in mask.ablated],
                }
                for mask in self.masks
            ],
        }

    @property
    def reading(self) -> str:
        """What the before-and-after table shows, in one sentence."""
        count = len(self.heads)
        return f"The top words with every head, and with {count} head{'s' if count > 1 else ''} off:"

    def frame(self) -> pd.DataFrame:
        """One row per (mask, word in either top list): mask (1-based), token, intact, ablated, change."""
        rows = [{"mask": mask.index + 1, **change} for mask in self.masks for change in mask.changes()]
        frame = pd.DataFrame(rows, columns=["mask", "token", "token_id", "intact", "ablated", "change"])
        return frame.drop(columns="token_id")


def ablate(mlm: MaskedLM, text: str, heads: Sequence[Sequence[int]] = (), *, top_k: int = 5) -> Ablation:
    """The top-``top_k`` words at every mask with ``heads`` switched off, beside the intact ones.

    The ablated pass always runs (one compiled call), so switching nothing off reproduces Predict."""
    check_params("ablate", locals(), ABLATE_PARAMS)
    check_ablatable(mlm)
    chosen = check_heads(heads, num_layers=mlm.num_layers, num_heads=mlm.num_heads)
    analysis = analyze(mlm, text, require_mask=True)
    mask = head_mask(chosen, num_layers=mlm.num_layers, num_heads=mlm.num_heads)
    ablated = mlm.forward([analysis.encoding.input_ids], [analysis.mask_positions], head_masks=mask[None]).log_probs[0]
    banned = special_ids(mlm)
    masks = []
    for index, position in enumerate(analysis.mask_positions):
        before, after = analysis.mask_log_probs[index], ablated[index]
        intact_words, ablated_words = (top_words(mlm, values, top_k, banned) for values in (before, after))
        shown = {word.token_id for word in intact_words + ablated_words}
        masks.append(
            MaskAblation(
                index,
                position,
                intact_words,
                ablated_words,
                {i: float(np.exp(before[i])) for i in shown},
                {i: float(np.exp(after[i])) for i in shown},
            )
        )
    return Ablation(mlm.name, text, chosen, tuple(masks))
