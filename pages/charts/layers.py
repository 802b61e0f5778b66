"""The Layers page's charts: the lens heatmap, a followed word's lines, the head scan, rollout.

Everything here reads the core's frames; nothing is computed again.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from pages.frame.ui import OKABE_ITO


def lens_chart(frame: pd.DataFrame):
    base = alt.Chart(frame).encode(
        x=alt.X("rank:O", title="rank at that layer", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("layer:O", title="layer (0 = embeddings)", sort="descending"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("probability:Q", scale=alt.Scale(scheme="blues"), title="probability"),
        tooltip=["layer:O", "rank:O", "token:N", alt.Tooltip("probability:Q", format=".3f")],
    )
    labels = base.mark_text(fontSize=12).encode(
        text="token:N", color=alt.condition("datum.probability > 0.3", alt.value("white"), alt.value("black"))
    )
    return (cells + labels).properties(height=alt.Step(30))


def final_word_charts(frame: pd.DataFrame, word: str):
    base = alt.Chart(frame).encode(
        x=alt.X("layer:O", title="layer (0 = embeddings)", axis=alt.Axis(labelAngle=0)),
        tooltip=["layer:O", "rank:Q", alt.Tooltip("probability:Q", format=".4f")],
    )
    probability = base.mark_line(point=True, color=OKABE_ITO[0]).encode(
        y=alt.Y("probability:Q", title=f"P({word})", axis=alt.Axis(format="%"))
    )
    rank = base.mark_line(point=True, color=OKABE_ITO[1]).encode(
        y=alt.Y("rank:Q", title=f"rank of '{word}' (1 = top)", scale=alt.Scale(type="log", reverse=True))
    )
    return alt.hconcat(probability.properties(width=280, height=220), rank.properties(width=280, height=220))


def scan_chart(frame: pd.DataFrame):
    pick = alt.selection_point(name="pick", fields=["layer", "head"], on="click", empty=False)
    limit = max(1e-6, float(frame["delta_log_prob"].abs().max()))
    return (
        alt.Chart(frame)
        .mark_rect(stroke="black")
        .encode(
            x=alt.X("head:O", title="head", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("layer:O", title="layer"),
            color=alt.Color(
                "delta_log_prob:Q", title="change in log P", scale=alt.Scale(scheme="redblue", domain=[-limit, limit])
            ),
            strokeWidth=alt.condition(pick, alt.value(2), alt.value(0)),
            tooltip=[
                "layer:O",
                "head:O",
                alt.Tooltip("delta_log_prob:Q", format="+.4f"),
                alt.Tooltip("probability_without:Q", format=".4f"),
            ],
        )
        .add_params(pick)
        .properties(height=alt.Step(24))
    )


def rollout_chart(flow: pd.DataFrame):
    """``flow``: one mask's rows of ``LayerLens.rollout_frame()``; rollout and the last layer's raw attention as
    paired bars per input token."""
    frame = flow.melt(id_vars=["position", "token"], value_vars=["rollout", "last_layer_attention"], var_name="measure")
    frame["measure"] = frame["measure"].map({"rollout": "rollout", "last_layer_attention": "last layer, raw"})
    frame["token"] = frame["position"].astype(str) + " " + frame["token"]
    order = list(dict.fromkeys(frame["token"]))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("token:N", sort=order, title=None, axis=alt.Axis(labelLimit=160)),
            yOffset="measure:N",
            x=alt.X("value:Q", title="share flowing into the mask"),
            color=alt.Color("measure:N", title=None, scale=alt.Scale(range=OKABE_ITO[:2])),
            tooltip=["token:N", "measure:N", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=alt.Step(12))
    )
