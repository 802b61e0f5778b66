"""Trace's result: the layer × position (and layer × head) grids of patching effects, as frames, JSON and a plain
reading of where the effect sits. ``trace.trace`` computes it.

m = log P(target) − log P(contrast) at the mask (log P(target) alone without a contrast); a cell's effect =
(m_patched − m_corrupt) / (m_clean − m_corrupt): 0 = the copied state changes nothing, 1 = it restores the clean
prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Trace:
    """Effects of copying clean states into the corrupted run. ``tokens``: the corrupted text's T tokens
    (``clean_tokens`` the clean text's); ``layer_effects`` float[L+1, T] (row 0 = embeddings, row l = layer l's
    output); ``head_effects`` float[L, H] (row = layer 1…L, column = head 1…H) or None; ``clean_value`` and
    ``corrupt_value`` are m of the two runs."""

    model_name: str
    clean: str
    corrupt: str
    tokens: tuple[str, ...]
    mask_position: int
    target: str
    contrast: str | None
    clean_value: float
    corrupt_value: float
    layer_effects: np.ndarray
    head_effects: np.ndarray | None = None
    clean_tokens: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The JSON of ``python -m mlm_core trace --json`` (layer 0 = embeddings; heads 1-based)."""
        result = {
            "model": self.model_name,
            "clean": self.clean,
            "corrupt": self.corrupt,
            "target": self.target,
            "contrast": self.contrast,
            "clean_value": self.clean_value,
            "corrupt_value": self.corrupt_value,
            "tokens": list(self.tokens),
            "layers": [
                {"layer": layer, "effects": [float(x) for x in row]} for layer, row in enumerate(self.layer_effects)
            ],
        }
        if self.head_effects is not None:
            result["heads"] = [
                {"layer": layer + 1, "head": head + 1, "effect": float(effect)}
                for (layer, head), effect in np.ndenumerate(self.head_effects)
            ]
        return result

    def metric_label(self) -> str:
        return f"log P({self.target})" + (f" − log P({self.contrast})" if self.contrast else "")

    def values_line(self) -> str:
        """One sentence (Markdown): the metric at the mask in both texts, and what an effect of 1, 0 or below means."""
        return (
            f"{self.metric_label()} at the mask: **{self.clean_value:.3f}** in the clean text, "
            f"**{self.corrupt_value:.3f}** in the corrupted one. Effect = how much of that difference one copied "
            "state restores: 1 = all of it, 0 = none, negative = it moves the other way."
        )

    def layers_frame(self) -> pd.DataFrame:
        """One row per (layer, position): layer, position, token (position-prefixed, unique), effect."""
        n_layers, n_tokens = self.layer_effects.shape
        return pd.DataFrame(
            {
                "layer": np.repeat(np.arange(n_layers), n_tokens),
                "position": np.tile(np.arange(n_tokens), n_layers),
                "token": [f"{i} {token}" for i, token in enumerate(self.tokens)] * n_layers,
                "effect": self.layer_effects.ravel(),
            }
        )

    def heads_frame(self) -> pd.DataFrame | None:
        if self.head_effects is None:
            return None
        return pd.DataFrame(
            [
                {"layer": layer + 1, "head": head + 1, "effect": float(effect)}
                for (layer, head), effect in np.ndenumerate(self.head_effects)
            ]
        )

    def _token(self, position: int) -> str:
        clean = self.clean_tokens[position] if self.clean_tokens else self.tokens[position]
        if clean == self.tokens[position]:
            return f"'{clean}' (position {position})"
        return f"'{clean}' / '{self.tokens[position]}' (clean / corrupted, position {position})"

    def reading(self) -> str:
        """Plain sentences: which token's state carries the difference at which layers, and the strongest heads."""
        best = self.layer_effects.argmax(axis=1)
        runs: list[list[int]] = []  # consecutive layers whose strongest position is the same and matters
        for layer, position in enumerate(best):
            if self.layer_effects[layer, position] < 0.2:
                continue
            if runs and runs[-1][0] == position and runs[-1][2] == layer - 1:
                runs[-1][2] = layer
            else:
                runs.append([int(position), layer, layer])
        if not runs:
            return (
                "No single hidden state restores even a fifth of the difference: the information is spread "
                "over several positions (copy several states together to find it)."
            )
        parts = [
            f"on {self._token(position)} in "
            f"{_span(first, last)} (effect up to {self.layer_effects[first : last + 1, position].max():.2f})"
            for position, first, last in runs
        ]
        text = f"The difference in {self.metric_label()} sits " + "; then ".join(parts) + "."
        if self.head_effects is not None:
            order = np.argsort(-self.head_effects.ravel())[:3]
            heads = [
                f"{index // self.head_effects.shape[1] + 1}.{index % self.head_effects.shape[1] + 1} "
                f"({self.head_effects.ravel()[index]:.2f})"
                for index in order
            ]
            text += " Heads whose output restores most of it (layer.head): " + ", ".join(heads) + "."
        return text


def _span(first: int, last: int) -> str:
    if first == last:
        return "the embeddings" if first == 0 else f"layer {first}"
    return f"the embeddings to layer {last}" if first == 0 else f"layers {first}–{last}"
