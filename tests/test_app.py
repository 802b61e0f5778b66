"""The dashboard through Streamlit's AppTest: the real router, sidebar and pages, driven headless."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
DEFAULT_TEXT = "The cat sat on the [MASK] and looked around."  # the page's default text


def open_app(model_spec: str, page: str = "predict") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["page"] = page
    at.run()
    picker = at.selectbox(key="model_choice")
    picker.select_index(len(picker.options) - 1).run()  # the last choice: "Other: hub id or folder…"
    at.text_input(key="model_custom").set_value(model_spec).run()
    return at


@pytest.fixture(scope="module")
def predict_page(bert_dir) -> AppTest:
    return open_app(str(bert_dir))


@pytest.mark.slow
def test_predict_page_shows_predictions_chart_and_download(predict_page, bert):
    at = predict_page
    assert not at.exception and not at.error
    assert at.text_area(key="predict_text").value == DEFAULT_TEXT
    table = at.dataframe[0].value
    assert len(table) == 5 and list(table.columns) == ["rank", "token", "probability", "sentence"]
    assert table["sentence"].str.startswith("The cat sat on the ").all()
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["x"]["field"] == "probability"
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels == ["Download predictions (CSV)", "Download everything, joint fillings included (JSON)"]
    assert any(bert.name in caption.value for caption in at.sidebar.caption)


@pytest.mark.slow
def test_two_masks_show_two_tables_and_joint_fillings(predict_page):
    at = predict_page
    at.text_area(key="predict_text").set_value("The [MASK] sat on the [MASK].").run()
    assert not at.exception and not at.error
    assert [s.value for s in at.subheader] == ["Mask 1 of 2", "Mask 2 of 2", "Best combinations"]
    joint = at.dataframe[2].value
    assert len(joint) == 5 and (joint["probability"].diff().dropna() <= 0).all()


@pytest.mark.parametrize(
    "text, message",
    [
        ("There is no mask here.", "No [MASK] in the text — add one"),
        ("   ", "The text is empty"),
        ("cat " * 300 + "[MASK]", "reads at most 128"),
    ],
)
def test_bad_text_shows_an_error_not_a_traceback(predict_page, text, message):
    at = predict_page
    at.text_area(key="predict_text").set_value(text).run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value
    at.text_area(key="predict_text").set_value(DEFAULT_TEXT).run()  # still usable afterwards
    assert not at.error and len(at.dataframe) == 1


def test_unknown_model_is_an_error_in_the_page():
    at = open_app("no-such/model")
    assert not at.exception
    assert len(at.error) == 1 and "'no-such/model' is not in the local Hugging Face cache" in at.error[0].value


@pytest.mark.slow
def test_camembert_style_model_in_the_page(camembert_dir):
    at = open_app(str(camembert_dir))
    assert not at.exception and not at.error
    assert "<mask>" not in " ".join(at.dataframe[0].value["sentence"])


@pytest.mark.slow
def test_attention_page_shows_diagram_heatmap_table_and_downloads(bert_dir):
    at = open_app(str(bert_dir), page="attention")
    assert not at.exception and not at.error
    assert at.title[0].value == "Attention"
    assert len(at.get("image")) == 2  # the chosen head's diagram and the all-heads overview
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert [chart["encoding"]["color"]["field"] for chart in charts] == ["weight", "weight"]
    head_table, average_table, heads = (frame.value for frame in at.dataframe)
    assert len(head_table) == 12 and head_table.iloc[:, 1:].sum(axis=1).round(2).eq(1).all()  # rows sum to 1
    assert list(head_table.columns[:2]) == ["token", "0 [CLS]"] and len(average_table) == 12
    assert len(heads) == 4 and set(heads.columns) == {"layer", "head", "label", "pattern_share", "entropy"}
    labels = [button.proto.label for button in at.get("download_button")]
    assert "All 4 diagrams (zip)" in labels and "Download this diagram (PNG)" in labels
    at.slider(key="attention_layer").set_value(2).run()
    assert not at.exception and at.caption[0].value.startswith("Layer 2, head 1:")


@pytest.mark.slow
def test_embeddings_page_plots_points_and_compares_the_word(bert_dir):
    at = open_app(str(bert_dir), page="embeddings")
    assert not at.exception and not at.error
    scatter, lines = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert [layer["mark"]["type"] for layer in scatter["layer"]] == ["point", "text", "text"]
    assert scatter["layer"][0]["encoding"]["shape"]["field"] == "sentence_label"  # not colour alone
    points = at.dataframe[0].value
    assert list(points.columns) == ["sentence", "position", "token", "x", "y"]
    assert scatter["layer"][0]["encoding"]["x"]["field"] == "x" and lines["mark"]["type"] == "line"
    similarity = at.dataframe[1].value
    assert len(similarity) == 6 and similarity["cosine"].between(-1, 1).all()  # 4 occurrences of "bank": 6 pairs
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels == ["Download the 2-D points (CSV)", "Download the similarities (CSV)"]
    at.radio(key="embeddings_method").set_value("tsne").run()
    assert not at.exception and "t-SNE, perplexity" in at.caption[0].value
    at.text_input(key="embeddings_word").set_value("zebra").run()
    assert not at.exception and "'zebra' occurs 0 times" in at.info[0].value
    at.text_area(key="embeddings_sentences").set_value("").run()
    assert not at.exception and "No sentences" in at.error[0].value


@pytest.mark.slow
def test_explain_page_shows_values_that_add_up_and_escapes_html(bert_dir):
    at = open_app(str(bert_dir), page="explain")
    assert not at.exception and not at.error
    chosen = at.multiselect[0].value
    assert len(chosen) == 2 and [tab.label for tab in at.tabs] == [*chosen, " − ".join(chosen)]
    values = [float(metric.value) for metric in at.metric]
    output, base, total = values[:3]
    assert base + total == pytest.approx(output, abs=2e-4)
    frame = at.get("download_button")
    assert [b.proto.label for b in frame] == ["Download the values (CSV)", "Download the explanation (JSON)"]
    at.text_area(key="explain_text").set_value('<script>alert(1)</script> the "cat" [MASK] sat').run()
    assert not at.exception
    shown = " ".join(element.proto.body for element in at.get("html"))
    assert "<script" not in shown and "&quot;" in shown and '"cat"' not in shown  # user text is escaped


DIARY = " ".join(
    f"On day {n} the rain came to the harbour, so the baker took her umbrella and walked to the "
    f"market. The rain stayed in the harbour until the evening."
    for n in range(40)
)


@pytest.fixture(scope="module")
def finetuned_app(bert_dir):
    """A session that fine-tuned the tiny model on pasted text, plus the shared model's weights before that."""
    from pages.frame.models import get_model

    shared_before = [w.copy() for w in get_model(str(bert_dir)).model.get_weights()]
    at = open_app(str(bert_dir), "finetune")
    at.radio(key="finetune_source").set_value("Paste text").run()
    at.text_area(key="finetune_text").set_value(DIARY).run()
    assert not at.exception and not at.error
    at.button(key="finetune_start").click().run()
    return at, shared_before


