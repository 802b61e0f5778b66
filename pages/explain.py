"""Explain: which words made the model choose its word — and why this word rather than that one?"""

import html
import json

import altair as alt
import streamlit as st

import pandas as pd

from mlm_core import analyze
from mlm_core.tasks.attribution import METHOD_LABELS
from mlm_core.tasks.explain import DEFAULT_MAX_EVALS, EXPLAIN_PARAMS, explain
from mlm_core.tasks.faithfulness import curves_frame, faithfulness, summary_frame
from mlm_core.tasks.gradients import DEFAULT_STEPS, GRADIENT_PARAMS, integrated_gradients
from mlm_core.tasks.predict import mask_prediction
from mlm_core.tasks.side_by_side import side_by_side
from pages.frame.links import Linked, link_widgets, linked_choice, linked_flag, linked_interval, linked_text, publish_view
from pages.frame.models import current_model, shared_result
from pages.frame.ui import DEFAULT_TEXT, OKABE_ITO, as_table, download_name, run_or_stop
from pages.frame.routing import require_router

require_router()

MAX_EVALS = EXPLAIN_PARAMS["max_evals"]
STEPS = GRADIENT_PARAMS["steps"]
METHODS = {"shap": "SHAP", "ig": "Integrated gradients", "gradxinput": "Gradient × input", "compare": "Side by side"}
PUSH_UP = (214, 39, 40)  # red: the word raises the output
PUSH_DOWN = (31, 119, 180)  # blue: the word lowers it (red/blue stays distinct for red-green colour blindness)


def cached_explanation(mlm, text: str, mask_index: int, targets: tuple, contrast: bool, output: str,
                       max_evals: int, progress):
    # Not st.cache_data: it would record the progress bar's updates and replay them into other sessions' pages.
    return shared_result(("explain", mlm.name, text, mask_index, targets, contrast, output, max_evals),
                         lambda: explain(mlm, text, mask_index=mask_index, targets=list(targets), contrast=contrast,
                                         output=output, max_evals=max_evals, on_evaluations=progress))


def cached_gradients(mlm, text: str, mask_index: int, targets: tuple, contrast: bool, output: str, method: str,
                     steps: int):
    return shared_result(("gradients", mlm.name, text, mask_index, targets, contrast, output, method, steps),
                         lambda: integrated_gradients(mlm, text, mask_index=mask_index, targets=list(targets),
                                                      contrast=contrast, output=output, method=method, steps=steps))


def cached_faithfulness(mlm, result):
    key = ("faithfulness", mlm.name, result.text, result.method, result.mask_index, result.output_kind,
           tuple(t.token for t in result.targets), tuple(float(v) for t in result.targets for v in t.values))
    return shared_result(key, lambda: faithfulness(mlm, [result])[0])


def cached_side_by_side(mlm, text: str, mask_index: int, target: str, output: str, max_evals: int, steps: int):
    return shared_result(("side_by_side", mlm.name, text, mask_index, target, output, max_evals, steps),
                         lambda: side_by_side(mlm, text, mask_index=mask_index, target=target, output=output,
                                              max_evals=max_evals, steps=steps))


def coloured_text(words, values) -> str:
    """The words as HTML spans shaded by value (escaped: user text is never interpreted as HTML)."""
    scale = max((abs(v) for v in values), default=0.0) or 1.0
    spans = []
    for word, value in zip(words, values):
        red, green, blue = PUSH_UP if value >= 0 else PUSH_DOWN
        alpha = min(1.0, abs(value) / scale)
        spans.append(f'<span title="{value:+.4f}" style="background: rgba({red},{green},{blue},{alpha:.2f}); '
                     f'padding: 2px 4px; margin: 1px; border-radius: 4px; line-height: 2.2">'
                     f'{html.escape(word)}</span>')
    return '<div style="font-size: 1.15rem">' + " ".join(spans) + "</div>"


def contribution_chart(frame):
    frame = frame.assign(direction=frame["value"].map(lambda v: "raises" if v >= 0 else "lowers"),
                         label=frame["position"].astype(str) + " " + frame["word"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="contribution", axis=alt.Axis(format="~g")),
            y=alt.Y("label:N", sort=list(frame["label"]), title=None),
            color=alt.Color("direction:N", scale=alt.Scale(domain=["raises", "lowers"],
                                                           range=["#d62728", "#1f77b4"]), title=None),
            tooltip=["word:N", alt.Tooltip("value:Q", format="+.4f")],
        )
        .properties(height=alt.Step(22))
    )


