"""The Probe page through AppTest: a linked shipped task, what the page shows against the core, side by side."""

import json
from types import SimpleNamespace

import pytest
from app_support import APP, open_page
from streamlit.testing.v1 import AppTest

from mlm_core.tasks.probe import probe
from mlm_core.tasks.probe_files import load_probe_task, read_probe_rows

TASK = "en-word-sense"


@pytest.fixture(scope="module")
def expected(bert):
    task, rows = load_probe_task(TASK)
    return probe(bert, rows, task=TASK, property=task.property, folds=3, seed=1)


@pytest.mark.slow
def test_a_linked_task_shows_chart_table_reading_and_download(bert_dir, expected):
    at = open_page("probe", str(bert_dir), task=TASK, folds="3", seed="1")
    assert not at.exception and not at.error and not at.warning, [e.value for e in at.error]
    assert at.selectbox(key="probe_task").value == TASK
    table = at.dataframe[0].value
    assert list(table["layer"]) == [score.layer for score in expected.layers]
    assert list(table["accuracy"]) == pytest.approx([score.accuracy for score in expected.layers])
    assert list(table["control_accuracy"]) == pytest.approx([score.control_accuracy for score in expected.layers])
    assert list(table["majority"]) == pytest.approx([expected.majority] * len(expected.layers))
    assert any(block.value == expected.reading() for block in at.markdown)
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["x"]["field"] == "layer" and spec["encoding"]["y"]["field"] == "value"
    assert spec["encoding"]["color"]["scale"]["domain"] == [
        "probe on the task",
        "probe on the control task",
        "always the most common label",
    ]
    assert [b.proto.label for b in at.get("download_button")] == ["Download the accuracies (CSV)"]
    assert at.query_params["task"] == TASK and at.query_params["folds"] == "3"
    assert any("108 rows" in caption.value for caption in at.caption)


def test_a_bad_link_falls_back_with_a_notice(bert_dir):
    at = open_page("probe", str(bert_dir), task="no-such-task", folds="3")
    assert not at.exception and not at.error
    assert any("task='no-such-task'" in warning.value for warning in at.warning)
    assert at.selectbox(key="probe_task").value == "en-pos-noun-verb"


def test_base_and_fine_tuned_side_by_side(bert_dir, camembert, expected):
    """A fine-tuned copy in the session (here another model standing in for it) is probed beside the base."""
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in {"page": "probe", "model": str(bert_dir), "task": TASK, "folds": "3", "seed": "1"}.items():
        at.query_params[name] = value
    at.session_state["finetuned"] = SimpleNamespace(model=camembert, base_name=str(bert_dir))
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("vega_lite_chart")) == 2
    table = at.dataframe[0].value
    assert list(table["model"].unique()) == [str(bert_dir), camembert.name]
    base_rows = table[table["model"] == str(bert_dir)]
    assert list(base_rows["accuracy"]) == pytest.approx([score.accuracy for score in expected.layers])


def test_an_uploaded_file_is_probed_and_a_bad_one_names_its_row(bert_dir, bert):
    at = open_page("probe", str(bert_dir), folds="3")
    at.radio(key="probe_source").set_value("upload").run()
    assert not at.exception and any("Upload a file" in info.value for info in at.info)
    bad = "sentence,word,label\nthe cat sat .,cat,a\nthe dog sat .,horse,b\n"
    at.file_uploader(key="probe_file").set_value(("mine.csv", bad.encode(), "text/csv")).run()
    assert not at.exception
    assert at.error[0].value.startswith("'mine.csv', line 3: the word 'horse' cannot be probed")
    good = "sentence,word,label\n" + "the cat sat .,cat,a\nthe dog ran .,dog,b\n" * 3
    at.file_uploader(key="probe_file").set_value(("mine.csv", good.encode(), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = probe(bert, read_probe_rows(good.encode()), task="mine", folds=3, seed=0)
    assert list(at.dataframe[0].value["accuracy"]) == pytest.approx([s.accuracy for s in expected.layers])
    assert any(block.value == expected.reading() for block in at.markdown)
