"""Explain: which words made the model choose its word — and why this word rather than that one?"""

import html
import json

import altair as alt
import streamlit as st

from mlm_core import analyze
from mlm_core.tasks.explain import DEFAULT_MAX_EVALS, EXPLAIN_PARAMS, explain
from mlm_core.tasks.predict import mask_prediction
from pages.frame.links import Linked, link_widgets, linked_choice, linked_flag, linked_interval, linked_text, publish_view
from pages.frame.models import current_model, shared_result
from pages.frame.ui import DEFAULT_TEXT, as_table, download_name, run_or_stop
from pages.frame.routing import require_router

require_router()

MAX_EVALS = EXPLAIN_PARAMS["max_evals"]
PUSH_UP = (214, 39, 40)  # red: the word raises the output
PUSH_DOWN = (31, 119, 180)  # blue: the word lowers it (red/blue stays distinct for red-green colour blindness)


def cached_explanation(mlm, text: str, mask_index: int, targets: tuple, contrast: bool, output: str,
                       max_evals: int, progress):
    # Not st.cache_data: it would record the progress bar's updates and replay them into other sessions' pages.
    return shared_result(("explain", mlm.name, text, mask_index, targets, contrast, output, max_evals),
                         lambda: explain(mlm, text, mask_index=mask_index, targets=list(targets), contrast=contrast,
                                         output=output, max_evals=max_evals, on_evaluations=progress))


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


st.title("Explain a prediction")
st.write("Which words made the model pick its word? Each word gets a **SHAP value**: how much it raised (red) or "
         "lowered (blue) the probability of the word at the mask, compared with a sentence where every word is "
         "hidden. The values add up exactly to the difference.")

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
          linked_interval("explain_max_evals", "evals", DEFAULT_MAX_EVALS, MAX_EVALS)]
link_widgets(LINKED)
publish_view("explain", LINKED)
mask_index = settings[0].selectbox("Mask", list(range(n_masks)), format_func=lambda k: f"mask {k + 1}",
                                   key="explain_mask", disabled=n_masks == 1)
candidates = [c.token for c in mask_prediction(mlm, analysis, mask_index, top_k=10).candidates]
# The choices depend on model, text and mask; a key per combination starts each new one at the top 2 instead of
# carrying over (and silently dropping) words that are no longer offered.
targets = settings[1].multiselect("Words to explain (from the model's top 10)", candidates,
                                  default=candidates[:2], max_selections=4,
                                  key=f"explain_targets::{mlm.name}::{mask_index}::{text}")
output = settings[2].radio("Explain", ["probability", "log-odds"], key="explain_output")
options = st.columns([1, 2])
contrast = options[0].checkbox("Contrast the first two", key="explain_contrast",
                               help="Also explain p(first) − p(second): why the first word rather than the second.")
max_evals = options[1].slider("Model evaluations (more = finer, slower)", *MAX_EVALS.widget_range, step=50,
                              key="explain_max_evals")
if not targets:
    st.info("Choose at least one word to explain.")
    st.stop()
contrast = contrast and len(targets) >= 2

progress = st.progress(0.0, text="Explaining…")
result = run_or_stop(cached_explanation, mlm, text, mask_index, tuple(targets), contrast, output, max_evals,
                     lambda done: progress.progress(min(done / max_evals, 1.0),
                                                text=f"Explaining… {done} model evaluations"))
progress.empty()

frame = result.frame()
for tab, target in zip(st.tabs([t.token for t in result.targets]), result.targets):
    with tab:
        metrics = st.columns(3)
        unit = "" if output == "probability" else " (log-odds)"
        metrics[0].metric(f"f(x): with every word{unit}", f"{target.output:.4g}")
        metrics[1].metric(f"base value: every word hidden{unit}", f"{target.base_value:.4g}")
        metrics[2].metric("sum of the word values", f"{target.values.sum():+.4g}")
        st.html(coloured_text(result.words, target.values))
        st.altair_chart(contribution_chart(frame[frame["target"] == target.token]), width="stretch")
        as_table(frame[frame["target"] == target.token], "The values")
st.caption(f"{result.evaluations} model evaluations. Hidden words are replaced by the unknown-word token (never "
           "by the mask); other masks in the text count as unknown words. SHAP Partition explainer (Owen values "
           "over neighbouring words).")
downloads = st.columns(2)
downloads[0].download_button("Download the values (CSV)", frame.to_csv(index=False).encode("utf-8"),
                             file_name=download_name("explanation", mlm.name, text, "csv"),
                             mime="text/csv", key="explain_download_csv")
downloads[1].download_button("Download the explanation (JSON)",
                             json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"),
                             file_name=download_name("explanation", mlm.name, text, "json"),
                             mime="application/json", key="explain_download_json")
