"""What the Explain page shares beyond its pictures (pages/charts/explain.py): its results kept across sessions,
the method's options, one explanation drawn (a tab per word: numbers, shaded words, bars, faithfulness; and the
downloads), the methods side by side, and the faithfulness section."""

from __future__ import annotations

import json

import streamlit as st

from mlm_core.tasks.attribution import METHOD_LABELS
from mlm_core.tasks.explain import EXPLAIN_PARAMS, explain
from mlm_core.tasks.faithfulness import curves_frame, faithfulness, summary_frame
from mlm_core.tasks.gradients import GRADIENT_PARAMS, integrated_gradients
from mlm_core.tasks.side_by_side import side_by_side
from pages.charts.explain import coloured_text, contribution_chart, curve_chart, method_charts
from pages.frame.models import shared_result
from pages.frame.ui import as_table, download_name


def cached_explanation(
    mlm, text: str, mask_index: int, targets: tuple, contrast: bool, output: str, max_evals: int, progress
):
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


def method_options(method: str) -> tuple[bool, bool, int, int]:
    """The row under the method: contrast and faithfulness (not when comparing), SHAP's evaluations and integrated
    gradients' steps (each greyed out for the methods that do not use it); their values, in that order."""
    options = st.columns([1, 2, 2])
    comparing = method == "compare"
    contrast = options[0].checkbox(
        "Contrast the first two",
        key="explain_contrast",
        disabled=comparing,
        help="Also explain p(first) − p(second): why the first word rather than the second.",
    )
    check = options[0].checkbox(
        "Check faithfulness",
        key="explain_faithfulness",
        disabled=comparing,
        help="Hide the words the explanation ranks highest, step by step, and compare with hiding words in random "
        "orders.",
    )
    max_evals = options[1].slider(
        "SHAP: model evaluations (more = finer, slower)",
        *EXPLAIN_PARAMS["max_evals"].widget_range,
        step=50,
        key="explain_max_evals",
        disabled=method in ("ig", "gradxinput"),
    )
    steps = options[2].slider(
        "Integrated gradients: steps on the path",
        *GRADIENT_PARAMS["steps"].widget_range,
        key="explain_steps",
        disabled=method in ("shap", "gradxinput"),
    )
    return contrast, check, max_evals, steps


def evaluations_shown(max_evals: int):
    """A progress bar for SHAP's model evaluations, and the callback that moves it (``on_evaluations``)."""
    progress = st.progress(0.0, text="Explaining…")
    return progress, lambda done: progress.progress(
        min(done / max_evals, 1.0), text=f"Explaining… {done} model evaluations"
    )


def show_explanation(result, curves, output: str, steps: int, model_name: str, text: str) -> None:
    """A tab per explained word (its numbers, the shaded words, the bars, their table and, when checked, its
    faithfulness), how the values were made, and the values as CSV and JSON."""
    frame = result.frame()
    label = METHOD_LABELS[result.method]
    for k, (tab, target) in enumerate(zip(st.tabs([t.token for t in result.targets]), result.targets)):
        with tab:
            show_metrics(target, output)
            st.html(coloured_text(result.words, target.values))
            st.altair_chart(contribution_chart(frame[frame["target"] == target.token]), width="stretch")
            as_table(frame[frame["target"] == target.token], "The values")
            if curves is not None:
                show_faithfulness([curves[k]], [label], str(k), model_name, text)
    st.caption(result.how_made(steps=steps))
    downloads = st.columns(2)
    downloads[0].download_button(
        "Download the values (CSV)",
        lambda: frame.to_csv(index=False).encode("utf-8"),
        file_name=download_name("explanation", model_name, text, "csv"),
        mime="text/csv",
        key="explain_download_csv",
    )
    downloads[1].download_button(
        "Download the explanation (JSON)",
        lambda: json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"),
        file_name=download_name("explanation", model_name, text, "json"),
        mime="application/json",
        key="explain_download_json",
    )


def show_side_by_side(both, target: str, model_name: str, text: str) -> None:
    """Three methods' explanations of one word: the verdict, their bars, the scores and ranks, how well they agree,
    and their faithfulness."""
    st.subheader(f"Three explanations of '{target}'")
    st.write(both.verdict())
    words = both.frame()
    for column, label, chart in zip(st.columns(len(both.labels)), both.labels, method_charts(words, both.labels)):
        column.caption(label)
        column.altair_chart(chart, width="stretch")
    as_table(words, "The word scores and ranks")
    st.download_button(
        "Download the word scores and ranks (CSV)",
        words.to_csv(index=False).encode("utf-8"),
        file_name=download_name("explanation-methods", model_name, text, "csv"),
        mime="text/csv",
        key="explain_methods_csv",
    )
    st.write(
        "**Do the methods agree?** Spearman's rank correlation of their word scores (1 = same order, 0 = "
        "unrelated, −1 = reversed):"
    )
    st.dataframe(both.correlations_frame(), width="stretch")
    show_faithfulness(both.faithfulness, both.labels, "compare", model_name, text)
    st.caption(
        "Attention rollout (Abnar & Zuidema 2020) is how much attention flows from each word into the mask "
        "through all layers; it is the same for every target word and is not in units of the output."
    )
