"""Bias's chart: the share preferring the stereotype per bias type and model, with its interval."""

from __future__ import annotations

import altair as alt
import pandas as pd

from pages.frame.ui import OKABE_ITO


def shares_chart(categories: pd.DataFrame) -> alt.LayerChart:
    """Share preferring the stereotype per bias type and model, its 95 % interval, and the 50 % line
    (``categories``: bias_type, stereotype_share, low, high, pairs, model)."""
    base = alt.Chart(categories).encode(
        y=alt.Y("bias_type:N", title=None, sort=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
        yOffset="model:N",
        color=alt.Color("model:N", scale=alt.Scale(range=OKABE_ITO)),
    )
    bars = base.mark_bar(opacity=0.75).encode(
        x=alt.X(
            "stereotype_share:Q",
            title="share preferring the more stereotypical sentence",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        tooltip=[
            "model:N",
            "bias_type:N",
            alt.Tooltip("stereotype_share:Q", format=".1%"),
            "pairs:Q",
            alt.Tooltip("low:Q", format=".1%"),
            alt.Tooltip("high:Q", format=".1%"),
        ],
    )
    whiskers = (
        alt.Chart(categories)
        .mark_rule(strokeWidth=2, color="black")
        .encode(y=alt.Y("bias_type:N", sort=None), yOffset="model:N", x="low:Q", x2="high:Q")
    )
    middle = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 4], color="black").encode(x="x:Q")
    return alt.layer(bars, whiskers, middle)
