"""The Explain page's pictures: the words shaded by value (HTML), each word's contribution as bars, several
methods' bars side by side, and the deletion curves against random orders.

Everything here reads the core's results and frames; nothing is computed again.
"""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from pages.frame.ui import OKABE_ITO

PUSH_UP = (214, 39, 40)  # red: the word raises the output
PUSH_DOWN = (31, 119, 180)  # blue: the word lowers it (red/blue stays distinct for red-green colour blindness)


def coloured_text(words, values) -> str:
    """The words as HTML spans shaded by value (escaped: user text is never interpreted as HTML)."""
    scale = max((abs(v) for v in values), default=0.0) or 1.0
    spans = []
    for word, value in zip(words, values):
        red, green, blue = PUSH_UP if value >= 0 else PUSH_DOWN
        alpha = min(1.0, abs(value) / scale)
        spans.append(
            f'<span title="{value:+.4f}" style="background: rgba({red},{green},{blue},{alpha:.2f}); '
            f'padding: 2px 4px; margin: 1px; border-radius: 4px; line-height: 2.2">'
            f"{html.escape(word)}</span>"
        )
    return '<div style="font-size: 1.15rem">' + " ".join(spans) + "</div>"


def contribution_chart(frame: pd.DataFrame) -> alt.Chart:
    """``frame``: one target's rows of ``Explanation.frame()`` (word, position, value), as red/blue bars."""
    frame = frame.assign(
        direction=frame["value"].map(lambda v: "raises" if v >= 0 else "lowers"),
        label=frame["position"].astype(str) + " " + frame["word"],
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="contribution", axis=alt.Axis(format="~g")),
            y=alt.Y("label:N", sort=list(frame["label"]), title=None),
            color=alt.Color(
                "direction:N", scale=alt.Scale(domain=["raises", "lowers"], range=["#d62728", "#1f77b4"]), title=None
            ),
            tooltip=["word:N", alt.Tooltip("value:Q", format="+.4f")],
        )
        .properties(height=alt.Step(22))
    )


def method_charts(words: pd.DataFrame, labels: list[str]) -> list[alt.Chart]:
    """``words``: ``SideBySide.frame()``; one contribution chart per method, in ``labels`` order."""
    long = words.melt(id_vars="word", value_vars=labels, var_name="method", value_name="value")
    long["position"] = long.groupby("method").cumcount()
    return [contribution_chart(long[long["method"] == label]) for label in labels]


def curve_chart(curves, labels) -> alt.LayerChart:
    """Each explanation's deletion curve against the band of random orders (10th–90th percentile) and their mean,
    starting from the full text at 0 %."""
    start = curves[0].full_output
    frame = pd.concat(
        [
            pd.DataFrame(
                [
                    {
                        "fraction": 0.0,
                        "words hidden": 0,
                        "explanation": start,
                        "random mean": start,
                        "random 10%": start,
                        "random 90%": start,
                    }
                ]
            ),
            curves[0].frame(),
        ]
    )
    band = (
        alt.Chart(frame)
        .mark_area(opacity=0.25, color="#999999")
        .encode(
            x=alt.X("fraction:Q", title="share of words hidden", axis=alt.Axis(format="%")),
            y=alt.Y("random 10%:Q", title="output"),
            y2="random 90%:Q",
        )
    )
    mean = alt.Chart(frame).mark_line(strokeDash=[4, 3], color="#666666").encode(x="fraction:Q", y="random mean:Q")
    lines = pd.DataFrame(
        [
            {"method": label, "fraction": f, "output": v}
            for curve, label in zip(curves, labels)
            for f, v in zip([0.0, *curve.fractions], [curve.full_output, *curve.deletion])
        ]
    )
    drawn = (
        alt.Chart(lines)
        .mark_line(point=True)
        .encode(
            x="fraction:Q",
            y="output:Q",
            color=alt.Color("method:N", scale=alt.Scale(range=OKABE_ITO), title=None),
            tooltip=["method:N", alt.Tooltip("fraction:Q", format="%"), alt.Tooltip("output:Q", format=".4g")],
        )
    )
    return band + mean + drawn
