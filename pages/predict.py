"""Predict: what would the model put where the [MASK] is?"""

import json

import pandas as pd
import streamlit as st

from mlm_core import predict
from mlm_core.tasks.predict import PREDICT_PARAMS
from mlm_core.tasks.variants import has_braces
from mlm_core.tasks.words import predict_words
from pages.charts.predict import probability_chart, top_and_words_chart
from pages.frame.links import link_widgets, linked_interval, linked_text, publish_view
from pages.frame.models import model_versions, shared_result
from pages.frame.routing import require_router
from pages.frame.ui import DEFAULT_TEXT, download_name, run_or_stop
from pages.frame.words_view import SPLIT_NOTE, WORDS_HELP, probability_column, show_variants, show_words_table

require_router()

TOP_K = PREDICT_PARAMS["top_k"]


def cached_prediction(mlm, text: str, top_k: int):
    return shared_result(("predict", mlm.name, text, top_k), lambda: predict(mlm, text, top_k=top_k))


def cached_words(mlm, text: str, words: str, top_k: int):
    return shared_result(("words", mlm.name, text, words, top_k), lambda: predict_words(mlm, text, words, top_k=top_k))


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

candidates = result.candidates_frame()
probabilities = probability_column([r.candidates_frame() for r in versions.values()] if compare else [candidates])
if compare:
    for mask in result.masks:
        st.subheader(f"Mask {mask.index + 1} of {len(result.masks)}" if len(result.masks) > 1 else "Best words")
        for column, (version, version_result) in zip(st.columns(2), versions.items()):
            frame = version_result.candidates_frame()
            column.caption(f"**{version}** · {base.name if version == 'base' else tuned.name}")
            column.dataframe(
                frame[frame["mask"] == mask.index + 1][["rank", "token", "probability"]],
                hide_index=True,
                width="stretch",
                column_config={"probability": probabilities},
            )
            if with_words and answers[version].words:
                words = answers[version].words_frame()
                show_words_table(words[words["mask"] == mask.index + 1], column)
    candidates = pd.concat(
        [version_result.candidates_frame().assign(model=version) for version, version_result in versions.items()],
        ignore_index=True,
    )
elif variants:
    st.caption(answer.variants_reading)
    for mask in result.masks:
        if len(result.masks) > 1:
            st.subheader(f"Mask {mask.index + 1} of {len(result.masks)}")
        show_variants(answer, mask.index + 1)
    candidates = answer.candidates_frame()
else:
    words_frame = answer.words_frame() if with_words else None
    for mask in result.masks:
        frame = candidates[candidates["mask"] == mask.index + 1]
        st.subheader(f"Mask {mask.index + 1} of {len(result.masks)}" if len(result.masks) > 1 else "Best words")
        table_column, chart_column = st.columns([3, 2])
        table_column.dataframe(
            frame[["rank", "token", "probability", "sentence"]],
            hide_index=True,
            width="stretch",
            column_config={"probability": probabilities},
        )
        if words_frame is not None and not words_frame.empty:
            mine = words_frame[words_frame["mask"] == mask.index + 1]
            table_column.caption("Your words")
            show_words_table(mine, table_column)
            chart_column.altair_chart(top_and_words_chart(frame, mine), width="stretch")
        else:
            chart_column.altair_chart(probability_chart(frame), width="stretch")
    if words_frame is not None and words_frame["split"].any():
        st.caption(SPLIT_NOTE)

if result.joint:
    st.subheader("Best combinations" + (f" ({'fine-tuned' if mlm is tuned else 'base'} model)" if compare else ""))
    st.caption(
        "Each mask is filled left to right with the earlier ones already filled in; the probability is "
        "the product of those conditional probabilities."
    )
    st.dataframe(
        result.joint_frame(),
        hide_index=True,
        width="stretch",
        column_config={"probability": st.column_config.NumberColumn(format="%.2e")},
    )
elif result.joint_skipped_reason:
    st.info(result.joint_skipped_reason)

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
