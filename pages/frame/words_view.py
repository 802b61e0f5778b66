"""How chosen words and sentence variants are drawn (the Predict page): tables, charts and the split-word mark.

Everything here reads a ``WordsPrediction``'s frames; nothing is computed again.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.charts.predict import SPLIT_MARK, marked_words, variants_chart
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
