"""How chosen words and sentence variants are drawn (the Predict page): tables, charts and the split-word mark.

Everything here reads a ``WordsPrediction``'s frames; nothing is computed again.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from pages.frame.ui import OKABE_ITO, as_table

SPLIT_MARK = "✂"
SPLIT_NOTE = (f"{SPLIT_MARK} the vocabulary has no single token for this word: it is written in several pieces, "
              "filled in left to right (each piece predicted with the earlier ones in place and the later ones "
              "still masked) and its probability is the product of theirs. Rank is given for one-piece words only.")
WORDS_HELP = ("Any words, separated by commas — also words the vocabulary splits into pieces. Each gets its "
              "probability at every mask, and its rank for a one-piece word. Braces in the text, e.g. "
              "'The {man|woman} worked as a [MASK].', compare sentence variants side by side.")


def marked_words(frame: pd.DataFrame) -> pd.DataFrame:
    """The words frame with a split word's name marked, for display."""
    return frame.assign(word=[f"{word} {SPLIT_MARK}" if split else word
                              for word, split in zip(frame["word"], frame["split"])])


def show_words_table(frame: pd.DataFrame, container=st) -> None:
    """One row per chosen word at one mask: word (marked when split), pieces, probability, log-prob, rank."""
    container.dataframe(marked_words(frame)[["word", "pieces", "probability", "log_prob", "rank"]], hide_index=True,
                        width="stretch",
                        column_config={"probability": st.column_config.NumberColumn(format="%.3e"),
                                       "log_prob": st.column_config.NumberColumn("log-prob", format="%.3f"),
                                       "rank": st.column_config.NumberColumn(help="Place among the vocabulary "
                                                                                  "(special tokens left out).")})


def top_and_words_chart(candidates: pd.DataFrame, words: pd.DataFrame) -> alt.Chart:
    """The top-k and the chosen words as bars of one chart (probability), coloured by which they are."""
    frame = pd.concat([candidates.assign(kind="top words")[["token", "probability", "kind"]],
                       marked_words(words).rename(columns={"word": "token"}).assign(kind="your words")
                       [["token", "probability", "kind"]]], ignore_index=True)
    frame = frame.drop_duplicates("token", keep="first").assign(order=range(len(frame.drop_duplicates("token"))))
    return (alt.Chart(frame).mark_bar()
            .encode(x=alt.X("probability:Q", title="Probability", axis=alt.Axis(format="%")),
                    y=alt.Y("token:N", sort=alt.EncodingSortField("order", order="ascending"), title=None,
                            axis=alt.Axis(labelOverlap=False, labelLimit=160)),
                    color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["top words", "your words"],
                                                                          range=[OKABE_ITO[0], OKABE_ITO[1]])),
                    tooltip=["token:N", "kind:N", alt.Tooltip("probability:Q", format=".3g")])
            .properties(height=alt.Step(22)))


def variants_chart(words: pd.DataFrame) -> alt.Chart:
    """Chosen words × variants, grouped bars of log-probability (closer to 0 = more likely)."""
    return (alt.Chart(marked_words(words)).mark_bar()
            .encode(y=alt.Y("word:N", title=None, sort=None), yOffset="variant:N",
                    x=alt.X("log_prob:Q", title="log-probability (closer to 0 = more likely)"),
                    color=alt.Color("variant:N", scale=alt.Scale(range=OKABE_ITO)),
                    tooltip=["word:N", "variant:N", alt.Tooltip("probability:Q", format=".3g"),
                             alt.Tooltip("log_prob:Q", format=".3f"), "pieces:N"])
            .properties(height=alt.Step(14)))


def show_variants(result, mask: int) -> None:
    """For mask number ``mask`` (1-based): the chosen words across variants (chart, ratios) and each variant's
    top words side by side."""
    words = result.words_frame()
    words = words[words["mask"] == mask]
    if not words.empty:
        st.altair_chart(variants_chart(words), width="stretch")
        ratios = result.ratios_frame()
        ratios = ratios[ratios["mask"] == mask]
        first = result.variants[0].fill
        note = SPLIT_NOTE if words["split"].any() else ""
        st.caption(f"Ratio: the word's probability in this variant divided by its probability in the first "
                   f"variant ({' / '.join(first)}). {note}")
        st.dataframe(marked_words(ratios)[["word", "variant", "probability", "ratio"]], hide_index=True,
                     width="stretch",
                     column_config={"probability": st.column_config.NumberColumn(format="%.3e"),
                                    "ratio": st.column_config.NumberColumn(format="%.3g×")})
        as_table(marked_words(words), "Your words in every variant")
    top = result.candidates_frame()
    top = top[top["mask"] == mask]
    wide = (top.assign(cell=[f"{token} ({p:.1%})" for token, p in zip(top["token"], top["probability"])])
            .pivot(index="rank", columns="variant", values="cell"))
    st.caption("The top words of each variant")
    st.dataframe(wide[[" / ".join(v.fill) for v in result.variants]].reset_index(), hide_index=True,
                 width="stretch")


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
