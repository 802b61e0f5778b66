"""Score: how natural does the model find a sentence, and which of two sentences does it prefer?"""

import math
import time

import altair as alt
import pandas as pd
import streamlit as st

from mlm_core.tasks.pair_files import list_suites, load_suite, read_pairs
from mlm_core.tasks.pairs import PairsResult, disagreements, iter_pair_scores
from mlm_core.tasks.score import METHOD_HELP, METHODS, score
from pages.frame.links import link_widgets, linked_choice, linked_text, publish_view
from pages.frame.models import get_model, model_versions
from pages.frame.score_views import tokens_chart, trace_a_pair
from pages.frame.ui import OKABE_ITO, as_table, download_name, run_or_stop
from pages.frame.routing import require_router

require_router()

DEFAULT_SENTENCES = "The keys to the cabinet are on the table.\nThe keys to the cabinet is on the table."
MODES = {"sentences": "Type sentences", "pairs": "Test suites and files"}
RUN_KEY = "score_pairs_run"  # this session's pair scoring: {"key", "pairs", "scored": {model name: [...]}, ...}


@st.cache_data(max_entries=64, show_spinner=False)
def cached_score(model_name: str, sentences: tuple, method: str, _mlm):
    return score(_mlm, list(sentences), method=method)


def second_model(base, tuned, active):
    """The optional model to compare with: the other version of this model, or any model spec."""
    options = {"none": "Nothing"}
    other = base if active is tuned else tuned
    if other is not None:
        options["other"] = f"{'the base model' if other is base else 'your fine-tuned copy'} ({other.name})"
    options["spec"] = "Another model…"
    choice = st.selectbox("Compare with", list(options), format_func=options.get, key="score_compare",
                          help="Score the same sentences with a second model and show both side by side.")
    if choice == "other":
        return other
    if choice == "spec":
        spec = st.text_input("Model to compare with", key="score_compare_spec",
                             placeholder="a preset (e.g. demo), a Hugging Face id or an allowed folder").strip()
        if spec:
            with st.spinner(f"Loading '{spec}'…"):
                return run_or_stop(get_model, spec)
    return None


def preference_sentence(result) -> str:
    ranked = sorted(enumerate(result.sentences, start=1), key=lambda item: -item[1].pll)
    (best_number, best), (next_number, runner_up) = ranked[0], ranked[1]
    margin = best.pll - runner_up.pll
    if margin == 0:
        return f"**{result.model_name}** scores sentences {best_number} and {next_number} exactly the same."
    return (f"**{result.model_name}** prefers sentence {best_number} to sentence {next_number} by {margin:.2f} "
            f"(PLL {best.pll:.2f} against {runner_up.pll:.2f}: about {math.exp(min(margin, 700)):.3g} times "
            "more likely in its pseudo-likelihood).")


def show_sentences(models, method: str) -> None:
    text = st.text_area("Sentences, one per line", key="score_text", height=110,
                        help="Two sentences that differ in one place show which one the model prefers.")
    sentences = tuple(line.strip() for line in text.splitlines() if line.strip())
    with st.spinner("Scoring…"):
        results = [run_or_stop(cached_score, mlm.name, sentences, method, mlm) for mlm in models]
    columns = st.columns(len(results))
    for column, result in zip(columns, results):
        with column:
            if len(result.sentences) > 1:
                st.markdown(preference_sentence(result))
            st.dataframe(result.totals_frame(), hide_index=True, width="stretch",
                         column_config={"pll": st.column_config.NumberColumn("PLL", format="%.3f"),
                                        "pseudo_perplexity": st.column_config.NumberColumn(format="%.2f")})
            st.altair_chart(tokens_chart(result, result.model_name), width="stretch")
            as_table(result.tokens_frame(), f"The word pieces ({result.model_name})")
    tokens = pd.concat([r.tokens_frame().assign(model=r.model_name) for r in results], ignore_index=True)
    st.download_button("Download the scores (CSV)", tokens.to_csv(index=False).encode("utf-8"),
                       file_name=download_name("scores", models[0].name, text, "csv"), mime="text/csv",
                       key="score_download_tokens")


def chosen_pairs():
    """(an id for the source, its pairs, a name for downloads) from a shipped suite or an upload."""
    source = st.radio("Pairs from", ["suite", "upload"], horizontal=True, key="score_source",
                      format_func={"suite": "a shipped suite", "upload": "my file"}.get)
    if source == "upload":
        uploaded = st.file_uploader("Pairs file: CSV or TSV with a header 'good,bad' (optionally 'category'), or "
                                    "JSONL", type=["csv", "tsv", "jsonl", "txt"], key="score_file")
        if uploaded is None:
            st.info("Upload a file of sentence pairs, or pick a shipped suite.")
            st.stop()
        pairs = run_or_stop(read_pairs, uploaded.getvalue(), name=f"'{uploaded.name}'")
        return f"upload:{uploaded.file_id}", pairs, uploaded.name
    suites = {suite.key: suite for suite in list_suites()}
    key = st.selectbox("Suite", list(suites), key="score_suite",
                       format_func=lambda k: f"{suites[k].title} ({suites[k].language})")
    suite, pairs = run_or_stop(load_suite, key)
    st.caption(f"{suite.tests} {len(pairs)} pairs, written for MLM Explorer.")
    return f"suite:{key}", pairs, key


