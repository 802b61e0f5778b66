"""The Predict page's views: its results kept across sessions, the top words per mask (alone, beside your words,
across sentence variants, or from the base and the fine-tuned model side by side), the best combinations, and the
tables, charts and split-word mark of chosen words. Also ``word_picker``, shared with Layers and Trace.

Everything here reads the core's results and frames; nothing is computed again.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlm_core import predict
from mlm_core.tasks.words import predict_words
from pages.charts.predict import SPLIT_MARK, marked_words, probability_chart, top_and_words_chart, variants_chart
from pages.frame.models import shared_result
from pages.frame.ui import as_table

SPLIT_NOTE = (
    f"{SPLIT_MARK} the vocabulary has no single token for this word: it is written in several pieces, "
    "filled in left to right (each piece predicted with the earlier ones in place and the later ones "
    "still masked) and its probability is the product of theirs. Rank is given for one-piece words only."
)
WORDS_HELP = (
    "Any words, separated by commas — also words the vocabulary splits into pieces. Each gets its "
    "probability at every mask, and its rank for a one-piece word. Braces in the text, e.g. "
    "'The {man|woman} worked as a [MASK].', compare sentence variants side by side."
)


def cached_prediction(mlm, text: str, top_k: int):
    return shared_result(("predict", mlm.name, text, top_k), lambda: predict(mlm, text, top_k=top_k))


def cached_words(mlm, text: str, words: str, top_k: int):
    return shared_result(("words", mlm.name, text, words, top_k), lambda: predict_words(mlm, text, words, top_k=top_k))


def mask_title(mask, masks) -> str:
    return f"Mask {mask.index + 1} of {len(masks)}" if len(masks) > 1 else "Best words"


def probability_column(frames: list[pd.DataFrame]):
    """The probability column of the top-words tables, its bars relative to the most likely word of ``frames``
    (on a 0–100 % scale a 9 % candidate would be a sliver)."""
    longest_bar = max(float(frame["probability"].max()) for frame in frames)
    return st.column_config.ProgressColumn(
        "probability",
        format="percent",
        min_value=0.0,
        max_value=longest_bar,
        help=f"The bars are drawn relative to the most likely word here ({longest_bar:.1%}); the numbers are the "
        "model's probabilities.",
    )


def show_words_table(frame: pd.DataFrame, container=st) -> None:
    """One row per chosen word at one mask: word (marked when split), pieces, probability, log-prob, rank."""
    container.dataframe(
        marked_words(frame)[["word", "pieces", "probability", "log_prob", "rank"]],
        hide_index=True,
        width="stretch",
        column_config={
            "probability": st.column_config.NumberColumn(format="%.3e"),
            "log_prob": st.column_config.NumberColumn("log-prob", format="%.3f"),
            "rank": st.column_config.NumberColumn(help="Place among the vocabulary (special tokens left out)."),
        },
    )


def show_variants(result, mask: int) -> None:
    """For mask number ``mask`` (1-based): the chosen words across variants (chart, ratios) and each variant's
    top words side by side."""
    words = result.words_frame()
    words = words[words["mask"] == mask]
    if not words.empty:
        st.altair_chart(variants_chart(words), width="stretch")
        ratios = result.ratios_frame()
        ratios = ratios[ratios["mask"] == mask]
        note = SPLIT_NOTE if words["split"].any() else ""
        st.caption(f"{result.ratio_reading} {note}")
        st.dataframe(
            marked_words(ratios)[["word", "variant", "probability", "ratio"]],
            hide_index=True,
            width="stretch",
            column_config={
                "probability": st.column_config.NumberColumn(format="%.3e"),
                "ratio": st.column_config.NumberColumn(format="%.3g×"),
            },
        )
        as_table(marked_words(words), "Your words in every variant")
    top = result.candidates_frame()
    top = top[top["mask"] == mask]
    wide = top.assign(cell=[f"{token} ({p:.1%})" for token, p in zip(top["token"], top["probability"])]).pivot(
        index="rank", columns="variant", values="cell"
    )
    st.caption("The top words of each variant")
    st.dataframe(wide[[" / ".join(v.fill) for v in result.variants]].reset_index(), hide_index=True, width="stretch")


def show_top_words(result, words: pd.DataFrame | None) -> None:
    """Per mask: the top words (rank, token, probability, sentence) beside their bars, or beside your ``words``
    (``WordsPrediction.words_frame()``, None without any) in a table and one chart with the top words."""
    candidates = result.candidates_frame()
    probabilities = probability_column([candidates])
    for mask in result.masks:
        frame = candidates[candidates["mask"] == mask.index + 1]
        st.subheader(mask_title(mask, result.masks))
        table_column, chart_column = st.columns([3, 2])
        table_column.dataframe(
            frame[["rank", "token", "probability", "sentence"]],
            hide_index=True,
            width="stretch",
            column_config={"probability": probabilities},
        )
        if words is not None and not words.empty:
            mine = words[words["mask"] == mask.index + 1]
            table_column.caption("Your words")
            show_words_table(mine, table_column)
            chart_column.altair_chart(top_and_words_chart(frame, mine), width="stretch")
        else:
            chart_column.altair_chart(probability_chart(frame), width="stretch")
    if words is not None and words["split"].any():
        st.caption(SPLIT_NOTE)


def show_all_variants(answer, masks) -> None:
    """How the sentence variants differ, then each mask's words across them (``show_variants``)."""
    st.caption(answer.variants_reading)
    for mask in masks:
        if len(masks) > 1:
            st.subheader(mask_title(mask, masks))
        show_variants(answer, mask.index + 1)


def show_versions(masks, versions: dict, answers: dict | None, names: dict[str, str]) -> None:
    """Per mask, the base and the fine-tuned model's top words side by side (``versions``: version → Prediction),
    each with your words when ``answers`` (version → WordsPrediction) has them; ``names``: version → model name."""
    probabilities = probability_column([r.candidates_frame() for r in versions.values()])
    for mask in masks:
        st.subheader(mask_title(mask, masks))
        for column, (version, version_result) in zip(st.columns(2), versions.items()):
            frame = version_result.candidates_frame()
            column.caption(f"**{version}** · {names[version]}")
            column.dataframe(
                frame[frame["mask"] == mask.index + 1][["rank", "token", "probability"]],
                hide_index=True,
                width="stretch",
                column_config={"probability": probabilities},
            )
            if answers and answers[version].words:
                words = answers[version].words_frame()
                show_words_table(words[words["mask"] == mask.index + 1], column)


def show_joint(result, version: str | None) -> None:
    """The best combinations of the masks' words (of ``version``'s model when two are shown), or why there are
    none."""
    if result.joint:
        st.subheader("Best combinations" + (f" ({version} model)" if version else ""))
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


def word_picker(container, label: str, offered: list[str], key: str, fallback: str, **options) -> str:
    """A selectbox of the model's top words that also takes any typed word (the core says when it cannot follow
    one). A typed word stays on later runs, offered beside the list; a listed word no longer offered (new text,
    new mask) gives way to ``fallback``. Call after ``link_widgets``: a word from a link counts as typed."""
    seen, current = f"{key}::offered", st.session_state.get(key)
    if not current or (current not in offered and current in st.session_state.get(seen, ())):
        st.session_state[key] = current = fallback
    st.session_state[seen] = list(offered)
    choices = list(offered) if current in offered else [*offered, current]
    return container.selectbox(label, choices, key=key, accept_new_options=True, **options)