@pytest.mark.slow
def test_finetune_page_estimates_then_trains_and_compares_before_and_after(finetuned_app):
    at, _ = finetuned_app
    assert not at.exception and not at.error
    estimate = " ".join(block.value for block in at.markdown)
    assert "Estimated time: about" in estimate and "steps of" in estimate
    labels = [metric.label for metric in at.metric]
    assert labels == ["Perplexity (lower is better)", "Top-1 accuracy", "Top-5 accuracy"]
    table = at.dataframe[0].value
    assert list(table["metric"]) == ["perplexity", "top-1 accuracy", "top-5 accuracy", "loss (nats)"]
    values = table.set_index("metric")
    assert (values.loc[["perplexity", "loss (nats)"]] > 0).all().all()
    assert values.loc[["top-1 accuracy", "top-5 accuracy"]].stack().between(0, 1).all()
    assert [b.proto.label for b in at.get("download_button")] == [
        "Download the fine-tuned model (zip, save_pretrained format)"
    ]


@pytest.mark.slow
def test_finetune_in_one_session_leaves_the_shared_model_bit_identical(finetuned_app, bert_dir):
    from pages.frame.models import get_model

    _, shared_before = finetuned_app
    assert all(np.array_equal(a, b) for a, b in zip(shared_before, get_model(str(bert_dir)).model.get_weights()))


