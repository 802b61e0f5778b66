"""Benchmark rows for scoring — ``score/base-12w`` and ``pairs/demo-1000`` — against the eager loop.

``eager_pll`` is that loop: the published definitions (Salazar et al. 2020; Kauf & Ivanova 2023) written
plainly, masks built from the tokenizer itself, one eager model call per masked copy. The tests use it as the
independent reference for ``tasks.score``.
"""

from __future__ import annotations

import time

import numpy as np

from .bench import BenchContext, BenchResult, time_calls

SCORE_TEXT = "the old man sat on the bench in the small garden with his dog ."  # 12 words and a full stop
EAGER = "eager loop: one model call per masked copy"
PAIRS_SAMPLE = 25  # pairs the eager loop scores for the extrapolation


def eager_pll(mlm, text: str, method: str) -> dict[int, float]:
    """position → log P(token | the copy with it masked), for every non-special token of ``text``. With
    ``pll-word-l2r`` the pieces of the same word (same word id) to the right are masked too."""
    import tensorflow as tf

    tokenizer = mlm.tokenizer
    encoded = tokenizer(text)
    ids, word_ids = encoded["input_ids"], encoded.word_ids()
    special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    scores = {}
    for position, token_id in enumerate(ids):
        if special[position]:
            continue
        copy = list(ids)
        copy[position] = tokenizer.mask_token_id
        later = position + 1
        while method == "pll-word-l2r" and later < len(ids) and word_ids[later] is not None \
                and word_ids[later] == word_ids[position]:
            copy[later] = tokenizer.mask_token_id
            later += 1
        logits = mlm.model(input_ids=tf.constant([copy]), attention_mask=tf.ones((1, len(copy)), tf.int32),
                           training=False).logits[0, position].numpy().astype(np.float64)
        top = logits.max()
        scores[position] = float(logits[token_id] - top - np.log(np.exp(logits - top).sum()))
    return scores


def distinct_pairs(n: int):
    """``n`` different agreement pairs made from word lists (a benchmark needs many distinct sentences)."""
    from ..tasks.pair_files import Pair

    nouns = ["dog", "cat", "man", "woman", "child", "teacher", "farmer", "doctor", "bird", "horse", "student",
             "driver", "king", "girl", "boy", "friend"]
    places = ["house", "river", "school", "garden", "market", "station", "church", "bridge", "village", "road"]
    states = ["tired", "happy", "hungry", "late", "ready", "outside", "asleep", "here"]
    pairs = []
    for k in range(n):
        noun, place = nouns[k % len(nouns)], places[(k // len(nouns)) % len(places)]
        state = states[(k // (len(nouns) * len(places))) % len(states)]
        good_verb, bad_verb, subject = ("are", "is", noun + "s") if k % 2 else ("is", "are", noun)
        pairs.append(Pair(f"the {subject} near the {place} {good_verb} {state} today .",
                          f"the {subject} near the {place} {bad_verb} {state} today .", "agreement"))
    return pairs


def score_rows(ctx: BenchContext) -> list[BenchResult]:
    from ..catalog import DEMO_MODEL_DIR
    from ..loading import load_model
    from ..tasks.pairs import compare_pairs
    from ..tasks.score import score

    results = []
    if ctx.wants("score/base-12w"):
        mlm, _ = ctx.base
        ctx.progress("score/base-12w: ours...")
        ours = time_calls(lambda: score(mlm, [SCORE_TEXT]), max(5, ctx.repeats // 2), warmup=1)
        ctx.progress("score/base-12w: eager loop...")
        theirs = time_calls(lambda: eager_pll(mlm, SCORE_TEXT, "pll-word-l2r"), max(3, ctx.repeats // 5), warmup=1)
        results.append(BenchResult("score/base-12w", float(np.median(ours)), float(np.percentile(ours, 95)), EAGER,
                                   float(np.median(theirs)), float(np.median(theirs) / np.median(ours))))
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
        results.append(BenchResult("pairs/demo-1000", ours_ms, ours_ms,
                                   f"{EAGER} (timed on {PAIRS_SAMPLE} pairs, × {len(pairs) // PAIRS_SAMPLE})",
                                   theirs_ms, theirs_ms / ours_ms))
    return results
