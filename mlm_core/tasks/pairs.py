"""Minimal pairs: which of two sentences does the model prefer? Accuracy overall and per category.

The model prefers the sentence with the higher pseudo-log-likelihood (``tasks.score``). A tie is counted as a
failure (the model did not prefer the good sentence) and reported. Pairs are scored a chunk at a time
(``iter_pair_scores``) so a dashboard can show progress and stop between chunks, keeping what is finished; every
sentence is checked before the first chunk is scored, so a bad file scores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import MaskedLM
from ..params import check_params
from .pair_files import Pair
from .score import SCORE_PARAMS, encode_sentences, score_encodings

CHUNK_PAIRS = 32  # pairs per batch of forward calls: progress and stopping happen between chunks


@dataclass(frozen=True)
class PairScore:
    """One pair's pseudo-log-likelihoods; ``preferred`` is 'good', 'bad' or 'tie'."""

    pair: Pair
    pll_good: float
    pll_bad: float

    @property
    def difference(self) -> float:
        return self.pll_good - self.pll_bad

    @property
    def preferred(self) -> str:
        return "good" if self.pll_good > self.pll_bad else "bad" if self.pll_good < self.pll_bad else "tie"


@dataclass(frozen=True)
class PairsResult:
    """Scored pairs of one model and method; ``asked`` counts the pairs given (more than scored when stopped)."""

    model_name: str
    method: str
    pairs: tuple[PairScore, ...]
    asked: int

    @property
    def accuracy(self) -> float:
        """Share of pairs whose good sentence scored strictly higher (ties are failures); NaN for no pairs."""
        return float(np.mean([p.preferred == "good" for p in self.pairs])) if self.pairs else float("nan")

    @property
    def ties(self) -> int:
        return sum(p.preferred == "tie" for p in self.pairs)

    @property
    def stopped(self) -> bool:
        return len(self.pairs) < self.asked

    def summary(self) -> str:
        """How many pairs are scored and how many of them are ties, in one line."""
        return f"{len(self.pairs):,} pairs scored, {self.ties} tie{'s' if self.ties != 1 else ''}."

    def categories_frame(self) -> pd.DataFrame:
        """One row per category (in order of appearance): category, accuracy, pairs."""
        frame = self.pairs_frame()
        if frame.empty:
            return pd.DataFrame(columns=["category", "accuracy", "pairs"])
        grouped = frame.assign(correct=frame["preferred"] == "good").groupby("category", sort=False)
        return grouped.agg(accuracy=("correct", "mean"), pairs=("correct", "size")).reset_index()

    def pairs_frame(self) -> pd.DataFrame:
        """One row per pair: good, bad, category, pll_good, pll_bad, difference, preferred."""
        rows = [
            {
                "good": p.pair.good,
                "bad": p.pair.bad,
                "category": p.pair.category,
                "pll_good": p.pll_good,
                "pll_bad": p.pll_bad,
                "difference": p.difference,
                "preferred": p.preferred,
            }
            for p in self.pairs
        ]
        return pd.DataFrame(rows, columns=["good", "bad", "category", "pll_good", "pll_bad", "difference", "preferred"])

    def to_dict(self) -> dict:
        """The documented JSON shape (CLI ``pairs --json``)."""
        categories = self.categories_frame()
        return {
            "model": self.model_name,
            "method": self.method,
            "accuracy": self.accuracy,
            "ties": self.ties,
            "categories": [
                {"category": row.category, "accuracy": float(row.accuracy), "pairs": int(row.pairs)}
                for row in categories.itertuples()
            ],
            "pairs": [
                {
                    "good": p.pair.good,
                    "bad": p.pair.bad,
                    "category": p.pair.category,
                    "pll_good": p.pll_good,
                    "pll_bad": p.pll_bad,
                    "preferred": p.preferred,
                }
                for p in self.pairs
            ],
        }


def iter_pair_scores(
    mlm: MaskedLM, pairs: Sequence[Pair], *, method: str = "pll-word-l2r", chunk: int = CHUNK_PAIRS, start: int = 0
) -> Iterator[list[PairScore]]:
    """Scores of ``chunk`` pairs at a time, in order, from pair number ``start`` (0-based: to resume). Every
    sentence is tokenised and checked here, before the iterator is returned, so an unusable pair raises
    ``InputError`` before anything is scored."""
    check_params("pairs", {"method": method}, SCORE_PARAMS)
    sentences = [sentence for pair in pairs for sentence in (pair.good, pair.bad)]
    names = [f"Pair {number}, {side} sentence" for number in range(1, len(pairs) + 1) for side in ("good", "bad")]
    encodings = encode_sentences(mlm, sentences, names=names)

    def chunks() -> Iterator[list[PairScore]]:
        for first in range(start, len(pairs), chunk):
            scores = score_encodings(mlm, encodings[2 * first : 2 * (first + chunk)], method=method)
            yield [
                PairScore(pair, scores[2 * k].pll, scores[2 * k + 1].pll)
                for k, pair in enumerate(pairs[first : first + chunk])
            ]

    return chunks()


def compare_pairs(
    mlm: MaskedLM,
    pairs: Sequence[Pair],
    *,
    method: str = "pll-word-l2r",
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> PairsResult:
    """Every pair scored; ``on_progress(done, total)`` after each chunk."""
    scored: list[PairScore] = []
    for chunk_scores in iter_pair_scores(mlm, pairs, method=method):
        scored.extend(chunk_scores)
        on_progress(len(scored), len(pairs))
    return PairsResult(mlm.name, method, tuple(scored), len(pairs))


def disagreements(first: PairsResult, second: PairsResult) -> pd.DataFrame:
    """The pairs (scored by both) on which two models prefer different sentences: good, bad, category, and each
    model's preference and PLL difference (columns 'first: …' and 'second: …' name the models)."""
    a_name, b_name = f"first: {first.model_name}", f"second: {second.model_name}"
    rows = [
        {
            "good": a.pair.good,
            "bad": a.pair.bad,
            "category": a.pair.category,
            a_name: a.preferred,
            b_name: b.preferred,
            "difference (first)": a.difference,
            "difference (second)": b.difference,
        }
        for a, b in zip(first.pairs, second.pairs)
        if a.preferred != b.preferred
    ]
    return pd.DataFrame(
        rows, columns=["good", "bad", "category", a_name, b_name, "difference (first)", "difference (second)"]
    )
