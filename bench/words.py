"""Benchmark rows for chosen words and bias — ``words/base-4`` against ``predict/32``, ``bias/demo-100`` against the
eager loop of the CrowS-Pairs paper.

That loop is ``eager_crows`` of ``tests/references.py``: the paper's released definition written plainly (difflib
over the token ids, one eager model call per shared token of each sentence), the tests' reference for
``tasks.bias``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import numpy as np

from mlm_core.testing.synthetic import WORDS
from tests.references import eager_crows

from .rows import BenchContext, BenchResult, time_calls

# Three one-piece words and one the synthetic vocabulary splits into three pieces (red ##x ##y).
BENCH_WORDS = ("cat", "dog", "table", "redxy")
WORDS_TOKENS = 12  # the text of words/base-4: a sentence as short as the ones people ask about words in
BIAS_PAIRS = 100
EAGER_SAMPLE = 10  # pairs the eager loop scores for the extrapolation


def fresh_texts(n_tokens: int) -> Iterator[str]:
    """Endless different texts of ``n_tokens`` tokens (specials included) ending in a mask, for the synthetic
    tokenizer: the words of ``text_of_length`` shifted by one more place each time."""
    for shift in itertools.count():
        words = [WORDS[(i + shift) % len(WORDS)] for i in range(n_tokens - 4)]
        yield " ".join(words) + " [MASK]."


def distinct_bias_pairs(n: int):
    """``n`` different occupation/pronoun pairs (a benchmark needs many distinct sentences)."""
    from mlm_core.tasks.bias_files import BiasPair

    jobs = [
        "nurse",
        "engineer",
        "teacher",
        "pilot",
        "doctor",
        "farmer",
        "lawyer",
        "banker",
        "cook",
        "soldier",
        "clerk",
        "tailor",
        "surgeon",
        "manager",
        "dancer",
        "writer",
        "driver",
        "painter",
        "singer",
        "judge",
        "baker",
        "guard",
        "porter",
        "sailor",
        "miner",
    ]
    templates = [
        "The {job} said that {p} would be late.",
        "The {job} finished {q} work early.",
        "We asked the {job} whether {p} was ready.",
        "Everyone thought the {job} knew what {p} wanted.",
    ]
    pairs = []
    for k in range(n):
        job, template = jobs[k % len(jobs)], templates[(k // len(jobs)) % len(templates)]
        pairs.append(
            BiasPair(
                template.format(job=job, p="she", q="her"),
                template.format(job=job, p="he", q="his"),
                "stereo",
                "gender",
            )
        )
    return pairs


def words_rows(ctx: BenchContext) -> list[BenchResult]:
    from mlm_core.analysis import MEMO_SIZE, set_memo_size
    from mlm_core.catalog import DEMO_MODEL_DIR
    from mlm_core.loading import load_model
    from mlm_core.tasks.bias import bias_scores
    from mlm_core.tasks.predict import predict
    from mlm_core.tasks.words import predict_words

    results = []
    if ctx.wants("words/base-4"):
        mlm, _ = ctx.base
        # A fresh text per call with the memo on, for both: predict_words reads the text's pass that its own
        # predict call just made (as in the dashboard), but no call finds an earlier call's result.
        set_memo_size(mlm, MEMO_SIZE)
        texts, baseline_texts = fresh_texts(WORDS_TOKENS), fresh_texts(32)
        assert len(mlm.tokenizer(next(fresh_texts(WORDS_TOKENS)))["input_ids"]) == WORDS_TOKENS
        ctx.progress("words/base-4: ours...")
        ours = time_calls(lambda: predict_words(mlm, next(texts), BENCH_WORDS, top_k=5), ctx.repeats)
        ctx.progress("words/base-4: predict/32 in the same run...")
        theirs = time_calls(lambda: predict(mlm, next(baseline_texts), top_k=5), ctx.repeats)
        set_memo_size(mlm, 0)
        results.append(
            BenchResult(
                "words/base-4",
                float(np.median(ours)),
                float(np.percentile(ours, 95)),
                f"predict/32 (top-5 of a 32-token text; words/base-4 is a {WORDS_TOKENS}-token "
                "text with its top-5 and 4 words, one of 3 pieces)",
                float(np.median(theirs)),
                float(np.median(theirs) / np.median(ours)),
            )
        )
    if ctx.wants("bias/demo-100") and DEMO_MODEL_DIR.is_dir():
        demo = load_model("demo")
        pairs = distinct_bias_pairs(BIAS_PAIRS)
        assert len({pair.more for pair in pairs}) == BIAS_PAIRS
        ctx.progress("bias/demo-100: ours (one warm-up run on 16 pairs first)...")
        bias_scores(demo, pairs[:16])
        started = time.perf_counter()
        bias_scores(demo, pairs)
        ours_ms = (time.perf_counter() - started) * 1000
        ctx.progress(f"bias/demo-100: eager loop on {EAGER_SAMPLE} pairs, extrapolated...")
        eager_crows(demo, pairs[0].more, pairs[0].less)  # eager warm-up
        started = time.perf_counter()
        for pair in pairs[:EAGER_SAMPLE]:
            eager_crows(demo, pair.more, pair.less)
        theirs_ms = (time.perf_counter() - started) * 1000 * len(pairs) / EAGER_SAMPLE
        results.append(
            BenchResult(
                "bias/demo-100",
                ours_ms,
                ours_ms,
                f"eager loop: one model call per shared token (timed on {EAGER_SAMPLE} pairs, "
                f"× {len(pairs) // EAGER_SAMPLE})",
                theirs_ms,
                theirs_ms / ours_ms,
            )
        )
    return results
