"""Predict: what would the model put where the [MASK] is?"""

import json

import pandas as pd
import streamlit as st

from mlm_core.tasks.predict import PREDICT_PARAMS
from mlm_core.tasks.variants import has_braces
from pages.frame.links import link_widgets, linked_interval, linked_text, publish_view
from pages.frame.models import model_versions
from pages.frame.routing import require_router
from pages.frame.ui import DEFAULT_TEXT, download_name, run_or_stop
from pages.frame.words_view import (
    WORDS_HELP,
    cached_prediction,
    cached_words,
    show_all_variants,
    show_joint,
    show_top_words,
    show_versions,
)

require_router()

TOP_K = PREDICT_PARAMS["top_k"]


st.title("Predict the masked word")
st.write(
    "Type a sentence and write **[MASK]** where a word is missing — the model ranks the words that fit. "
    "Several masks are fine: you also get the best combinations."
)

base, tuned, mlm = model_versions()
LINKED = [
    linked_text("predict_text", "text", DEFAULT_TEXT),
    linked_interval("predict_top_k", "top_k", 5, TOP_K),
    linked_text("predict_words", "words", ""),
]
link_widgets(LINKED)
text = st.text_area(
    "Text",
    key="predict_text",
    height=90,
    help="Write [MASK] for each missing word. The model's own mask token works too. Braces give "
    "sentence variants side by side, e.g. 'The {man|woman} worked as a [MASK].'",
)
words_column, top_k_column = st.columns([3, 2])
words_text = words_column.text_input(
    "Your words (optional)", key="predict_words", placeholder="nurse, doctor, engineer", help=WORDS_HELP
)
top_k = top_k_column.slider("Words to show per mask", *TOP_K.widget_range, key="predict_top_k")
publish_view("predict", LINKED)
with_words = bool(words_text.strip()) or has_braces(text)
variants = has_braces(text)
compare = (
    tuned is not None
    and not variants
    and st.toggle(
        "Base and fine-tuned side by side",
        value=True,
        key="predict_compare",
        help="The same sentence through the model you started from and through your fine-tuned copy.",
    )
)


def ask(model):
    if with_words:
        return run_or_stop(cached_words, model, text, words_text, top_k)
    return run_or_stop(cached_prediction, model, text, top_k)


with st.spinner("Asking the model…"):
    answer = ask(mlm)
    answers = {"base": ask(base), "fine-tuned": ask(tuned)} if compare else {}
    unwrap = (lambda r: r.variants[0].prediction) if with_words else (lambda r: r)
    result = unwrap(answer)
    versions = {version: unwrap(r) for version, r in answers.items()}

if compare:
    show_versions(
        result.masks, versions, answers if with_words else None, {"base": base.name, "fine-tuned": tuned.name}
    )
    candidates = pd.concat([r.candidates_frame().assign(model=v) for v, r in versions.items()], ignore_index=True)
elif variants:
    show_all_variants(answer, result.masks)
    candidates = answer.candidates_frame()
else:
    show_top_words(result, answer.words_frame() if with_words else None)
    candidates = result.candidates_frame()
show_joint(result, ("fine-tuned" if mlm is tuned else "base") if compare else None)

csv_column, json_column = st.columns(2)
# A few rows: made on every view. (A download made on click was cancelled in the browser test of eight sessions
# beside a fine-tune; the Attention page's zip, which is worth deferring, stays made on click.)
csv_column.download_button(
    "Download predictions (CSV)",
    candidates.to_csv(index=False).encode("utf-8"),
    file_name=download_name("predictions", mlm.name, text, "csv"),
    mime="text/csv",
    key="predict_download_csv",
)
if with_words and answer.words:
    words_frame = answer.ratios_frame() if variants else answer.words_frame()
    csv_column.download_button(
        "Download your words (CSV)",
        words_frame.to_csv(index=False).encode("utf-8"),
        file_name=download_name("words", mlm.name, text, "csv"),
        mime="text/csv",
        key="predict_download_words",
    )
json_column.download_button(
    "Download everything, joint fillings included (JSON)",
    json.dumps(answer.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"),
    file_name=download_name("predictions", mlm.name, text, "json"),
    mime="application/json",
    key="predict_download_json",
)
