"""The Trace page through the real router: a deep link opens both texts and the heads grid, the page shows the
core's reading and grids, bad texts give one message, and a Score pair opens here with its texts."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import numpy as np
import pytest

from mlm_core.tasks.pair_files import load_suite
from mlm_core.tasks.trace import trace
from mlm_core.tasks.trace_pairs import pair_for_trace
from tests.app_support import open_page

CLEAN = "The keys to the cabinet [MASK] on the table."
CORRUPT = "The key to the cabinet [MASK] on the table."


@pytest.mark.slow
def test_link_opens_the_grids_and_the_cores_reading(demo):
    at = open_page("trace", "demo", clean=CLEAN, corrupt=CORRUPT, heads="1")
    assert not at.exception
    expected = trace(
        demo,
        CLEAN,
        CORRUPT,
        target=at.session_state["trace_target"],
        contrast=at.session_state["trace_contrast"],
        heads=True,
    )
    assert [info.value for info in at.info][0] == expected.reading()
    assert expected.values_line().startswith(
        f"{expected.metric_label()} at the mask: **{expected.clean_value:.3f}** "
        f"in the clean text, **{expected.corrupt_value:.3f}** in the corrupted"
    )
    assert expected.values_line() in [markdown.value for markdown in at.markdown]
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


@pytest.mark.slow
def test_a_typed_target_is_traced_and_a_split_one_refused_with_its_pieces(demo):
    at = open_page("trace", "demo", clean=CLEAN, corrupt=CORRUPT, target="were", contrast="(none)")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="trace_target").value == "were" and at.query_params["target"] == "were"
    expected = trace(demo, CLEAN, CORRUPT, target="were", contrast=None)
    assert [info.value for info in at.info][0] == expected.reading()
    assert expected.values_line().startswith(
        f"{expected.metric_label()} at the mask: **{expected.clean_value:.3f}** "
        f"in the clean text, **{expected.corrupt_value:.3f}** in the corrupted"
    )
    assert expected.values_line() in [markdown.value for markdown in at.markdown]
    np.testing.assert_allclose(
        at.dataframe[0].value.drop(columns="layer").to_numpy(), expected.layer_effects[::-1], atol=1e-6
    )
    at = open_page("trace", "demo", clean=CLEAN, corrupt=CORRUPT, target="hairdresser")
    assert not at.exception
    assert "Target 'hairdresser' is not one token for this model (it becomes: hair ##dre ##sser)" in at.error[0].value


@pytest.mark.slow
def test_a_score_pair_opens_trace_with_its_texts(demo):
    """Score (pairs) → the pair's "Trace this pair" link carries the core's texts; Trace opened with those
    parameters shows them and their grid. A pair that does not qualify says why in one line."""
    at = open_page("score", "demo", mode="pairs", suite="en-agreement-simple")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(
        c.value.startswith("Pair 1 cannot be traced: 'barks' and 'bark' are split into different numbers")
        for c in at.caption
    )
    assert not at.get("page_link") or all("clean" not in link.proto.query_string for link in at.get("page_link"))
    at.selectbox(key="score_trace_pair").select(1).run()
    pair = load_suite("en-agreement-simple")[1][1]
    expected = pair_for_trace(demo, pair.good, pair.bad)
    links = [link for link in at.get("page_link") if "clean" in link.proto.query_string]
    assert len(links) == 1 and links[0].proto.label == "Trace this pair"
    params = {key: values[0] for key, values in parse_qs(links[0].proto.query_string).items()}
    assert params == {"page": "trace", "model": "demo", "clean": expected.clean, "corrupt": expected.corrupt}
    at.selectbox(key="score_trace_hide::1").select(5).run()
    later = [link for link in at.get("page_link") if "clean" in link.proto.query_string][0]
    assert parse_qs(later.proto.query_string)["clean"] == [pair_for_trace(demo, pair.good, pair.bad, hide=5).clean]

    trace_page = open_page("trace", **{key: value for key, value in params.items() if key != "page"})
    assert not trace_page.exception and not trace_page.error, [e.value for e in trace_page.error]
    assert trace_page.text_area(key="trace_clean").value == expected.clean
    assert trace_page.text_area(key="trace_corrupt").value == expected.corrupt
    shown = trace_page.dataframe[0].value
    assert "2 [MASK]" in shown.columns and len(shown) == demo.num_layers + 1
    again = open_page("trace", **{key: value for key, value in params.items() if key != "page"})  # a later visit
    assert not again.exception and again.dataframe[0].value.equals(shown)  # reuses the result, no replay error
