"""Score's charts: each word piece's log-probability per sentence, and accuracy per category of a pair suite."""

from __future__ import annotations

import difflib

import altair as alt
import pandas as pd

from mlm_core.tasks.score import ScoreResult
from pages.frame.ui import OKABE_ITO


def differing_words(words: list[str], reference: list[str]) -> set[int]:
    """Indices of ``words`` that are not matched in ``reference`` (where two sentences differ)."""
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in reference], b=[w.lower() for w in words], autojunk=False)
    kept = {j for block in matcher.get_matching_blocks() for j in range(block.b, block.b + block.size)}
    return set(range(len(words))) - kept


def tokens_chart(result: ScoreResult, title: str) -> alt.Chart:
    """One bar per scored word piece, a row per sentence; pieces of words that differ from the first other
    sentence are coloured apart."""
    frame = result.tokens_frame()
    words = [[t.word for t in sentence.tokens] for sentence in result.sentences]
    changed = []
    for k, sentence_words in enumerate(words):
        others = [w for j, w in enumerate(words) if j != k]
        different = differing_words(sentence_words, others[0]) if others else set()
        changed += [index in different for index in range(len(sentence_words))]
    frame = frame.assign(
        label=frame["position"].astype(str) + " " + frame["token"],
        differs=["differs" if flag else "same" for flag in changed],
    )
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X("log_prob:Q", title="log-probability (closer to 0 = more expected)"),
            y=alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=160)),
            color=alt.Color(
                "differs:N",
                title="word",
                scale=alt.Scale(domain=["same", "differs"], range=[OKABE_ITO[4], OKABE_ITO[5]]),
            ),
            row=alt.Row("sentence:O", title=None, header=alt.Header(labelExpr="'sentence ' + datum.value")),
            tooltip=["sentence:O", "token:N", "word:N", alt.Tooltip("log_prob:Q", format=".3f")],
        )
        .resolve_scale(y="independent")
        .properties(height=alt.Step(20), width=480)
    )


def categories_chart(categories: pd.DataFrame) -> alt.Chart:
    """Accuracy per category, a bar per model (``categories``: category, accuracy, pairs, model)."""
    return (
        alt.Chart(categories, title="Accuracy per category")
        .mark_bar()
        .encode(
            x=alt.X("accuracy:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("category:N", title=None),
            yOffset="model:N",
            color=alt.Color("model:N", scale=alt.Scale(range=OKABE_ITO)),
            tooltip=["model:N", "category:N", alt.Tooltip("accuracy:Q", format=".1%"), "pairs:Q"],
        )
    )
