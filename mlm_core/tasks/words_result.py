"""What ``tasks.words.predict_words`` returns: chosen words' scores beside each sentence variant's prediction, with
the JSON shape of the CLI's ``predict --words`` and the tables of the Predict page."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .predict import Prediction


@dataclass(frozen=True)
class WordScore:
    """One chosen word at one mask: its ``pieces`` (tokens, with their ids), log P of each piece given the earlier
    ones (left to right), and ``rank`` (1 = the top word, special tokens left out) for a one-piece word, else None."""

    word: str
    pieces: tuple[str, ...]
    piece_ids: tuple[int, ...]
    piece_log_probs: tuple[float, ...]
    rank: int | None

    @property
    def log_prob(self) -> float:
        return float(sum(self.piece_log_probs))

    @property
    def probability(self) -> float:
        return float(np.exp(self.log_prob))

    @property
    def split(self) -> bool:
        """True when the vocabulary has no single token for the word (its probability is a product of pieces')."""
        return len(self.pieces) > 1

    def to_dict(self) -> dict:
        return {
            "word": self.word,
            "pieces": list(self.pieces),
            "log_prob": self.log_prob,
            "probability": self.probability,
            "rank": self.rank,
        }


@dataclass(frozen=True)
class VariantWords:
    """One sentence variant (``fill``: the brace choices; empty without braces): its prediction and the chosen
    words' scores, ``words[mask][word]``."""

    fill: tuple[str, ...]
    prediction: Prediction
    words: tuple[tuple[WordScore, ...], ...]

    def masks_dicts(self) -> list[dict]:
        """The prediction's masks as ``Prediction.to_dict`` writes them, each with its ``words``."""
        masks = self.prediction.to_dict()["masks"]
        for mask, scores in zip(masks, self.words):
            mask["words"] = [score.to_dict() for score in scores]
        return masks


@dataclass(frozen=True)
class WordsPrediction:
    """A text's prediction with the chosen ``words`` at every mask, once per sentence variant (one variant with an
    empty ``fill`` when the text has no braces)."""

    model_name: str
    text: str
    words: tuple[str, ...]
    variants: tuple[VariantWords, ...]

    @property
    def has_variants(self) -> bool:
        return any(variant.fill for variant in self.variants)

    @property
    def variants_reading(self) -> str:
        """What the variants view shows, in one sentence."""
        return (
            f"{len(self.variants)} sentence variants, each predicted on its own; the first is the reference "
            "for the ratios."
        )

    @property
    def ratio_reading(self) -> str:
        """What the ratio column means, naming the first variant's fill."""
        return (
            f"Ratio: the word's probability in this variant divided by its probability in the first "
            f"variant ({' / '.join(self.variants[0].fill)})."
        )

    def to_dict(self) -> dict:
        """``Prediction.to_dict`` with ``words`` in each mask; with braces ``{"model", "text", "variants": [{"fill",
        "text", "masks"}]}`` instead (no joint fillings for variants)."""
        if not self.has_variants:
            data = self.variants[0].prediction.to_dict()
            data["masks"] = self.variants[0].masks_dicts()
            return data
        return {
            "model": self.model_name,
            "text": self.text,
            "variants": [
                {"fill": list(variant.fill), "text": variant.prediction.text, "masks": variant.masks_dicts()}
                for variant in self.variants
            ],
        }

    def _label(self, variant: VariantWords) -> dict:
        return {"variant": " / ".join(variant.fill)} if self.has_variants else {}

    def candidates_frame(self) -> pd.DataFrame:
        """One row per (variant, mask, rank): [variant,] mask, rank, token, probability, sentence."""
        frames = [variant.prediction.candidates_frame().assign(**self._label(variant)) for variant in self.variants]
        frame = pd.concat(frames, ignore_index=True)
        return frame[self._columns(["mask", "rank", "token", "probability", "sentence"])]

    def words_frame(self) -> pd.DataFrame:
        """One row per (variant, mask, word): [variant,] mask (1-based), word, pieces (space-separated), split,
        log_prob, probability, rank (empty for a word of several pieces)."""
        rows = [
            {
                **self._label(variant),
                "mask": k + 1,
                "word": score.word,
                "pieces": " ".join(score.pieces),
                "split": score.split,
                "log_prob": score.log_prob,
                "probability": score.probability,
                "rank": score.rank,
            }
            for variant in self.variants
            for k, scores in enumerate(variant.words)
            for score in scores
        ]
        columns = self._columns(["mask", "word", "pieces", "split", "log_prob", "probability", "rank"])
        return pd.DataFrame(rows, columns=columns).astype({"rank": "Int64"})

    def ratios_frame(self) -> pd.DataFrame:
        """With variants: ``words_frame`` plus ratio = the word's probability in this variant / in the first
        variant at the same mask, and log_ratio its natural log."""
        frame = self.words_frame()
        if not self.has_variants:
            return frame.assign(ratio=pd.Series(dtype=float), log_ratio=pd.Series(dtype=float))
        first = frame.groupby(["mask", "word"], sort=False)["log_prob"].transform("first")
        return frame.assign(ratio=np.exp(frame["log_prob"] - first), log_ratio=frame["log_prob"] - first)

    def _columns(self, columns: list[str]) -> list[str]:
        return (["variant"] if self.has_variants else []) + columns
