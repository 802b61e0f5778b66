"""The pure chart builders of Predict, Layers, Attention, Embeddings and Explain (``pages/charts/``): each takes the
core's frames and returns an Altair chart (or HTML) without a Streamlit server; these tests read the Vega-Lite
spec (``to_dict()``) — the fields each axis encodes and the rows it draws — as the browser would receive it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlm_core.tasks.faithfulness import Faithfulness
from pages.charts.attention import heatmap, matrix_table
from pages.charts.embeddings import scatter, similarity_chart
from pages.charts.explain import coloured_text, contribution_chart, curve_chart, method_charts
from pages.charts.layers import final_word_charts, lens_chart, rollout_chart, scan_chart
from pages.charts.predict import marked_words, probability_chart, top_and_words_chart, variants_chart


def rows(spec: dict) -> list[dict]:
    """The rows a chart draws: Altair moves inline data to top-level ``datasets`` (one per distinct frame)."""
    return [row for dataset in spec["datasets"].values() for row in dataset]


def test_predict_bars_are_sorted_by_rank_and_split_words_are_marked():
    frame = pd.DataFrame(
        {"mask": 1, "rank": [1, 2], "token": ["mat", "floor"], "probability": [0.6, 0.2], "sentence": ["a", "b"]}
    )
    spec = probability_chart(frame).to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["field"] == "probability"
    assert spec["encoding"]["y"]["sort"] == {"field": "rank", "order": "ascending"}
    words = pd.DataFrame(
        {
            "mask": 1,
            "word": ["rug", "ottoman"],
            "split": [False, True],
            "probability": [0.1, 0.01],
            "log_prob": [-2.3, -4.6],
            "variant": ["a", "a"],
            "pieces": ["rug", "otto man"],
        }
    )
    assert marked_words(words)["word"].tolist() == ["rug", "ottoman ✂"]
    both = top_and_words_chart(frame, words).to_dict()
    assert [(r["token"], r["kind"]) for r in rows(both)] == [
        ("mat", "top words"),
        ("floor", "top words"),
        ("rug", "your words"),
        ("ottoman ✂", "your words"),
    ]
    variants = variants_chart(words).to_dict()
    assert variants["encoding"]["x"]["field"] == "log_prob" and variants["encoding"]["yOffset"]["field"] == "variant"


def test_layers_charts_encode_the_lens_scan_trajectory_and_rollout():
    lens = lens_chart(
        pd.DataFrame({"layer": [0, 1], "rank": [1, 1], "token": ["a", "b"], "probability": [0.2, 0.5]})
    ).to_dict()
    assert [layer["mark"]["type"] for layer in lens["layer"]] == ["rect", "text"]
    assert lens["layer"][0]["encoding"]["y"]["sort"] == "descending"  # the last layer on top
    lines = final_word_charts(
        pd.DataFrame({"layer": [0, 1], "rank": [9, 1], "probability": [0.01, 0.6]}), "mat"
    ).to_dict()
    assert [chart["encoding"]["y"]["title"] for chart in lines["hconcat"]] == ["P(mat)", "rank of 'mat' (1 = top)"]
    scan = scan_chart(
        pd.DataFrame(
            {"layer": [1, 1], "head": [1, 2], "delta_log_prob": [-0.5, 0.25], "probability_without": [0.3, 0.6]}
        )
    ).to_dict()
    assert scan["encoding"]["color"]["scale"]["domain"] == [-0.5, 0.5]  # symmetric around 0
    assert scan["params"][0]["name"] == "pick"  # clicked heads reach the page's selection
    flow = pd.DataFrame(
        {
            "mask": 1,
            "position": [0, 1],
            "token": ["[CLS]", "cat"],
            "rollout": [0.7, 0.3],
            "last_layer_attention": [0.4, 0.6],
        }
    )
    rollout = rollout_chart(flow).to_dict()
    assert {(r["token"], r["measure"], r["value"]) for r in rows(rollout)} == {
        ("0 [CLS]", "rollout", 0.7),
        ("1 cat", "rollout", 0.3),
        ("0 [CLS]", "last layer, raw", 0.4),
        ("1 cat", "last layer, raw", 0.6),
    }


def test_attention_heatmap_and_its_table_show_the_same_matrix():
    weights = np.array([[0.9, 0.1], [0.25, 0.75]])
    queries, keys = np.indices(weights.shape)
    frame = pd.DataFrame(
        {
            "query_position": queries.ravel(),
            "query_token": np.array(["a", "b"])[queries.ravel()],
            "key_position": keys.ravel(),
            "key_token": np.array(["a", "b"])[keys.ravel()],
            "weight": weights.ravel(),
        }
    )
    spec = heatmap(frame, "Layer 1, head 1").to_dict()
    assert spec["title"] == "Layer 1, head 1" and spec["encoding"]["color"]["scale"]["domain"] == [0, 1]
    assert spec["encoding"]["x"]["sort"] == ["0 a", "1 b"]
    table = matrix_table(frame)
    assert table["token"].tolist() == ["0 a", "1 b"] and table[["0 a", "1 b"]].to_numpy().tolist() == weights.tolist()


def test_embeddings_scatter_opens_on_the_given_ranges_and_labels_the_followed_word():
    points = pd.DataFrame(
        {
            "sentence": [0, 1],
            "position": [1, 1],
            "token": ["bank", "bank"],
            "layer": 6,
            "x": [0.0, 1.0],
            "y": [0.0, 1.0],
            "role": ["word", "word"],
        }
    )
    spec = scatter(points, "Layer 6 — 2 points", ((-1.0, 2.0), (-1.0, 2.0))).to_dict()
    dots, neighbours, followed = spec["layer"]
    assert dots["encoding"]["x"]["scale"]["domain"] == [-1.0, 2.0]
    assert dots["encoding"]["shape"]["field"] == "sentence_label"  # not colour alone
    assert followed["transform"][0]["filter"] == "datum.role == 'word'"
    assert "domain" not in scatter(points, "t").to_dict()["layer"][0]["encoding"]["x"]["scale"]
    pairs = pd.DataFrame({"pair": ["s1 ↔ s2"] * 2, "layer": [0, 1], "cosine": [0.99, 0.5]})
    lines = similarity_chart(pairs).to_dict()
    assert lines["mark"] == {"type": "line", "point": True} and lines["encoding"]["color"]["field"] == "pair"


def test_explain_text_is_escaped_and_bars_and_curves_carry_their_values():
    html = coloured_text(["<b>cat</b>", "sat"], [0.5, -0.25])
    assert "&lt;b&gt;cat&lt;/b&gt;" in html and "<b>" not in html
    assert "rgba(214,39,40,1.00)" in html and "rgba(31,119,180,0.50)" in html  # red raises, blue lowers
    frame = pd.DataFrame({"target": "mat", "word": ["the", "cat"], "position": [0, 1], "value": [0.2, -0.1]})
    bars = contribution_chart(frame).to_dict()
    assert [(r["label"], r["direction"]) for r in rows(bars)] == [("0 the", "raises"), ("1 cat", "lowers")]
    words = pd.DataFrame(
        {
            "word": ["the", "cat"],
            "SHAP": [0.2, -0.1],
            "SHAP rank": [1, 2],
            "integrated gradients": [0.1, 0.3],
            "integrated gradients rank": [2, 1],
        }
    )
    charts = method_charts(words, ["SHAP", "integrated gradients"])
    assert [[r["value"] for r in rows(chart.to_dict())] for chart in charts] == [[0.2, -0.1], [0.1, 0.3]]
    curve = Faithfulness(
        "shap",
        "mat",
        "probability",
        ("the", "cat"),
        (1, 0),
        np.array([0.5, 1.0]),
        np.array([1, 2]),
        0.6,
        np.array([0.3, 0.1]),
        np.array([0.5, 0.6]),
        np.array([[0.5, 0.2], [0.4, 0.1]]),
        np.array([[0.4, 0.6], [0.5, 0.6]]),
    )
    band, mean, drawn = curve_chart([curve], ["SHAP"]).to_dict()["layer"]
    assert band["mark"]["type"] == "area" and mean["mark"]["strokeDash"] == [4, 3]
    line = [row for row in rows(curve_chart([curve], ["SHAP"]).to_dict()) if "method" in row]
    assert [(r["fraction"], r["output"]) for r in line] == [(0.0, 0.6), (0.5, 0.3), (1.0, 0.1)]  # from f(x) at 0
