"""Probe's chart: accuracy per layer of the probe, the control task's probe and the majority baseline."""

from __future__ import annotations

import altair as alt

from mlm_core.tasks.probe import ProbeResult
from pages.frame.ui import OKABE_ITO

SERIES = {
    "accuracy": "probe on the task",
    "control_accuracy": "probe on the control task",
    "majority": "always the most common label",
}


def layers_chart(result: ProbeResult, title: str) -> alt.Chart:
    """One line per series over the layers; the majority baseline dashed."""
    frame = result.frame().melt(id_vars="layer", value_vars=list(SERIES), var_name="series", value_name="value")
    frame["series"] = frame["series"].map(SERIES)
    return (
        alt.Chart(frame, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O", title="layer (0 = the embeddings)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("value:Q", title="accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "series:N",
                title=None,
                sort=list(SERIES.values()),
                scale=alt.Scale(domain=list(SERIES.values()), range=OKABE_ITO[:3]),
                legend=alt.Legend(orient="top", direction="horizontal", labelLimit=0),
            ),
            strokeDash=alt.condition(alt.datum.series == SERIES["majority"], alt.value([4, 4]), alt.value([1, 0])),
            tooltip=["layer:O", "series:N", alt.Tooltip("value:Q", format=".1%")],
        )
        .properties(height=340)
    )
