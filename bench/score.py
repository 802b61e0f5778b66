"""Benchmark rows for scoring — ``score/base-12w`` and ``pairs/demo-1000`` — against the eager loop.

That loop is ``eager_pll`` of ``tests/references.py``: the published definitions (Salazar et al. 2020; Kauf &
Ivanova 2023) written plainly, one eager model call per masked copy — the tests' reference for ``tasks.score``.
"""

from __future__ import annotations

import time

import numpy as np

from tests.references import eager_pll

from .rows import BenchContext, BenchResult, time_calls

SCORE_TEXT = "the old man sat on the bench in the small garden with his dog ."  # 12 words and a full stop
EAGER = "eager loop: one model call per masked copy"
PAIRS_SAMPLE = 25  # pairs the eager loop scores for the extrapolation


def distinct_pairs(n: int):
    """``n`` different agreement pairs made from word lists (a benchmark needs many distinct sentences)."""
    from mlm_core.tasks.pair_files import Pair

    nouns = [
        "dog",
        "cat",
        "man",
        "woman",
        "child",
        "teacher",
        "farmer",
        "doctor",
        "bird",
        "horse",
        "student",
        "driver",
        "king",
        "girl",
        "boy",
        "friend",
    ]
    places = ["house", "river", "school", "garden", "market", "station", "church", "bridge", "village", "road"]
    states = ["tired", "happy", "hungry", "late", "ready", "outside", "asleep", "here"]
    pairs = []
    for k in range(n):
        noun, place = nouns[k % len(nouns)], places[(k // len(nouns)) % len(places)]
        state = states[(k // (len(nouns) * len(places))) % len(states)]
        good_verb, bad_verb, subject = ("are", "is", noun + "s") if k % 2 else ("is", "are", noun)
        pairs.append(
            Pair(
                f"the {subject} near the {place} {good_verb} {state} today .",
                f"the {subject} near the {place} {bad_verb} {state} today .",
                "agreement",
            )
        )
    return pairs


def score_rows(ctx: BenchContext) -> list[BenchResult]:
    from mlm_core.catalog import DEMO_MODEL_DIR
    from mlm_core.loading import load_model
    from mlm_core.tasks.pairs import compare_pairs
    from mlm_core.tasks.score import score

    results = []
    if ctx.wants("score/base-12w"):
        mlm, _ = ctx.base
        ctx.progress("score/base-12w: ours...")
        ours = time_calls(lambda: score(mlm, [SCORE_TEXT]), max(5, ctx.repeats // 2), warmup=1)
        ctx.progress("score/base-12w: eager loop...")
        theirs = time_calls(lambda: eager_pll(mlm, SCORE_TEXT, "pll-word-l2r"), max(3, ctx.repeats // 5), warmup=1)
        results.append(
            BenchResult(
                "score/base-12w",
                float(np.median(ours)),
                float(np.percentile(ours, 95)),
                EAGER,
                float(np.median(theirs)),
                float(np.median(theirs) / np.median(ours)),
            )
        )
    if ctx.wants("pairs/demo-1000") and DEMO_MODEL_DIR.is_dir():
        demo = load_model("demo")
        pairs = distinct_pairs(1000)
        assert len({pair.good for pair in pairs}) == 1000
        ctx.progress("pairs/demo-1000: ours (one warm-up run on 64 pairs first)...")
        compare_pairs(demo, pairs[:64])
        started = time.perf_counter()
        compare_pairs(demo, pairs)
        ours_ms = (time.perf_counter() - started) * 1000
        ctx.progress(f"pairs/demo-1000: eager loop on {PAIRS_SAMPLE} pairs, extrapolated...")
        eager_pll(demo, pairs[0].good, "pll-word-l2r")  # eager warm-up
        started = time.perf_counter()
        for pair in pairs[:PAIRS_SAMPLE]:
            eager_pll(demo, pair.good, "pll-word-l2r")
            eager_pll(demo, pair.bad, "pll-word-l2r")
        theirs_ms = (time.perf_counter() - started) * 1000 * len(pairs) / PAIRS_SAMPLE
        results.append(
            BenchResult(
                "pairs/demo-1000",
                ours_ms,
                ours_ms,
                f"{EAGER} (timed on {PAIRS_SAMPLE} pairs, × {len(pairs) // PAIRS_SAMPLE})",
                theirs_ms,
                theirs_ms / ours_ms,
            )
        )
    return results
