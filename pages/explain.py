"""Explain: which words made the model choose its word — and why this word rather than that one?"""

import streamlit as st

from mlm_core import MlmExplorerError, analyze
from mlm_core.tasks.explain import DEFAULT_MAX_EVALS, EXPLAIN_PARAMS
from mlm_core.tasks.gradients import DEFAULT_STEPS, GRADIENT_PARAMS
from mlm_core.tasks.predict import mask_prediction
from pages.frame.explain_view import (
    cached_explanation,
    cached_faithfulness,
    cached_gradients,
    cached_side_by_side,
    evaluations_shown,
    method_options,
    show_explanation,
    show_side_by_side,
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
from pages.frame.ui import DEFAULT_TEXT, run_or_stop

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
contrast, check, max_evals, steps = method_options(method)
comparing = method == "compare"
if not targets:
    st.info("Choose at least one word to explain.")
    st.stop()
contrast = contrast and len(targets) >= 2 and not comparing

if comparing:
    with st.spinner(f"Explaining '{targets[0]}' three ways and hiding words in each order…"):
        both = run_or_stop(cached_side_by_side, mlm, text, mask_index, targets[0], output, max_evals, steps)
    show_side_by_side(both, targets[0], mlm.name, text)
    st.stop()

if method == "shap":
    progress, on_evaluations = evaluations_shown(max_evals)
    result = run_or_stop(
        cached_explanation, mlm, text, mask_index, tuple(targets), contrast, output, max_evals, on_evaluations
    )
    progress.empty()
else:
    with st.spinner("Following the gradient…"):
        result = run_or_stop(cached_gradients, mlm, text, mask_index, tuple(targets), contrast, output, method, steps)
curves = None
if check:
    with st.spinner("Hiding words in the explanation's order and in 20 random orders…"):
        curves = run_or_stop(cached_faithfulness, mlm, result)

show_explanation(result, curves, output, steps, mlm.name, text)
