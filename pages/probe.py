"""Probe: what each layer encodes — a linear probe per layer, against a control task and the majority baseline."""

from pathlib import Path

import pandas as pd
import streamlit as st

from mlm_core.tasks.probe import PROBE_PARAMS, probe
from mlm_core.tasks.probe_files import list_probe_tasks, load_probe_task, read_probe_rows
from pages.charts.probe import layers_chart
from pages.frame.choices import FileChoice, chosen_rows
from pages.frame.links import link_widgets, linked_choice, linked_interval, publish_view
from pages.frame.models import model_versions, shared_result
from pages.frame.routing import require_router
from pages.frame.ui import download_name, run_or_stop

require_router()

SOURCES = {"task": "a shipped task", "upload": "my file"}
ROWS = FileChoice(
    prefix="probe",
    label="Rows from",
    options=SOURCES,
    upload_label="Probing file: CSV or TSV with a header 'sentence,word,label' (optionally 'occurrence'), or JSONL",
    upload_types=("csv", "tsv", "jsonl", "txt"),
    upload_notice="Upload a file of words in sentences with their labels, or pick a shipped task.",
    read=read_probe_rows,
    shipped_label="Task",
    listing=list_probe_tasks,
    load=load_probe_task,
    title=lambda task: task.title,
    noun="rows",
)


def probed(mlm, source: str, name: str, property_name: str, rows, folds: int, seed: int):
    """The probe's result, shared across sessions; a progress bar while it runs."""

    def compute():
        bar = st.progress(0.0, text=f"Probing {mlm.name}…")
        result = run_or_stop(
            probe,
            mlm,
            rows,
            task=name,
            property=property_name,
            folds=folds,
            seed=seed,
            on_progress=lambda fraction, what: bar.progress(fraction, text=f"{mlm.name}: {what}"),
        )
        bar.empty()
        return result

    return shared_result(("probe", mlm.name, source, folds, seed), compute)


st.title("Probe the layers")
st.write(
    "Which layer's representation of a word tells its part of speech, its number or its sense? A simple "
    "classifier (a **probe**) is trained on each layer's vectors of the words and tested on held-out rows. "
    "A **control task** gives every word one random label that only memorising the word can learn "
    "(Hewitt & Liang 2019): **selectivity**, accuracy minus control accuracy, shows what the layer encodes "
    "beyond the word itself."
)

base, tuned, mlm = model_versions()
task_keys = [task.key for task in list_probe_tasks()]
LINKED = [
    linked_choice("probe_source", "source", "task", list(SOURCES)),
    linked_choice("probe_task", "task", task_keys[0], task_keys),
    linked_interval("probe_folds", "folds", 5, PROBE_PARAMS["folds"]),
    linked_interval("probe_seed", "seed", 0, PROBE_PARAMS["seed"]),
]
link_widgets(LINKED)
publish_view("probe", LINKED)
chosen = chosen_rows(ROWS)
name, property_name = (chosen.name, chosen.header.property) if chosen.header else (Path(chosen.name).stem, "The label")
with st.expander("Folds and seed"):
    folds = st.slider(
        "Folds",
        *PROBE_PARAMS["folds"].widget_range,
        key="probe_folds",
        help="Accuracy is the mean over this many stratified folds: each row is tested once.",
    )
    seed = st.number_input(
        "Seed",
        *PROBE_PARAMS["seed"].widget_range,
        key="probe_seed",
        help="Shuffles the folds and draws the control task's labels.",
    )
compare = tuned is not None and st.toggle(
    "Base and fine-tuned side by side",
    value=True,
    key="probe_compare",
    help="The same task on the model you started from and on your fine-tuned copy.",
)
models = [base, tuned] if compare else [mlm]

results = [probed(model, chosen.source, name, property_name, chosen.rows, folds, int(seed)) for model in models]
st.caption(results[0].summary())
for column, result in zip(st.columns(len(results)), results):
    with column:
        st.altair_chart(layers_chart(result, result.model_name), width="stretch")
        st.markdown(result.reading())
table = pd.concat([result.frame().assign(model=result.model_name) for result in results], ignore_index=True)
st.dataframe(
    table[["model", "layer", "accuracy", "control_accuracy", "selectivity", "majority"]],
    hide_index=True,
    width="stretch",
    column_config={
        column: st.column_config.NumberColumn(format="%.3f")
        for column in ("accuracy", "control_accuracy", "selectivity", "majority")
    },
)
st.download_button(
    "Download the accuracies (CSV)",
    table.to_csv(index=False).encode("utf-8"),
    file_name=download_name("probe", models[0].name, name, "csv"),
    mime="text/csv",
    key="probe_download",
)
