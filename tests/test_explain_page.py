"""The Explain page's methods through AppTest: integrated gradients with faithfulness, and the side-by-side view."""

import json

import pytest
from app_support import open_page
from streamlit.testing.v1 import AppTest

from mlm_core.tasks.gradients import integrated_gradients
from mlm_core.tasks.side_by_side import side_by_side

TEXT = "The cat sat on the [MASK] and looked around."


def open_explain(model: str, **params) -> AppTest:
    return open_page("explain", model, timeout=240, **params)


@pytest.mark.slow
def test_integrated_gradients_with_faithfulness(bert_dir, bert):
    at = open_explain(str(bert_dir), method="ig", steps="16", faithfulness="1", contrast="0")
    assert not at.exception and not at.error, [e.value for e in at.error]
    chosen = at.multiselect[0].value
    expected = integrated_gradients(bert, TEXT, targets=chosen, steps=16)
    metrics = {}
    for metric in at.metric:  # the first tab's metrics come first
        metrics.setdefault(metric.label, metric.value)
    target = expected.targets[0]
    assert float(metrics["completeness gap"]) <= 0.01 * abs(target.output - target.base_value)
    assert float(metrics["f(x): with every word"]) == pytest.approx(expected.targets[0].output, rel=1e-3)
    readings = [m.value for m in at.markdown if m.value.startswith("Hiding the ")]
    assert len(readings) == 2 and "integrated gradients ranks highest" in readings[0]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("Download the curves (CSV)") == 2 and "Download the values (CSV)" in labels
    layered = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert sum("layer" in spec for spec in layered) == 2  # one curve chart per target: band, mean, the curve
    assert at.query_params["method"] == "ig" and at.query_params["steps"] == "16"


@pytest.mark.slow
def test_side_by_side_shows_agreement_faithfulness_and_a_verdict(bert_dir, bert):
    at = open_explain(str(bert_dir), method="compare", steps="8")
    assert not at.exception and not at.error, [e.value for e in at.error]
    target = at.multiselect[0].value[0]
    expected = side_by_side(bert, TEXT, target=target, steps=8)
    assert any(m.value == expected.verdict() for m in at.markdown)
    words, correlations, faithful = (frame.value for frame in at.dataframe)
    assert list(correlations.columns) == ["SHAP", "integrated gradients", "attention rollout"]
    assert list(faithful["comprehensiveness"]) == pytest.approx([f.comprehensiveness for f in expected.faithfulness])
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the word scores and ranks (CSV)", "Download the curves (CSV)"]
    assert len(at.get("vega_lite_chart")) == 4  # three methods' word charts and the curves


def test_a_bad_link_value_falls_back_with_a_notice(bert_dir):
    at = open_explain(str(bert_dir), method="lime")
    assert not at.exception
    assert any("method='lime' does not fit here" in w.value for w in at.warning)
    assert at.query_params.get("method") is None  # back to the default, SHAP