def test_fine_tuned_model_can_be_used_and_predict_shows_both_side_by_side(finetuned_app, bert_dir):
    at, _ = finetuned_app
    at.button(key="finetune_use").click().run()
    assert at.toggle(key="use_finetuned_toggle").value is True
    assert any("fine-tuned on pasted text" in caption.value for caption in at.sidebar.caption)
    at.switch_page("pages/predict.py").run()
    assert not at.exception and not at.error
    captions = [caption.value for caption in at.caption]
    assert any(c.startswith("**base**") for c in captions) and any(c.startswith("**fine-tuned**") for c in captions)
    assert len(at.dataframe) == 2
    at.switch_page("pages/attention.py").run()
    assert not at.exception and not at.error
    assert at.get("button_group")  # the fine-tuned / base switch


def open_link(**params) -> AppTest:
    """A fresh session arriving through an address with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def test_deep_link_restores_page_model_text_and_settings(bert_dir):
    at = open_link(page="attention", model=str(bert_dir), text="the dog ran home .", layer="2", head="2", stretch="1")
    assert not at.exception and not at.error and not at.warning
    assert at.text_area(key="attention_text").value == "the dog ran home ."
    assert at.slider(key="attention_layer").value == 2 and at.slider(key="attention_head").value == 2
    assert at.checkbox(key="attention_stretch").value is True
    assert at.text_input(key="model_custom").value == str(bert_dir)


def test_the_address_follows_the_view(bert_dir):
    at = open_link(page="predict", model=str(bert_dir))
    at.text_area(key="predict_text").set_value("the [MASK] ran home .").run()
    at.slider(key="predict_top_k").set_value(7).run()
    params = {name: at.query_params[name] for name in at.query_params}
    assert params["page"] == "predict" and params["model"] == str(bert_dir)
    assert params["text"] == "the [MASK] ran home ." and params["top_k"] == "7"
    (link,) = [block.value for block in at.sidebar.code]
    assert "page=predict" in link and "top_k=7" in link and "text=the+%5BMASK%5D+ran+home+." in link


@pytest.mark.parametrize(
    "params, notice",
    [
        ({"page": "attention", "layer": "99"}, "layer='99' does not fit here"),
        ({"page": "predict", "top_k": "0"}, "top_k='0' does not fit here"),
        ({"page": "embeddings", "method": "umap"}, "method='umap' does not fit here"),
        ({"page": "explain", "mask": "3"}, "mask='3' does not fit here"),
        ({"page": "nowhere"}, "page 'nowhere' does not exist"),
    ],
)
def test_bad_link_parameters_fall_back_to_defaults_with_a_notice(bert_dir, params, notice):
    at = open_link(model=str(bert_dir), **params)
    assert not at.exception and not at.error
    assert any(notice in warning.value for warning in at.warning)


def test_link_to_a_model_that_cannot_load_falls_back_with_a_notice(monkeypatch):
    at = open_link(page="predict", model="no-such-user/no-such-model")
    assert not at.exception
    assert any("The link's model could not be loaded" in warning.value for warning in at.warning)
    assert at.selectbox(key="model_choice").value == "demo"
    assert len(at.dataframe[0].value) == 5  # the demo model predicts instead


def test_home_page_tour_links_open_pages_with_their_settings():
    at = open_link()
    assert not at.exception and not at.error
    assert at.title[0].value == "MLM Explorer"
    tour = [block.value for block in at.markdown if "?page=" in block.value]
    assert len(tour) >= 10 and any("?page=attention&model=demo" in item and "layer=1&head=3" in item for item in tour)
    status = at.dataframe[0].value.set_index("spec")["status"]
    assert status["demo"] == "shipped with the app"
    assert status["en"] == "not downloaded: offline mode is on"


def test_probability_bars_are_drawn_relative_to_the_most_likely_word(predict_page):
    """A 9 % candidate was a sliver on a 0–100 % bar; the bar's scale now ends at the top candidate."""
    at = predict_page
    at.text_area(key="predict_text").set_value(DEFAULT_TEXT).run()
    table = at.dataframe[0]
    bar = json.loads(table.proto.columns)["probability"]["type_config"]
    assert bar["type"] == "progress" and bar["min_value"] == 0.0
    assert bar["max_value"] == pytest.approx(table.value["probability"].max()) and bar["max_value"] < 1.0
