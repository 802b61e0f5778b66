"""The Trace page through the real router: a deep link opens both texts and the heads grid, the page shows the
core's reading and grids, and bad texts give one message."""

from __future__ import annotations

import json

import numpy as np

from mlm_core.tasks.trace import trace
from tests.app_support import open_page

CLEAN = "The keys to the cabinet [MASK] on the table."
CORRUPT = "The key to the cabinet [MASK] on the table."


def test_link_opens_the_grids_and_the_cores_reading(demo):
    at = open_page("trace", "demo", clean=CLEAN, corrupt=CORRUPT, heads="1")
    assert not at.exception
    expected = trace(demo, CLEAN, CORRUPT, target=at.session_state["trace_target"],
                     contrast=at.session_state["trace_contrast"], heads=True)
    assert [info.value for info in at.info][0] == expected.reading()
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert len(charts) == 2
    shown = at.dataframe[0].value  # the grid's table: layers from the last down, one column per token
    assert list(shown["layer"]) == list(range(demo.num_layers, -1, -1))
    np.testing.assert_allclose(shown.drop(columns="layer").to_numpy(), expected.layer_effects[::-1], atol=1e-6)
    assert at.dataframe[1].value["effect"].tolist() == expected.heads_frame()["effect"].tolist()
    assert at.query_params["page"] == "trace" and at.query_params["heads"] == "1"


def test_texts_of_different_lengths_give_one_message(demo):
    at = open_page("trace", "demo", clean=CLEAN, corrupt="The keys to the big cabinet [MASK] on the table.")
    assert not at.exception
    assert "same number of tokens" in at.error[0].value


def test_a_typed_target_is_traced_and_a_split_one_refused_with_its_pieces(demo):
    at = open_page("trace", "demo", clean=CLEAN, corrupt=CORRUPT, target="were", contrast="(none)")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="trace_target").value == "were" and at.query_params["target"] == "were"
    expected = trace(demo, CLEAN, CORRUPT, target="were", contrast=None)
    assert [info.value for info in at.info][0] == expected.reading()
    np.testing.assert_allclose(at.dataframe[0].value.drop(columns="layer").to_numpy(), expected.layer_effects[::-1],
                               atol=1e-6)
    at = open_page("trace", "demo", clean=CLEAN, corrupt=CORRUPT, target="hairdresser")
    assert not at.exception
    assert "Target 'hairdresser' is not one token for this model (it becomes: hair ##dre ##sser)" in at.error[0].value
