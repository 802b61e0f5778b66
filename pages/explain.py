"""Explain: which words made the model choose its word — and why this word rather than that one?"""

import json

import streamlit as st

from mlm_core import MlmExplorerError, analyze
from mlm_core.tasks.attribution import METHOD_LABELS
from mlm_core.tasks.explain import DEFAULT_MAX_EVALS, EXPLAIN_PARAMS
from mlm_core.tasks.gradients import DEFAULT_STEPS, GRADIENT_PARAMS
from mlm_core.tasks.predict import mask_prediction
from pages.charts.explain import coloured_text, contribution_chart, method_charts
from pages.frame.explain_view import (
    cached_explanation,
    cached_faithfulness,
    cached_gradients,
    cached_side_by_side,
    show_faithfulness,
    show_metrics,
)
from pages.frame.links import (
    Linked,
    link_widgets,
    linked_choice,
    linked_flag,
    linked_interval,
    linked_text,
    publish_view,
)
from pages.frame.models import current_model
from pages.frame.routing import require_router
from pages.frame.ui import DEFAULT_TEXT, as_table, download_name, run_or_stop

require_router()

MAX_EVALS = EXPLAIN_PARAMS["max_evals"]
STEPS = GRADIENT_PARAMS["steps"]
METHODS = {"shap": "SHAP", "ig": "Integrated gradients", "gradxinput": "Gradient × input", "compare": "Side by side"}


def mask_fits(k: int) -> bool:
    """Whether the linked text has a mask number k (0-based); checked with the links, after the text's own."""
    try:
        return 0 <= k < len(analyze(mlm, st.session_state["explain_text"], require_mask=True).mask_positions)
    except MlmExplorerError:
        return True  # no mask: the page stops with the analysis's message and the mask waits for a text with one


st.title("Explain a prediction")
st.write(
    "Which words made the model pick its word? Each word gets a value: how much it raised (red) or lowered "
    "(blue) the probability of the word at the mask, compared with a sentence where every word is hidden. "
    "**SHAP** values add up exactly to the difference; **integrated gradients** follow the model's gradient "
    "from the hidden sentence to yours. **Side by side** shows where the methods agree, and hiding the words "
    "each one ranks highest tells you which explanation to trust."
)

mlm = current_model(allow_switch=True)
LINKED = [
    linked_text("explain_text", "text", DEFAULT_TEXT),  # first: the mask's check reads the linked text
    Linked("explain_mask", "mask", 0, lambda raw: int(raw) - 1, mask_fits, lambda k: str(k + 1)),
    linked_choice("explain_output", "output", "probability", ["probability", "log-odds"]),
    linked_flag("explain_contrast", "contrast", True),
    linked_interval("explain_max_evals", "evals", DEFAULT_MAX_EVALS, MAX_EVALS),
    linked_choice("explain_method", "method", "shap", list(METHODS)),
    linked_interval("explain_steps", "steps", DEFAULT_STEPS, STEPS),
    linked_flag("explain_faithfulness", "faithfulness", False),
]
link_widgets(LINKED)
text = st.text_area(
    "Text",
    key="explain_text",
    height=80,
    help="Write [MASK] for the missing word. With several masks, choose which one to explain.",
)
analysis = run_or_stop(analyze, mlm, text, require_mask=True)
settings = st.columns([1, 3, 1])
n_masks = len(analysis.mask_positions)
publish_view("explain", LINKED)
mask_index = settings[0].selectbox(
    "Mask", list(range(n_masks)), format_func=lambda k: f"mask {k + 1}", key="explain_mask", disabled=n_masks == 1
)
candidates = [c.token for c in mask_prediction(mlm, analysis, mask_index, top_k=10).candidates]
# The choices depend on model, text and mask; a key per combination starts each new one at the top 2 instead of
# carrying over (and silently dropping) words that are no longer offered.
targets = settings[1].multiselect(
    "Words to explain (the model's top 10, or type a word)",
    candidates,
    default=candidates[:2],
    max_selections=4,
    accept_new_options=True,
    key=f"explain_targets::{mlm.name}::{mask_index}::{text}",
    help="Any word the model can put in one mask; the Predict page gives the "
    "probability of words it splits into pieces.",
)
output = settings[2].radio("Explain", ["probability", "log-odds"], key="explain_output")
method = st.segmented_control("Method", list(METHODS), format_func=METHODS.get, key="explain_method") or "shap"
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
    help="Hide the words the explanation ranks highest, step by step, and compare with hiding words in random orders.",
)
max_evals = options[1].slider(
    "SHAP: model evaluations (more = finer, slower)",
    *MAX_EVALS.widget_range,
    step=50,
    key="explain_max_evals",
    disabled=method in ("ig", "gradxinput"),
)
steps = options[2].slider(
    "Integrated gradients: steps on the path",
    *STEPS.widget_range,
    key="explain_steps",
    disabled=method in ("shap", "gradxinput"),
)
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
    for column, label, chart in zip(st.columns(len(both.labels)), both.labels, method_charts(words, both.labels)):
        column.caption(label)
        column.altair_chart(chart, width="stretch")
    as_table(words, "The word scores and ranks")
    st.download_button(
        "Download the word scores and ranks (CSV)",
        words.to_csv(index=False).encode("utf-8"),
        file_name=download_name("explanation-methods", mlm.name, text, "csv"),
        mime="text/csv",
        key="explain_methods_csv",
    )
    st.write(
        "**Do the methods agree?** Spearman's rank correlation of their word scores (1 = same order, 0 = "
        "unrelated, −1 = reversed):"
    )
    st.dataframe(both.correlations_frame(), width="stretch")
    show_faithfulness(both.faithfulness, both.labels, "compare", mlm.name, text)
    st.caption(
        "Attention rollout (Abnar & Zuidema 2020) is how much attention flows from each word into the mask "
        "through all layers; it is the same for every target word and is not in units of the output."
    )
    st.stop()

if method == "shap":
    progress = st.progress(0.0, text="Explaining…")
    result = run_or_stop(
        cached_explanation,
        mlm,
        text,
        mask_index,
        tuple(targets),
        contrast,
        output,
        max_evals,
        lambda done: progress.progress(min(done / max_evals, 1.0), text=f"Explaining… {done} model evaluations"),
    )
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
        show_metrics(target, output)
        st.html(coloured_text(result.words, target.values))
        st.altair_chart(contribution_chart(frame[frame["target"] == target.token]), width="stretch")
        as_table(frame[frame["target"] == target.token], "The values")
        if curves is not None:
            show_faithfulness([curves[k]], [label], str(k), mlm.name, text)
st.caption(result.how_made(steps=steps))
downloads = st.columns(2)
downloads[0].download_button(
    "Download the values (CSV)",
    lambda: frame.to_csv(index=False).encode("utf-8"),
    file_name=download_name("explanation", mlm.name, text, "csv"),
    mime="text/csv",
    key="explain_download_csv",
)
downloads[1].download_button(
    "Download the explanation (JSON)",
    lambda: json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"),
    file_name=download_name("explanation", mlm.name, text, "json"),
    mime="application/json",
    key="explain_download_json",
)
