"""The Predict page's charts: the top words as bars, the top words with the chosen ones, and chosen words across
sentence variants; and the split-word mark they share with its tables.

Everything here reads the core's frames; nothing is computed again.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from pages.frame.ui import OKABE_ITO

SPLIT_MARK = "✂"


def _bars_by(order: str) -> dict:
    """The x and y of a word-probability bar chart, words listed by ``order``."""
    return {
        "x": alt.X("probability:Q", title="Probability", axis=alt.Axis(format="%")),
        "y": alt.Y(
            "token:N",
            sort=alt.EncodingSortField(order, order="ascending"),
            title=None,
            axis=alt.Axis(labelOverlap=False, labelLimit=160),
        ),
    }


def probability_chart(frame: pd.DataFrame) -> alt.Chart:
    """``frame``: one mask's rows of ``Prediction.candidates_frame()``, as bars by rank."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            **_bars_by("rank"),
            tooltip=["rank:Q", "token:N", alt.Tooltip("probability:Q", format=".2%"), "sentence:N"],
        )
        .properties(height=alt.Step(26))
    )


def marked_words(frame: pd.DataFrame) -> pd.DataFrame:
    """The words frame with a split word's name marked, for display."""
    return frame.assign(
        word=[f"{word} {SPLIT_MARK}" if split else word for word, split in zip(frame["word"], frame["split"])]
    )


def top_and_words_chart(candidates: pd.DataFrame, words: pd.DataFrame) -> alt.Chart:
    """The top-k and the chosen words as bars of one chart (probability), coloured by which they are."""
    frame = pd.concat(
        [
            candidates.assign(kind="top words")[["token", "probability", "kind"]],
            marked_words(words)
            .rename(columns={"word": "token"})
            .assign(kind="your words")[["token", "probability", "kind"]],
        ],
        ignore_index=True,
    )
    frame = frame.drop_duplicates("token", keep="first").assign(order=range(len(frame.drop_duplicates("token"))))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            **_bars_by("order"),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=["top words", "your words"], range=[OKABE_ITO[0], OKABE_ITO[1]]),
            ),
            tooltip=["token:N", "kind:N", alt.Tooltip("probability:Q", format=".3g")],
        )
        .properties(height=alt.Step(22))
    )


def variants_chart(words: pd.DataFrame) -> alt.Chart:
    """Chosen words × variants, grouped bars of log-probability (closer to 0 = more likely)."""
    return (
        alt.Chart(marked_words(words))
        .mark_bar()
        .encode(
            y=alt.Y("word:N", title=None, sort=None),
            yOffset="variant:N",
            x=alt.X("log_prob:Q", title="log-probability (closer to 0 = more likely)"),
            color=alt.Color("variant:N", scale=alt.Scale(range=OKABE_ITO)),
            tooltip=[
                "word:N",
                "variant:N",
                alt.Tooltip("probability:Q", format=".3g"),
                alt.Tooltip("log_prob:Q", format=".3f"),
                "pieces:N",
            ],
        )
        .properties(height=alt.Step(14))
    )
