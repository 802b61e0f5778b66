"""Score: how natural does the model find a sentence, and which of two sentences does it prefer?"""

import pandas as pd
import streamlit as st

from mlm_core.tasks.pair_files import list_suites
from mlm_core.tasks.pairs import disagreements
from mlm_core.tasks.score import METHOD_HELP, METHODS, score
from pages.charts.score import categories_chart, tokens_chart
from pages.frame.choices import chosen_rows, second_model
from pages.frame.links import link_widgets, linked_choice, linked_text, publish_view
from pages.frame.models import model_versions, shared_result
from pages.frame.routing import require_router
from pages.frame.score_views import PAIRS, run_pairs, trace_a_pair
from pages.frame.ui import as_table, download_name, run_or_stop

require_router()

DEFAULT_SENTENCES = "The keys to the cabinet are on the table.\nThe keys to the cabinet is on the table."
MODES = {"sentences": "Type sentences", "pairs": "Test suites and files"}


def show_sentences(models, method: str) -> None:
    text = st.text_area(
        "Sentences, one per line",
        key="score_text",
        height=110,
        help="Two sentences that differ in one place show which one the model prefers.",
    )
    sentences = tuple(line.strip() for line in text.splitlines() if line.strip())
    with st.spinner("Scoring…"):
        results = [
            run_or_stop(
                shared_result,
                ("score", mlm.name, sentences, method),
                lambda mlm=mlm: score(mlm, list(sentences), method=method),
            )
            for mlm in models
        ]
    for column, result in zip(st.columns(len(results)), results):
        with column:
            if result.preference() is not None:
                st.markdown(result.preference())
            st.dataframe(
                result.totals_frame(),
                hide_index=True,
                width="stretch",
                column_config={
                    "pll": st.column_config.NumberColumn("PLL", format="%.3f"),
                    "pseudo_perplexity": st.column_config.NumberColumn(format="%.2f"),
                },
            )
            st.altair_chart(tokens_chart(result, result.model_name), width="stretch")
            as_table(result.tokens_frame(), f"The word pieces ({result.model_name})")
    tokens = pd.concat([r.tokens_frame().assign(model=r.model_name) for r in results], ignore_index=True)
    st.download_button(
        "Download the scores (CSV)",
        tokens.to_csv(index=False).encode("utf-8"),
        file_name=download_name("scores", models[0].name, text, "csv"),
        mime="text/csv",
        key="score_download_tokens",
    )


def show_pairs(models, method: str) -> None:
    chosen = chosen_rows(PAIRS)
    results = run_pairs(models, method, chosen.source, chosen.rows).results()
    for column, result in zip(st.columns(len(results)), results):
        column.metric(
            f"Accuracy · {result.model_name}",
            f"{result.accuracy:.1%}" if result.pairs else "–",
            help="Share of pairs whose good sentence scores higher; ties count as failures.",
        )
        column.caption(result.summary())
    categories = pd.concat([r.categories_frame().assign(model=r.model_name) for r in results], ignore_index=True)
    if not categories.empty:
        st.altair_chart(categories_chart(categories), width="stretch")
        as_table(categories, "Accuracy per category")
    table = pd.concat([r.pairs_frame().assign(model=r.model_name) for r in results], ignore_index=True)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("pll_good", "pll_bad", "difference")},
    )
    if len(results) == 2:
        disagree = disagreements(*results)
        st.subheader(f"Pairs the two models judge differently ({len(disagree)})")
        st.dataframe(disagree, hide_index=True, width="stretch")
    st.download_button(
        "Download every pair (CSV)",
        table.to_csv(index=False).encode("utf-8"),
        file_name=download_name("pairs", models[0].name, chosen.name, "csv"),
        mime="text/csv",
        key="score_download_pairs",
    )
    trace_a_pair(models[0], chosen.rows)


st.title("Score sentences")
st.write(
    "A masked language model has no single probability for a sentence, but it can rate every word given "
    "all the others: hide the word and see how likely the model finds it. The sum of these log-probabilities "
    "is the **pseudo-log-likelihood** (PLL) — closer to 0 means more natural to the model. Two sentences that "
    "differ in one place show which one it prefers."
)

base, tuned, mlm = model_versions()
suite_keys = [suite.key for suite in list_suites()]
LINKED = [
    linked_choice("score_mode", "mode", "sentences", list(MODES)),
    linked_text("score_text", "text", DEFAULT_SENTENCES),
    linked_choice("score_method", "method", METHODS[0], list(METHODS)),
    linked_choice("score_suite", "suite", suite_keys[0], suite_keys),
]
link_widgets(LINKED)
publish_view("score", LINKED)
settings = st.columns([2, 3, 3])
mode = settings[0].radio("What to score", list(MODES), format_func=MODES.get, key="score_mode")
method = settings[1].radio("Method", list(METHODS), key="score_method", captions=[METHOD_HELP[m] for m in METHODS])
with settings[2]:
    other = second_model(
        base,
        tuned,
        mlm,
        prefix="score",
        help="Score the same sentences with a second model and show both side by side.",
    )
models = [mlm] + ([other] if other is not None and other is not mlm else [])
(show_sentences if mode == "sentences" else show_pairs)(models, method)
