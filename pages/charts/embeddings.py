"""The Embeddings page's charts: the 2-D points with the followed word and its neighbours labelled, and how
alike the word's occurrences are layer by layer.

Everything here reads the core's frames; nothing is computed again.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from pages.frame.ui import OKABE_ITO


def scatter(points: pd.DataFrame, title: str, ranges=None) -> alt.LayerChart:
    """Every point coloured and shaped by sentence; only the followed word (bold) and its neighbours labelled,
    every point's word in its tooltip; opening on ``ranges`` (x, y) when given."""
    x_scale, y_scale = (
        (alt.Scale(padding=40), alt.Scale(padding=20))
        if ranges is None
        else (
            alt.Scale(domain=list(ranges[0]), nice=False, zero=False),
            alt.Scale(domain=list(ranges[1]), nice=False, zero=False),
        )
    )
    base = alt.Chart(
        points.assign(sentence_label="sentence " + (points["sentence"] + 1).astype(str)), title=title
    ).encode(
        x=alt.X("x:Q", title=None, axis=alt.Axis(labels=False, ticks=False), scale=x_scale),
        y=alt.Y("y:Q", title=None, axis=alt.Axis(labels=False, ticks=False), scale=y_scale),
        color=alt.Color("sentence_label:N", title="sentence", scale=alt.Scale(range=OKABE_ITO)),
        shape=alt.Shape("sentence_label:N", title="sentence"),  # not colour alone
        tooltip=["token:N", "sentence_label:N", "layer:Q", "position:Q"],
    )
    word = "datum.role == 'word'"
    dots = base.mark_point(filled=True, clip=True).encode(
        size=alt.condition(word, alt.value(260), alt.value(60)),
        opacity=alt.condition(word, alt.value(1.0), alt.value(0.7)),
    )
    neighbours = (
        base.mark_text(align="left", dx=7, dy=-4, fontSize=12, clip=True)
        .encode(text="token:N")
        .transform_filter("datum.role == 'neighbour'")
    )
    followed = (
        base.mark_text(align="left", dx=9, dy=-6, fontSize=14, fontWeight="bold", clip=True)
        .encode(text="token:N")
        .transform_filter(word)
    )
    return (dots + neighbours + followed).properties(height=520).interactive()


def similarity_chart(pairs: pd.DataFrame) -> alt.Chart:
    """``pairs``: ``word_similarity``'s rows with a ``pair`` name; one line of cosine similarity per pair."""
    return (
        alt.Chart(pairs, title="Cosine similarity by layer")
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O"),
            y=alt.Y("cosine:Q", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "pair:N", scale=alt.Scale(range=OKABE_ITO), legend=alt.Legend(orient="right", labelLimit=260)
            ),
            tooltip=["pair:N", "layer:O", alt.Tooltip("cosine:Q", format=".3f")],
        )
        .properties(height=320)
    )
