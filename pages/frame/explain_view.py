"""What the Explain page shares beyond its pictures (pages/charts/explain.py): its results kept across sessions,
one target's numbers, and the faithfulness section drawn for one explanation or for several side by side."""

from __future__ import annotations

import streamlit as st

from mlm_core.tasks.explain import explain
from mlm_core.tasks.faithfulness import curves_frame, faithfulness, summary_frame
from mlm_core.tasks.gradients import integrated_gradients
from mlm_core.tasks.side_by_side import side_by_side
from pages.charts.explain import curve_chart
from pages.frame.models import shared_result
from pages.frame.ui import download_name


def cached_explanation(
    mlm, text: str, mask_index: int, targets: tuple, contrast: bool, output: str, max_evals: int, progress
):
    # Not st.cache_data: it would record the progress bar's updates and replay them into other sessions' pages.
    return shared_result(
        ("explain", mlm.name, text, mask_index, targets, contrast, output, max_evals),
        lambda: explain(
            mlm,
            text,
            mask_index=mask_index,
            targets=list(targets),
            contrast=contrast,
            output=output,
            max_evals=max_evals,
            on_evaluations=progress,
        ),
    )


def cached_gradients(
    mlm, text: str, mask_index: int, targets: tuple, contrast: bool, output: str, method: str, steps: int
):
    return shared_result(
        ("gradients", mlm.name, text, mask_index, targets, contrast, output, method, steps),
        lambda: integrated_gradients(
            mlm,
            text,
            mask_index=mask_index,
            targets=list(targets),
            contrast=contrast,
            output=output,
            method=method,
            steps=steps,
        ),
    )


def cached_faithfulness(mlm, result):
    key = (
        "faithfulness",
        mlm.name,
        result.text,
        result.method,
        result.mask_index,
        result.output_kind,
        tuple(t.token for t in result.targets),
        tuple(float(v) for t in result.targets for v in t.values),
    )
    return shared_result(key, lambda: faithfulness(mlm, [result])[0])


def cached_side_by_side(mlm, text: str, mask_index: int, target: str, output: str, max_evals: int, steps: int):
    return shared_result(
        ("side_by_side", mlm.name, text, mask_index, target, output, max_evals, steps),
        lambda: side_by_side(
            mlm, text, mask_index=mask_index, target=target, output=output, max_evals=max_evals, steps=steps
        ),
    )


def show_metrics(target, output: str) -> None:
    """One target's f(x), base value, sum of the word values and (gradient methods) completeness gap."""
    metrics = st.columns(4 if target.completeness_gap is not None else 3)
    unit = "" if output == "probability" else " (log-odds)"
    metrics[0].metric(f"f(x): with every word{unit}", f"{target.output:.4g}")
    metrics[1].metric(f"base value: every word hidden{unit}", f"{target.base_value:.4g}")
    metrics[2].metric("sum of the word values", f"{target.values.sum():+.4g}")
    if target.completeness_gap is not None:
        metrics[3].metric(
            "completeness gap",
            f"{target.completeness_gap:.2g}",
            help="|sum of the values − (f(x) − base value)|: 0 for exact integrated gradients; "
            "more steps make it smaller.",
        )


def show_faithfulness(curves, labels, key: str, model_name: str, text: str) -> None:
    """The deletion curves, the plain reading and the two numbers per explanation, and the curve as CSV."""
    for curve, label in zip(curves, labels):
        st.write(curve.reading(label))
    st.altair_chart(curve_chart(curves, labels), width="stretch")
    st.caption(
        "Comprehensiveness: mean drop of the output as the top words are hidden (higher = more faithful). "
        "Sufficiency: mean drop when only the top words are kept (lower = they suffice). Grey: 20 random "
        "word orders (band: 10th–90th percentile; dashed: their mean)."
    )
    st.dataframe(summary_frame(curves, labels), hide_index=True, width="stretch")
    st.download_button(
        "Download the curves (CSV)",
        curves_frame(curves, labels).to_csv(index=False).encode("utf-8"),
        file_name=download_name("faithfulness", model_name, text, "csv"),
        mime="text/csv",
        key=f"explain_curves_csv::{key}",
    )
