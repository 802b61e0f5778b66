"""Trace's chart: patching effects as a heatmap (layer × token, or layer × head)."""

from __future__ import annotations

import altair as alt
import pandas as pd


def effect_heatmap(frame: pd.DataFrame, x: str, x_title: str, order: list | None = None) -> alt.Chart:
    """Effects as cells: diverging colours centred on 0 (red = moves toward the clean prediction). ``order``, the
    tokens in text order, when ``x`` is the token column."""
    limit = max(1.0, float(frame["effect"].abs().max()))
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:O", title=x_title, sort=order, axis=alt.Axis(labelAngle=-45 if order else 0)),
            y=alt.Y("layer:O", title="layer (0 = embeddings)" if order else "layer", sort="descending"),
            color=alt.Color(
                "effect:Q", title="effect", scale=alt.Scale(scheme="redblue", reverse=True, domain=[-limit, limit])
            ),
            tooltip=["layer:O", f"{x}:O", alt.Tooltip("effect:Q", format="+.3f")],
        )
        .properties(height=alt.Step(26))
    )
