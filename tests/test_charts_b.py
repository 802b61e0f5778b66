"""The chart builders of Score, Bias, Probe, Trace and Fine-tune (pages/charts): each chart carries the data it is
given and encodes the fields the page's table shows, with the same scales — built without Streamlit running."""

from __future__ import annotations

import pandas as pd

from mlm_core.tasks.probe import LayerScore, ProbeResult
from mlm_core.tasks.score import ScoreResult, SentenceScore, TokenScore
from pages.charts.bias import shares_chart
from pages.charts.finetune import loss_chart
from pages.charts.probe import SERIES, layers_chart
from pages.charts.score import categories_chart, differing_words, tokens_chart
from pages.charts.trace import effect_heatmap
from pages.frame.ui import OKABE_ITO


def values(spec: dict) -> list[dict]:
    """The rows of a chart's one inline data set."""
    (rows,) = spec["datasets"].values()
    return rows


def test_the_words_two_sentences_differ_in_are_found_case_blind():
    assert differing_words(["The", "keys", "are", "here"], ["the", "keys", "is", "here"]) == {2}
    assert differing_words(["a", "b"], ["a", "b"]) == set()


def test_the_tokens_chart_has_a_bar_per_piece_and_colours_the_differing_word():
    sentences = tuple(
        SentenceScore(text, tuple(TokenScore(k + 1, word, word, -0.5 * (k + 1)) for k, word in enumerate(text.split())))
        for text in ("keys are here", "keys is here")
    )
    spec = tokens_chart(ScoreResult("demo", "pll", sentences), "demo").to_dict()
    rows = values(spec)
    assert [(r["sentence"], r["label"], r["differs"]) for r in rows] == [
        (1, "1 keys", "same"),
        (1, "2 are", "differs"),
        (1, "3 here", "same"),
        (2, "1 keys", "same"),
        (2, "2 is", "differs"),
        (2, "3 here", "same"),
    ]
    encoding = spec["encoding"]
    assert encoding["x"]["field"] == "log_prob" and encoding["y"]["field"] == "label"
    assert encoding["color"]["scale"] == {"domain": ["same", "differs"], "range": [OKABE_ITO[4], OKABE_ITO[5]]}
    assert encoding["row"]["field"] == "sentence" and spec["resolve"]["scale"] == {"y": "independent"}
    assert spec["title"] == "demo"


def test_the_categories_chart_draws_accuracy_per_category_and_model():
    frame = pd.DataFrame(
        {"category": ["agreement", "agreement"], "accuracy": [0.75, 0.5], "pairs": [4, 4], "model": ["a", "b"]}
    )
    spec = categories_chart(frame).to_dict()
    assert [(r["model"], r["accuracy"]) for r in values(spec)] == [("a", 0.75), ("b", 0.5)]
    assert spec["mark"]["type"] == "bar" and spec["title"] == "Accuracy per category"
    assert spec["encoding"]["x"]["field"] == "accuracy" and spec["encoding"]["x"]["scale"] == {"domain": [0, 1]}
    assert spec["encoding"]["yOffset"]["field"] == "model" and spec["encoding"]["y"]["field"] == "category"


def test_the_shares_chart_layers_bars_intervals_and_the_fifty_percent_line():
    frame = pd.DataFrame(
        {
            "bias_type": ["gender", "age"],
            "stereotype_share": [0.6, 0.4],
            "low": [0.5, 0.3],
            "high": [0.7, 0.5],
            "pairs": [20, 20],
            "model": ["demo", "demo"],
        }
    )
    spec = shares_chart(frame).to_dict()
    bars, whiskers, middle = spec["layer"]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["field"] == "stereotype_share"
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("low", "high")
    assert middle["mark"]["strokeDash"] == [4, 4] and middle["encoding"]["x"]["field"] == "x"
    datasets = list(spec["datasets"].values())
    assert [{"x": 0.5}] in datasets
    assert any([r["bias_type"] for r in rows] == ["gender", "age"] for rows in datasets)


def test_the_probe_chart_has_the_three_series_per_layer_and_dashes_the_baseline():
    result = ProbeResult(
        "demo",
        "t",
        "Number",
        10,
        (("pl", 5), ("sg", 5)),
        0.5,
        "pl",
        (LayerScore(0, 0.6, 0.7), LayerScore(1, 0.9, 0.6)),
        5,
        0,
    )
    spec = layers_chart(result, "demo").to_dict()
    rows = {(r["layer"], r["series"]): r["value"] for r in values(spec)}
    assert rows == {
        (0, SERIES["accuracy"]): 0.6,
        (1, SERIES["accuracy"]): 0.9,
        (0, SERIES["control_accuracy"]): 0.7,
        (1, SERIES["control_accuracy"]): 0.6,
        (0, SERIES["majority"]): 0.5,
        (1, SERIES["majority"]): 0.5,
    }
    encoding = spec["encoding"]
    assert encoding["color"]["scale"] == {"domain": list(SERIES.values()), "range": OKABE_ITO[:3]}
    assert encoding["strokeDash"]["condition"]["value"] == [4, 4] and spec["title"] == "demo"


def test_the_trace_heatmap_is_centred_on_zero_and_keeps_the_token_order():
    frame = pd.DataFrame(
        {"layer": [0, 0, 1, 1], "token": ["0 b", "1 a", "0 b", "1 a"], "effect": [0.2, -2.5, 1.0, 0.1]}
    )
    spec = effect_heatmap(frame, "token", "token of the corrupted text", ["0 b", "1 a"]).to_dict()
    assert [r["effect"] for r in values(spec)] == [0.2, -2.5, 1.0, 0.1]
    encoding = spec["encoding"]
    assert encoding["color"]["scale"]["domain"] == [-2.5, 2.5] and encoding["color"]["scale"]["scheme"] == "redblue"
    assert encoding["x"]["sort"] == ["0 b", "1 a"] and encoding["y"]["title"] == "layer (0 = embeddings)"
    heads = effect_heatmap(frame.rename(columns={"token": "head"}).assign(effect=0.3), "head", "head").to_dict()
    assert heads["encoding"]["color"]["scale"]["domain"] == [-1.0, 1.0] and heads["encoding"]["y"]["title"] == "layer"


def test_the_loss_chart_draws_train_and_validation_in_fixed_colours():
    frame = pd.DataFrame({"step": [1, 2, 2], "loss": [3.0, 2.5, 2.7], "split": ["train", "train", "validation"]})
    spec = loss_chart(frame).to_dict()
    assert [(r["step"], r["split"]) for r in values(spec)] == [(1, "train"), (2, "train"), (2, "validation")]
    assert spec["encoding"]["color"]["scale"] == {"domain": ["train", "validation"], "range": OKABE_ITO[:2]}
    assert (spec["encoding"]["x"]["field"], spec["encoding"]["y"]["field"]) == ("step", "loss")
