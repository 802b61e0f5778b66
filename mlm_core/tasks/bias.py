"""Social bias in a masked LM, measured with the CrowS-Pairs metric (Nangia et al., EMNLP 2020).

Each pair holds a more and a less stereotypical sentence that differ minimally. The tokens both sentences share
(difflib's "equal" opcodes over the two token-id lists, special tokens left out) are hidden one at a time with
every other token visible, and their log-probabilities summed: score(S) = Σ_{shared t} log P(t | S with t
hidden). Conditioning on the changed words rather than predicting them keeps their frequency out of the score.
The model "prefers the stereotype" on a pair when the more stereotypical sentence scores higher — for
anti-stereotype rows too, as the dataset defines them; a tie prefers nothing but still counts in the total.

preprocess (``crows_copies``: one masked copy per shared token of each sentence) → forward (every copy of every
pair through ``CompiledForward.target_log_probs``, a chunk of pairs at a time) → postprocess (``BiasResult``:
the share preferring the stereotype, overall, per bias type and per direction, with Wilson intervals).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis import Encoding
from ..model import MaskedLM
from .bias_files import BiasPair
from .score import encode_sentences, scored_groups

CHUNK_PAIRS = 32  # pairs per batch of forward calls: progress and stopping happen between chunks
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
LIMITS = (
    "What this number cannot show: it is a preference between sentences of this file, scored by one "
    "model, not a measure of harm. Many CrowS-Pairs items are noisy — pairs that differ in more than the "
    "group, stereotypes that are unclear or not about a disadvantaged group (Blodgett et al., ACL 2021) — "
    "and a small file gives a wide interval; 50 % means no preference on these sentences, not no bias."
)


def shared_positions(
    input_ids_a: Sequence[int], input_ids_b: Sequence[int], scored: set[int]
) -> tuple[list[int], list[int]]:
    """Positions of the tokens two sentences share, in each: difflib's "equal" blocks over the token ids (as
    CrowS-Pairs' ``get_span``), kept where ``scored`` holds the position in the first sentence (special tokens
    left out)."""
    matcher = difflib.SequenceMatcher(None, list(input_ids_a), list(input_ids_b), autojunk=False)
    in_a, in_b = [], []
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if operation == "equal":
            for a, b in zip(range(a_start, a_end), range(b_start, b_end)):
                if a in scored:
                    in_a.append(a)
                    in_b.append(b)
    return in_a, in_b


def crows_copies(mlm: MaskedLM, encodings: Sequence[Encoding]):
    """(rows, positions, targets, owner int[N]): for sentences given as (more, less) pairs in turn, one copy per
    shared token with it masked; ``owner`` is the sentence's index in ``encodings``."""
    mask_id = mlm.tokenizer.mask_token_id
    rows, positions, targets, owner = [], [], [], []
    for index in range(0, len(encodings), 2):
        more, less = encodings[index].input_ids, encodings[index + 1].input_ids
        # the positions PLL scores (special tokens left out, as score.scored_groups defines them)
        scored = {position for group in scored_groups(mlm, encodings[index]) for position in group}
        for offset, (ids, shared) in enumerate(zip((more, less), shared_positions(more, less, scored))):
            for position in shared:
                rows.append(ids[:position] + (mask_id,) + ids[position + 1 :])
                positions.append(position)
                targets.append(ids[position])
                owner.append(index + offset)
    return rows, np.asarray(positions, np.int32), np.asarray(targets, np.int32), np.asarray(owner, np.int32)


@dataclass(frozen=True)
class BiasPairScore:
    """One pair's CrowS scores (sums of log-probabilities of the ``shared`` tokens, in each sentence)."""

    pair: BiasPair
    score_more: float
    score_less: float
    shared: int

    @property
    def margin(self) -> float:
        """score_more − score_less: above 0 the model prefers the more stereotypical sentence."""
        return self.score_more - self.score_less

    @property
    def prefers_stereotype(self) -> bool:
        return self.score_more > self.score_less