def curve_chart(curves, labels):
    """Each explanation's deletion curve against the band of random orders (10th–90th percentile) and their mean,
    starting from the full text at 0 %."""
    start = curves[0].full_output
    frame = pd.concat([pd.DataFrame([{"fraction": 0.0, "words hidden": 0, "explanation": start, "random mean": start,
                                      "random 10%": start, "random 90%": start}]), curves[0].frame()])
    band = alt.Chart(frame).mark_area(opacity=0.25, color="#999999").encode(
        x=alt.X("fraction:Q", title="share of words hidden", axis=alt.Axis(format="%")),
        y=alt.Y("random 10%:Q", title="output"), y2="random 90%:Q")
    mean = alt.Chart(frame).mark_line(strokeDash=[4, 3], color="#666666").encode(x="fraction:Q", y="random mean:Q")
    lines = pd.DataFrame([{"method": label, "fraction": f, "output": v} for curve, label in zip(curves, labels)
                          for f, v in zip([0.0, *curve.fractions], [curve.full_output, *curve.deletion])])
    drawn = alt.Chart(lines).mark_line(point=True).encode(
        x="fraction:Q", y="output:Q", color=alt.Color("method:N", scale=alt.Scale(range=OKABE_ITO), title=None),
        tooltip=["method:N", alt.Tooltip("fraction:Q", format="%"), alt.Tooltip("output:Q", format=".4g")])
    return band + mean + drawn


def show_faithfulness(curves, labels, key: str) -> None:
    """The deletion curves, the plain reading and the two numbers per explanation, and the curve as CSV."""
    for curve, label in zip(curves, labels):
        st.write(curve.reading(label))
    st.altair_chart(curve_chart(curves, labels), width="stretch")
    st.caption("Comprehensiveness: mean drop of the output as the top words are hidden (higher = more faithful). "
               "Sufficiency: mean drop when only the top words are kept (lower = they suffice). Grey: 20 random "
               "word orders (band: 10th–90th percentile; dashed: their mean).")
    st.dataframe(summary_frame(curves, labels), hide_index=True, width="stretch")
    st.download_button("Download the curves (CSV)", curves_frame(curves, labels).to_csv(index=False).encode("utf-8"),
                       file_name=download_name("faithfulness", mlm.name, text, "csv"), mime="text/csv",
                       key=f"explain_curves_csv::{key}")


st.title("Explain a prediction")
st.write("Which words made the model pick its word? Each word gets a value: how much it raised (red) or lowered "
         "(blue) the probability of the word at the mask, compared with a sentence where every word is hidden. "
         "**SHAP** values add up exactly to the difference; **integrated gradients** follow the model's gradient "
         "from the hidden sentence to yours. **Side by side** shows where the methods agree, and hiding the words "
         "each one ranks highest tells you which explanation to trust.")

mlm = current_model(allow_switch=True)
link_widgets([linked_text("explain_text", "text", DEFAULT_TEXT)])
text = st.text_area("Text", key="explain_text", height=80,
                    help="Write [MASK] for the missing word. With several masks, choose which one to explain.")
analysis = run_or_stop(analyze, mlm, text, require_mask=True)
settings = st.columns([1, 3, 1])
n_masks = len(analysis.mask_positions)
LINKED = [linked_text("explain_text", "text", DEFAULT_TEXT),
          Linked("explain_mask", "mask", 0, lambda raw: int(raw) - 1, lambda k: 0 <= k < n_masks, lambda k: str(k + 1)),
          linked_choice("explain_output", "output", "probability", ["probability", "log-odds"]),
          linked_flag("explain_contrast", "contrast", True),
          linked_interval("explain_max_evals", "evals", DEFAULT_MAX_EVALS, MAX_EVALS),
          linked_choice("explain_method", "method", "shap", list(METHODS)),
          linked_interval("explain_steps", "steps", DEFAULT_STEPS, STEPS),
          linked_flag("explain_faithfulness", "faithfulness", False)]
link_widgets(LINKED)
publish_view("explain", LINKED)
mask_index = settings[0].selectbox("Mask", list(range(n_masks)), format_func=lambda k: f"mask {k + 1}",
                                   key="explain_mask", disabled=n_masks == 1)
candidates = [c.token for c in mask_prediction(mlm, analysis, mask_index, top_k=10).candidates]
# The choices depend on model, text and mask; a key per combination starts each new one at the top 2 instead of
# carrying over (and silently dropping) words that are no longer offered.
targets = settings[1].multiselect("Words to explain (the model's top 10, or type a word)", candidates,
                                  default=candidates[:2], max_selections=4, accept_new_options=True,
                                  key=f"explain_targets::{mlm.name}::{mask_index}::{text}",
                                  help="Any word the model can put in one mask; the Predict page gives the "
                                       "probability of words it splits into pieces.")
output = settings[2].radio("Explain", ["probability", "log-odds"], key="explain_output")
method = st.segmented_control("Method", list(METHODS), format_func=METHODS.get, key="explain_method") or "shap"
options = st.columns([1, 2, 2])
comparing = method == "compare"
contrast = options[0].checkbox("Contrast the first two", key="explain_contrast", disabled=comparing,
                               help="Also explain p(first) − p(second): why the first word rather than the second.")
