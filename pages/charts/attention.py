"""The Attention page's heatmap of one head (or a layer's average) and the same numbers as a table.

Everything here reads the core's frames; nothing is computed again.
"""

from __future__ import annotations

import altair as alt
import pandas as pd


def matrix_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per token, one column per token it looks at (the heatmap's numbers)."""
    frame = frame.assign(
        token=frame["query_position"].astype(str) + " " + frame["query_token"],
        key=frame["key_position"].astype(str) + " " + frame["key_token"],
    )
    order = list(dict.fromkeys(frame["key"]))
    return frame.pivot(index="token", columns="key", values="weight").loc[order, order].round(3).reset_index()


def heatmap(frame: pd.DataFrame, title: str) -> alt.Chart:
    """One head's ``matrix_frame``: queries as rows, keys as columns, weight as colour on a fixed 0–1 scale."""
    frame = frame.assign(
        query=frame["query_position"].astype(str) + " " + frame["query_token"],
        key=frame["key_position"].astype(str) + " " + frame["key_token"],
    )
    order = list(dict.fromkeys(frame["key"]))
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X("key:O", sort=order, title="looks at (key)", axis=alt.Axis(labelAngle=-60)),
            y=alt.Y("query:O", sort=order, title="token (query)"),
            color=alt.Color("weight:Q", scale=alt.Scale(scheme="viridis", domain=[0, 1]), title="weight"),
            tooltip=["query_token:N", "key_token:N", alt.Tooltip("weight:Q", format=".3f")],
        )
        .properties(height=alt.Step(max(10, min(28, 600 // len(order)))))
    )
