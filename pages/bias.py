"""Bias: does the model prefer the more stereotypical sentence of a pair? The CrowS-Pairs metric on pair files."""

import pandas as pd
import streamlit as st

from mlm_core.tasks.bias import LIMITS, bias_scores, side_by_side
from mlm_core.tasks.bias_files import list_bias_suites, load_bias_suite, read_bias_pairs
from pages.charts.bias import shares_chart
from pages.frame.choices import FileChoice, chosen_rows, second_model
from pages.frame.links import link_widgets, linked_choice, linked_text, publish_view
from pages.frame.models import model_versions, shared_result
from pages.frame.routing import require_router
from pages.frame.ui import as_table, download_name, run_or_stop

require_router()

SOURCES = {"suite": "a shipped suite", "upload": "my file (e.g. CrowS-Pairs' CSV)"}
COMPARE = {"none": "Nothing", "other": "the other version of this model", "spec": "Another model…"}
PAIRS = FileChoice(
    prefix="bias",
    label="Pairs from",
    options=SOURCES,
    upload_label="Pairs file: CSV or TSV with the columns sent_more, sent_less, stereo_antistereo, "
    "bias_type (CrowS-Pairs' own file uploads as it is)",
    upload_types=("csv", "tsv", "txt"),
    upload_notice="Upload a file of bias pairs, or pick the shipped suite.",
    read=read_bias_pairs,
    shipped_label="Suite",
    listing=list_bias_suites,
    load=load_bias_suite,
    title=lambda suite: suite.title,
    noun="pairs",
)


def scored(model, source: str, pairs):
    def compute():
        bar = st.progress(0.0, text=f"Scoring {len(pairs):,} pairs with {model.name}…")
        result = run_or_stop(
            bias_scores,
            model,
            pairs,
            on_progress=lambda done, total: bar.progress(
                done / total, text=f"{done:,} of {total:,} pairs scored with {model.name}"
            ),
        )
        bar.empty()
        return result

    return shared_result(("bias", model.name, source), compute)


st.title("Social bias")
st.write(
    "Does the model prefer sentences that state a stereotype? Each pair has a **more** and a **less** "
    "stereotypical sentence that differ in a few words. Following CrowS-Pairs (Nangia et al. 2020), the words "
    "both sentences share are hidden one at a time and their log-probabilities summed; the model prefers the "
    "stereotype on a pair when the more stereotypical sentence gets the higher score. 50 % means no "
    "preference either way."
)

base, tuned, mlm = model_versions()
suite_keys = [suite.key for suite in list_bias_suites()]
LINKED = [
    linked_choice("bias_source", "source", "suite", list(SOURCES)),
    linked_choice("bias_suite", "suite", suite_keys[0], suite_keys),
    linked_choice("bias_compare", "compare", "none", list(COMPARE)),
    linked_text("bias_compare_spec", "compare_model", ""),
]
link_widgets(LINKED)
publish_view("bias", LINKED)
settings = st.columns([3, 2])
with settings[0]:
    chosen = chosen_rows(PAIRS)
with settings[1]:
    other = second_model(
        base,
        tuned,
        mlm,
        prefix="bias",
        options=COMPARE,
        help="Score the same pairs with a second model, e.g. your fine-tuned copy.",
    )
models = [mlm] + ([other] if other is not None and other is not mlm else [])
results = [scored(model, chosen.source, chosen.rows) for model in models]

for column, result in zip(st.columns(len(results)), results):
    low, high = result.interval
    column.metric(
        f"Prefers the stereotype · {result.model_name}",
        f"{result.stereotype_share:.1%}",
        help="Share of pairs whose more stereotypical sentence scores higher (ties count against); "
        "95 % Wilson score interval below.",
    )
    column.caption(result.reading())
st.info(LIMITS, icon=":material/info:")

categories = pd.concat([r.groups_frame().assign(model=r.model_name) for r in results], ignore_index=True)
directions = pd.concat([r.groups_frame("direction").assign(model=r.model_name) for r in results], ignore_index=True)
st.subheader("By bias type")
st.altair_chart(shares_chart(categories), width="stretch")
st.caption("Bars: the share of pairs; lines: its 95 % Wilson interval; dashed: 50 %, no preference.")
percent = st.column_config.NumberColumn(format="percent")
shares = {"stereotype_share": percent, "low": percent, "high": percent}
as_table(categories, "Shares by bias type", column_config=shares)
as_table(
    directions,
    "Shares by direction (stereo: the more stereotypical sentence states a stereotype; "
    "antistereo: the less stereotypical one breaks one)",
    column_config=shares,
)

st.subheader("Pairs by margin")
st.caption(
    "Margin = score of the more stereotypical sentence − score of the less stereotypical one (log-probability "
    "of the shared words); the pairs at the top are those the model prefers the stereotype on most."
)
number = st.column_config.NumberColumn(format="%.3f")
if len(results) == 2:
    table = side_by_side(*results)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={c: number for c in table.columns if c.startswith("margin") or c == "change"},
    )
else:
    table = results[0].pairs_frame()
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={c: number for c in ("score_more", "score_less", "margin")},
    )
every_pair = pd.concat([r.pairs_frame().assign(model=r.model_name) for r in results], ignore_index=True)
csv_column, categories_column = st.columns(2)
csv_column.download_button(
    "Download every pair (CSV)",
    every_pair.to_csv(index=False).encode("utf-8"),
    file_name=download_name("bias-pairs", mlm.name, chosen.name, "csv"),
    mime="text/csv",
    key="bias_download_pairs",
)
categories_column.download_button(
    "Download the shares (CSV)",
    pd.concat([categories, directions]).to_csv(index=False).encode("utf-8"),
    file_name=download_name("bias-shares", mlm.name, chosen.name, "csv"),
    mime="text/csv",
    key="bias_download_shares",
)
