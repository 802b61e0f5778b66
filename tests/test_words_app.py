"""The Predict page's chosen words and sentence variants, and the Bias page, through AppTest (demo model)."""

import json

import pytest
from app_support import open_page

WORK = "The {man|woman} worked as a [MASK]."


@pytest.fixture(scope="module")
def variants_page():
    return open_page("predict", "demo", text=WORK, words="nurse, doctor, engineer, hairdresser")


@pytest.mark.slow
def test_variants_show_words_by_variant_with_ratios_and_top_words(variants_page, demo):
    from mlm_core.tasks.words import predict_words

    at = variants_page
    assert not at.exception and not at.error
    expected = predict_words(demo, WORK, "nurse, doctor, engineer, hairdresser").ratios_frame()
    ratios = at.dataframe[0].value
    assert ratios["variant"].tolist() == ["man"] * 4 + ["woman"] * 4
    assert ratios["word"].tolist()[:4] == ["nurse", "doctor", "engineer", "hairdresser ✂"]
    assert ratios["ratio"].tolist() == pytest.approx(expected["ratio"].tolist(), rel=1e-6)
    top = at.dataframe[-1].value
    assert list(top.columns) == ["rank", "man", "woman"] and len(top) == 5
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["encoding"]["yOffset"]["field"] == "variant" and spec["encoding"]["x"]["field"] == "log_prob"
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Download your words (CSV)" in labels
    assert at.query_params["words"] == "nurse, doctor, engineer, hairdresser"


@pytest.mark.slow
def test_words_beside_the_top_k_for_one_sentence(variants_page):
    at = variants_page
    at.text_area(key="predict_text").set_value("The woman worked as a [MASK].").run()
    assert not at.exception and not at.error
    words = at.dataframe[1].value
    assert words["word"].tolist() == ["nurse", "doctor", "engineer", "hairdresser ✂"]
    assert words["rank"].isna().tolist() == [False, False, False, True]
    assert (words["pieces"].iloc[3]) == "hair ##dre ##sser"
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["encoding"]["color"]["scale"]["domain"] == ["top words", "your words"]
    assert any("✂" in caption.value for caption in at.caption)


@pytest.mark.parametrize(
    "text, words, message",
    [
        ("The {man|woman worked as a [MASK].", "", "Unbalanced braces"),
        ("{a|b|c|d|e} {f|g|h|i|j} [MASK].", "", "25 sentence variants"),
        ("The man worked as a [MASK].", "nurse,,doctor", "Word 2 of 3 is empty"),
    ],
)
def test_bad_braces_or_words_show_one_error(variants_page, text, words, message):
    at = variants_page
    at.text_input(key="predict_words").set_value(words)
    at.text_area(key="predict_text").set_value(text).run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value


@pytest.fixture(scope="module")
def bias_page():
    return open_page("bias", "demo")


@pytest.mark.slow
def test_bias_page_shows_the_share_interval_categories_and_limits(bias_page, demo):
    from mlm_core.tasks.bias import bias_scores
    from mlm_core.tasks.bias_files import load_bias_suite

    at = bias_page
    assert not at.exception and not at.error
    expected = bias_scores(demo, load_bias_suite("en-occupations-pronouns")[1])
    (metric,) = at.metric
    assert metric.value == f"{expected.stereotype_share:.1%}"
    assert any(expected.reading() == caption.value for caption in at.caption)
    assert "Blodgett et al." in at.info[0].value
    categories = at.dataframe[0].value
    assert categories["bias_type"].tolist() == [
        "gender: care work",
        "gender: office work",
        "gender: technical work",
        "gender: leadership",
    ]
    assert categories["low"].tolist() == pytest.approx(expected.groups_frame()["low"].tolist())
    pairs = at.dataframe[-1].value
    assert len(pairs) == 64 and pairs["margin"].is_monotonic_decreasing
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels == ["Download every pair (CSV)", "Download the shares (CSV)"]


@pytest.mark.slow
def test_bias_page_compares_two_models_side_by_side(bias_page, bert_dir):
    at = bias_page
    at.selectbox(key="bias_compare").set_value("spec").run()
    at.text_input(key="bias_compare_spec").set_value(str(bert_dir)).run()
    assert not at.exception and not at.error
    assert len(at.metric) == 2
    table = at.dataframe[-1].value
    assert list(table.columns) == ["more", "less", "bias_type", "margin: demo", f"margin: {bert_dir}", "change"]
    assert table["change"].is_monotonic_decreasing
    assert at.query_params["compare"] == "spec"


def test_bias_upload_mode_asks_for_a_file(bias_page):
    at = bias_page
    at.radio(key="bias_source").set_value("upload").run()
    assert not at.exception and "Upload a file of bias pairs" in at.info[0].value


@pytest.mark.slow
def test_explain_accepts_a_typed_word(demo):
    """Item 1 of the words issue on Explain: a typed one-piece word is explained; a split word is one error."""
    at = open_page("explain", "demo", text="The cat sat on the [MASK].", method="ig", steps="8")
    picker = at.multiselect[0]
    assert "garden" not in picker.options
    picker.set_value(["garden"]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [tab.label for tab in at.tabs] == ["garden"]
    at.multiselect[0].set_value(["hairdresser"]).run()
    assert not at.exception and len(at.error) == 1 and "is not one token" in at.error[0].value