def run_pairs(models, method: str, source: str, pairs) -> dict:
    """Score every pair with every model, a chunk at a time; a click anywhere (Stop included) interrupts the
    loop, and what is finished stays in the session and is picked up again on the next run."""
    run_key = (tuple(mlm.name for mlm in models), method, source)
    run = st.session_state.get(RUN_KEY)
    if run is None or run["key"] != run_key:
        run = st.session_state[RUN_KEY] = {"key": run_key, "scored": {mlm.name: [] for mlm in models},
                                           "stopped": False}
    if st.session_state.get("score_stop"):
        run["stopped"] = True
    total = len(pairs) * len(models)
    done = sum(len(scored) for scored in run["scored"].values())
    if done < total and not run["stopped"]:
        stop = st.empty()
        stop.button("Stop — keep the finished pairs", key="score_stop")
        bar, started, at_start = st.progress(done / total, text="Scoring pairs…"), time.perf_counter(), done
        for mlm in models:
            scored = run["scored"][mlm.name]
            for chunk in run_or_stop(iter_pair_scores, mlm, pairs, method=method, start=len(scored)):
                scored.extend(chunk)
                done += len(chunk)
                left = (time.perf_counter() - started) / (done - at_start) * (total - done)
                bar.progress(done / total, text=f"{done:,} of {total:,} pairs scored · about {left:.0f} s left")
        bar.empty()
        stop.empty()
    elif run["stopped"] and done < total:
        st.warning(f"Stopped after {done:,} of {total:,} pairs; the results below are for the finished ones.")
        if st.button("Score the remaining pairs", key="score_resume"):
            run["stopped"] = False
            st.rerun()
    return run


def show_pairs(models, method: str) -> None:
    source, pairs, source_name = chosen_pairs()
    run = run_pairs(models, method, source, pairs)
    results = [PairsResult(mlm.name, method, tuple(run["scored"][mlm.name]), len(pairs)) for mlm in models]
    metrics = st.columns(len(results))
    for column, result in zip(metrics, results):
        column.metric(f"Accuracy · {result.model_name}", f"{result.accuracy:.1%}" if result.pairs else "–",
                      help="Share of pairs whose good sentence scores higher; ties count as failures.")
        column.caption(f"{len(result.pairs):,} pairs scored, {result.ties} tie{'s' if result.ties != 1 else ''}.")
    categories = pd.concat([r.categories_frame().assign(model=r.model_name) for r in results], ignore_index=True)
    if not categories.empty:
        st.altair_chart(alt.Chart(categories, title="Accuracy per category").mark_bar().encode(
            x=alt.X("accuracy:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("category:N", title=None), yOffset="model:N",
            color=alt.Color("model:N", scale=alt.Scale(range=OKABE_ITO)),
            tooltip=["model:N", "category:N", alt.Tooltip("accuracy:Q", format=".1%"), "pairs:Q"]), width="stretch")
        as_table(categories, "Accuracy per category")
    table = pd.concat([r.pairs_frame().assign(model=r.model_name) for r in results], ignore_index=True)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("pll_good", "pll_bad", "difference")})
    if len(results) == 2:
        disagree = disagreements(*results)
        st.subheader(f"Pairs the two models judge differently ({len(disagree)})")
        st.dataframe(disagree, hide_index=True, width="stretch")
    st.download_button("Download every pair (CSV)", table.to_csv(index=False).encode("utf-8"),
                       file_name=download_name("pairs", models[0].name, source_name, "csv"), mime="text/csv",
                       key="score_download_pairs")
    trace_a_pair(models[0], pairs)


st.title("Score sentences")
st.write("A masked language model has no single probability for a sentence, but it can rate every word given "
         "all the others: hide the word and see how likely the model finds it. The sum of these log-probabilities "
         "is the **pseudo-log-likelihood** (PLL) — closer to 0 means more natural to the model. Two sentences that "
         "differ in one place show which one it prefers.")

base, tuned, mlm = model_versions()
suite_keys = [suite.key for suite in list_suites()]
LINKED = [linked_choice("score_mode", "mode", "sentences", list(MODES)),
          linked_text("score_text", "text", DEFAULT_SENTENCES),
          linked_choice("score_method", "method", METHODS[0], list(METHODS)),
          linked_choice("score_suite", "suite", suite_keys[0], suite_keys)]
link_widgets(LINKED)
publish_view("score", LINKED)
settings = st.columns([2, 3, 3])
mode = settings[0].radio("What to score", list(MODES), format_func=MODES.get, key="score_mode")
method = settings[1].radio("Method", list(METHODS), key="score_method", captions=[METHOD_HELP[m] for m in METHODS])
with settings[2]:
    other = second_model(base, tuned, mlm)
models = [mlm] + ([other] if other is not None and other is not mlm else [])
(show_sentences if mode == "sentences" else show_pairs)(models, method)