check = options[0].checkbox("Check faithfulness", key="explain_faithfulness", disabled=comparing,
                            help="Hide the words the explanation ranks highest, step by step, and compare with "
                                 "hiding words in random orders.")
max_evals = options[1].slider("SHAP: model evaluations (more = finer, slower)", *MAX_EVALS.widget_range, step=50,
                              key="explain_max_evals", disabled=method in ("ig", "gradxinput"))
steps = options[2].slider("Integrated gradients: steps on the path", *STEPS.widget_range, key="explain_steps",
                          disabled=method in ("shap", "gradxinput"))
if not targets:
    st.info("Choose at least one word to explain.")
    st.stop()
contrast = contrast and len(targets) >= 2 and not comparing

if comparing:
    with st.spinner(f"Explaining '{targets[0]}' three ways and hiding words in each order…"):
        both = run_or_stop(cached_side_by_side, mlm, text, mask_index, targets[0], output, max_evals, steps)
    st.subheader(f"Three explanations of '{targets[0]}'")
    st.write(both.verdict())
    words = both.frame()
    long = words.melt(id_vars="word", value_vars=both.labels, var_name="method", value_name="value")
    long["position"] = long.groupby("method").cumcount()
    columns = st.columns(len(both.labels))
    for column, label in zip(columns, both.labels):
        column.caption(label)
        column.altair_chart(contribution_chart(long[long["method"] == label]), width="stretch")
    as_table(words, "The word scores and ranks")
    st.download_button("Download the word scores and ranks (CSV)", words.to_csv(index=False).encode("utf-8"),
                       file_name=download_name("explanation-methods", mlm.name, text, "csv"), mime="text/csv",
                       key="explain_methods_csv")
    st.write("**Do the methods agree?** Spearman's rank correlation of their word scores (1 = same order, 0 = "
             "unrelated, −1 = reversed):")
    st.dataframe(pd.DataFrame(both.correlations, index=both.labels, columns=both.labels).round(2), width="stretch")
    show_faithfulness(both.faithfulness, both.labels, "compare")
    st.caption("Attention rollout (Abnar & Zuidema 2020) is how much attention flows from each word into the mask "
               "through all layers; it is the same for every target word and is not in units of the output.")
    st.stop()

if method == "shap":
    progress = st.progress(0.0, text="Explaining…")
    result = run_or_stop(cached_explanation, mlm, text, mask_index, tuple(targets), contrast, output, max_evals,
                         lambda done: progress.progress(min(done / max_evals, 1.0),
                                                    text=f"Explaining… {done} model evaluations"))
    progress.empty()
else:
    with st.spinner("Following the gradient…"):
        result = run_or_stop(cached_gradients, mlm, text, mask_index, tuple(targets), contrast, output, method, steps)
curves = None
if check:
    with st.spinner("Hiding words in the explanation's order and in 20 random orders…"):
        curves = run_or_stop(cached_faithfulness, mlm, result)

frame = result.frame()
label = METHOD_LABELS[result.method]
for k, (tab, target) in enumerate(zip(st.tabs([t.token for t in result.targets]), result.targets)):
    with tab:
        metrics = st.columns(4 if target.completeness_gap is not None else 3)
        unit = "" if output == "probability" else " (log-odds)"
        metrics[0].metric(f"f(x): with every word{unit}", f"{target.output:.4g}")
        metrics[1].metric(f"base value: every word hidden{unit}", f"{target.base_value:.4g}")
        metrics[2].metric("sum of the word values", f"{target.values.sum():+.4g}")
        if target.completeness_gap is not None:
            metrics[3].metric("completeness gap", f"{target.completeness_gap:.2g}",
                              help="|sum of the values − (f(x) − base value)|: 0 for exact integrated gradients; "
                                   "more steps make it smaller.")
        st.html(coloured_text(result.words, target.values))
        st.altair_chart(contribution_chart(frame[frame["target"] == target.token]), width="stretch")
        as_table(frame[frame["target"] == target.token], "The values")
        if curves is not None:
            show_faithfulness([curves[k]], [label], str(k))
what = {"shap": "SHAP Partition explainer (Owen values over neighbouring words)",
        "ig": f"integrated gradients over the word embeddings, {steps} points (trapezoid rule)",
        "gradxinput": "gradient × (input − baseline) at the input, one pass"}[result.method]
st.caption(f"{result.evaluations} model evaluations. Hidden words are replaced by the unknown-word token (never "
           f"by the mask); other masks in the text count as unknown words. {what[0].upper() + what[1:]}.")
downloads = st.columns(2)
downloads[0].download_button("Download the values (CSV)", lambda: frame.to_csv(index=False).encode("utf-8"),
                             file_name=download_name("explanation", mlm.name, text, "csv"),
                             mime="text/csv", key="explain_download_csv")
downloads[1].download_button("Download the explanation (JSON)",
                             lambda: json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"),
                             file_name=download_name("explanation", mlm.name, text, "json"),
                             mime="application/json", key="explain_download_json")
