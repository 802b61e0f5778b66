"""Fine-tune's chart: the training and validation loss over the steps."""

from __future__ import annotations

import altair as alt
import pandas as pd

from pages.frame.ui import OKABE_ITO


def loss_chart(frame: pd.DataFrame) -> alt.Chart:
    """A line per split (``frame``: step, loss, split in {train, validation}, as ``progress_frame`` gives)."""
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=20))
        .encode(
            x=alt.X("step:Q", title="Training step", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("loss:Q", title="Masked-LM loss (nats)"),
            color=alt.Color(
                "split:N", title=None, scale=alt.Scale(domain=["train", "validation"], range=OKABE_ITO[:2])
            ),
            strokeDash=alt.StrokeDash("split:N", legend=None),
            tooltip=["split:N", "step:Q", alt.Tooltip("loss:Q", format=".3f")],
        )
        .properties(height=260)
    )