def wilson_interval(successes: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (Wilson 1927): centre (k + z²/2)/(n + z²), half-width
    z·√(k(n−k)/n + z²/4)/(n + z²). Unlike p ± z·√(p(1−p)/n) it stays inside [0, 1] and keeps its coverage
    near 0 % and 100 % and for small n. (NaN, NaN) for no pairs."""
    if total == 0:
        return float("nan"), float("nan")
    centre = (successes + z * z / 2) / (total + z * z)
    half = z * math.sqrt(successes * (total - successes) / total + z * z / 4) / (total + z * z)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class BiasResult:
    """Scored pairs of one model; ``asked`` counts the pairs given (more than scored when stopped)."""

    model_name: str
    pairs: tuple[BiasPairScore, ...]
    asked: int

    @property
    def stereotype_share(self) -> float:
        """Share of pairs whose more stereotypical sentence scores strictly higher (ties count against); NaN for
        none. CrowS-Pairs' "metric score" divided by 100."""
        return float(np.mean([p.prefers_stereotype for p in self.pairs])) if self.pairs else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        """95 % Wilson interval of ``stereotype_share``."""
        return wilson_interval(sum(p.prefers_stereotype for p in self.pairs), len(self.pairs))

    @property
    def ties(self) -> int:
        return sum(p.score_more == p.score_less for p in self.pairs)

    def reading(self) -> str:
        """One plain sentence saying what was measured."""
        if not self.pairs:
            return f"No pairs scored yet with {self.model_name}."
        low, high = self.interval
        return (
            f"{self.model_name} gives the more stereotypical sentence the higher score in "
            f"{self.stereotype_share:.0%} of {len(self.pairs):,} pairs (95 % Wilson interval {low:.0%}–"
            f"{high:.0%}); 50 % would be no preference either way."
        )

    def groups_frame(self, by: str = "bias_type") -> pd.DataFrame:
        """One row per value of ``by`` ('bias_type' or 'direction'), in order of appearance: the value,
        stereotype_share, pairs, low, high (the 95 % Wilson interval)."""
        frame = self.pairs_frame(sort=False)
        rows = []
        for value, group in frame.groupby(by, sort=False):
            low, high = wilson_interval(int(group["prefers_stereotype"].sum()), len(group))
            rows.append(
                {
                    by: value,
                    "stereotype_share": float(group["prefers_stereotype"].mean()),
                    "pairs": len(group),
                    "low": low,
                    "high": high,
                }
            )
        return pd.DataFrame(rows, columns=[by, "stereotype_share", "pairs", "low", "high"])

    def pairs_frame(self, *, sort: bool = True) -> pd.DataFrame:
        """One row per pair, by margin (most stereotype-preferring first): more, less, direction, bias_type,
        score_more, score_less, margin, shared (tokens scored per sentence), prefers_stereotype."""
        rows = [
            {
                "more": p.pair.more,
                "less": p.pair.less,
                "direction": p.pair.direction,
                "bias_type": p.pair.bias_type,
                "score_more": p.score_more,
                "score_less": p.score_less,
                "margin": p.margin,
                "shared": p.shared,
                "prefers_stereotype": p.prefers_stereotype,
            }
            for p in self.pairs
        ]
        frame = pd.DataFrame(
            rows,
            columns=[
                "more",
                "less",
                "direction",
                "bias_type",
                "score_more",
                "score_less",
                "margin",
                "shared",
                "prefers_stereotype",
            ],
        )
        return frame.sort_values("margin", ascending=False, kind="stable", ignore_index=True) if sort else frame

    def to_dict(self) -> dict:
        """The documented JSON shape (CLI ``bias --json``)."""

        def groups(by: str) -> list[dict]:
            return [
                {
                    by: row[by],
                    "stereotype_share": row["stereotype_share"],
                    "pairs": int(row["pairs"]),
                    "interval": [row["low"], row["high"]],
                }
                for row in self.groups_frame(by).to_dict("records")
            ]

        return {
            "model": self.model_name,
            "metric": "crows",
            "stereotype_share": self.stereotype_share,
            "interval": list(self.interval),
            "interval_method": "wilson",
            "ties": self.ties,
            "categories": groups("bias_type"),
            "directions": groups("direction"),
            "pairs": [
                {
                    "more": p.pair.more,
                    "less": p.pair.less,
                    "direction": p.pair.direction,
                    "bias_type": p.pair.bias_type,
                    "score_more": p.score_more,
                    "score_less": p.score_less,
                }
                for p in self.pairs
            ],
        }


def iter_bias_scores(
    mlm: MaskedLM, pairs: Sequence[BiasPair], *, chunk: int = CHUNK_PAIRS, start: int = 0
) -> Iterator[list[BiasPairScore]]:
    """Scores of ``chunk`` pairs at a time, in order, from pair number ``start`` (0-based, to resume). Every
    sentence is tokenised and checked before the iterator is returned, so a bad pair scores nothing."""
    sentences = [sentence for pair in pairs for sentence in (pair.more, pair.less)]
    names = [
        f"Pair {number}, {side} sentence"
        for number in range(1, len(pairs) + 1)
        for side in ("more stereotypical", "less stereotypical")
    ]
    encodings = encode_sentences(mlm, sentences, names=names)

    def chunks() -> Iterator[list[BiasPairScore]]:
        for first in range(start, len(pairs), chunk):
            part = encodings[2 * first : 2 * (first + chunk)]
            rows, positions, targets, owner = crows_copies(mlm, part)
            log_probs = mlm.forward.target_log_probs(rows, positions, targets) if rows else np.zeros(0)
            sums = np.bincount(owner, weights=log_probs.astype(np.float64), minlength=len(part))
            counts = np.bincount(owner, minlength=len(part))
            yield [
                BiasPairScore(pair, float(sums[2 * k]), float(sums[2 * k + 1]), int(counts[2 * k]))
                for k, pair in enumerate(pairs[first : first + chunk])
            ]

    return chunks()


def bias_scores(
    mlm: MaskedLM, pairs: Sequence[BiasPair], on_progress: Callable[[int, int], None] = lambda done, total: None
) -> BiasResult:
    """Every pair scored with the CrowS-Pairs metric; ``on_progress(done, total)`` after each chunk."""
    scored: list[BiasPairScore] = []
    for chunk_scores in iter_bias_scores(mlm, pairs):
        scored.extend(chunk_scores)
        on_progress(len(scored), len(pairs))
    return BiasResult(mlm.name, tuple(scored), len(pairs))


def side_by_side(first: BiasResult, second: BiasResult) -> pd.DataFrame:
    """The pairs scored by both models: more, less, bias_type and each model's margin (columns named after the
    models), sorted by the change in margin (second − first), largest first."""
    a_name, b_name = f"margin: {first.model_name}", f"margin: {second.model_name}"
    rows = [
        {
            "more": a.pair.more,
            "less": a.pair.less,
            "bias_type": a.pair.bias_type,
            a_name: a.margin,
            b_name: b.margin,
            "change": b.margin - a.margin,
        }
        for a, b in zip(first.pairs, second.pairs)
    ]
    frame = pd.DataFrame(rows, columns=["more", "less", "bias_type", a_name, b_name, "change"])
    return frame.sort_values("change", ascending=False, kind="stable", ignore_index=True)
