"""Views of the Score page kept outside its script: where pairs come from, this session's resumable run of
them, and one minimal pair sent to Trace."""

from __future__ import annotations

import streamlit as st

from mlm_core.errors import InputError
from mlm_core.model import MaskedLM
from mlm_core.tasks.pair_files import Pair, list_suites, load_suite, read_pairs
from mlm_core.tasks.pair_runs import PairsRun
from mlm_core.tasks.trace_pairs import HIDE_HELP, PairTrace, pair_for_trace
from pages.frame.choices import FileChoice
from pages.frame.models import MODEL_SPEC_KEY
from pages.frame.registry import PAGES_BY_KEY
from pages.frame.ui import run_or_stop

RUN_KEY = "score_pairs_run"  # this session's PairsRun: what is scored so far, kept across reruns
PAIRS = FileChoice(
    prefix="score",
    label="Pairs from",
    options={"suite": "a shipped suite", "upload": "my file"},
    upload_label="Pairs file: CSV or TSV with a header 'good,bad' (optionally 'category'), or JSONL",
    upload_types=("csv", "tsv", "jsonl", "txt"),
    upload_notice="Upload a file of sentence pairs, or pick a shipped suite.",
    read=read_pairs,
    shipped_label="Suite",
    listing=list_suites,
    load=load_suite,
    title=lambda suite: f"{suite.title} ({suite.language})",
    noun="pairs",
)


def run_pairs(models, method: str, source: str, pairs) -> PairsRun:
    """This session's scoring of the pairs, advanced a chunk at a time; a click anywhere (Stop included)
    interrupts the loop, and what is finished is picked up again on the next run."""
    run = st.session_state[RUN_KEY] = PairsRun.continued(st.session_state.get(RUN_KEY), models, method, source, pairs)
    if st.session_state.get("score_stop"):
        run.stop()
    if run.needs_work:
        stop = st.empty()
        stop.button("Stop — keep the finished pairs", key="score_stop")
        bar = st.progress(run.done / run.total, text="Scoring pairs…")
        for fraction, text in run_or_stop(run.advance, models):
            bar.progress(fraction, text=text)
        bar.empty()
        stop.empty()
    elif run.interrupted:
        st.warning(run.notice())
        if st.button("Score the remaining pairs", key="score_resume"):
            run.resume()
            st.rerun()
    return run


def trace_params(traced: PairTrace) -> dict[str, str]:
    """The Trace page's link parameters for a pair (its texts, and the model chosen in the sidebar)."""
    spec = st.session_state.get(MODEL_SPEC_KEY)
    return {"page": "trace", **({"model": spec} if spec else {}), "clean": traced.clean, "corrupt": traced.corrupt}


def trace_a_pair(mlm: MaskedLM, pairs: list[Pair]) -> None:
    """Pick one pair and a shared word to hide, and open Trace with both texts filled in (one click); a pair that
    cannot be traced says why in one line."""
    st.subheader("Trace a pair")
    st.caption(HIDE_HELP)
    left, right = st.columns([3, 1])
    number = left.selectbox(
        "Pair",
        range(len(pairs)),
        key="score_trace_pair",
        format_func=lambda i: f"{i + 1}. {pairs[i].good} / {pairs[i].bad}",
    )
    pair = pairs[number]
    try:
        traced = pair_for_trace(mlm, pair.good, pair.bad)
        words = dict(traced.choices)
        hide = right.selectbox(
            "Word to hide",
            list(words),
            index=list(words).index(traced.hidden),
            format_func=lambda i: f"{words[i]} (word {i + 1})",
            key=f"score_trace_hide::{number}",
        )
        if hide != traced.hidden:
            traced = pair_for_trace(mlm, pair.good, pair.bad, hide=hide)
    except InputError as error:
        st.caption(f"Pair {number + 1} cannot be traced: {error}")
        return
    st.markdown(traced.summary())
    st.page_link(
        PAGES_BY_KEY["trace"].path, label="Trace this pair", icon=":material/route:", query_params=trace_params(traced)
    )
