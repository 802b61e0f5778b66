"""The Embeddings page's switch for punctuation and special tokens, its deep links and its labels, via AppTest."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
LEFT_OUT = {"[CLS]", "[SEP]", "."}


def open_embeddings(model: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in {"page": "embeddings", "model": model, **params}.items():
        at.query_params[name] = value
    return at.run()


def shown_tokens(at: AppTest) -> set:
    return set(at.dataframe[0].value["token"])


@pytest.fixture(scope="module")
def page(bert_dir) -> AppTest:
    return open_embeddings(str(bert_dir))


@pytest.mark.slow
def test_words_only_by_default_and_only_the_word_and_its_neighbours_labelled(page):
    at = page
    assert not at.exception and not at.error
    assert at.checkbox(key="embeddings_all_tokens").value is False
    assert not LEFT_OUT & shown_tokens(at)
    scatter = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    points, neighbours, followed = scatter["layer"]
    assert points["encoding"]["color"]["scale"]["range"][:2] == ["#0072B2", "#E69F00"]  # Okabe–Ito
    assert points["encoding"]["shape"]["field"] == "sentence_label"
    assert neighbours["transform"] == [{"filter": "datum.role == 'neighbour'"}]
    assert followed["transform"] == [{"filter": "datum.role == 'word'"}]
    assert {"field": "token", "type": "nominal"} in points["encoding"]["tooltip"]
    assert scatter["layer"][0]["encoding"]["x"]["scale"]["domain"]  # opens around the four 'bank's
    assert "opens around the word you follow" in at.caption[0].value
    at.checkbox(key="embeddings_all_tokens").check().run()
    assert not at.exception and LEFT_OUT <= shown_tokens(at)
    assert at.query_params["hide_special"] == "0"
    at.checkbox(key="embeddings_all_tokens").uncheck().run()
    assert "hide_special" not in at.query_params and not LEFT_OUT & shown_tokens(at)


@pytest.mark.parametrize("value, shown", [("0", True), ("1", False)])
def test_older_hide_special_links_still_work(bert_dir, value, shown):
    at = open_embeddings(str(bert_dir), hide_special=value)
    assert not at.exception and not at.warning
    assert at.checkbox(key="embeddings_all_tokens").value is shown
    assert ({"[CLS]", "[SEP]"} <= shown_tokens(at)) is shown


def test_a_word_that_is_not_there_shows_every_point_unlabelled(page):
    at = page
    at.text_input(key="embeddings_word").set_value("zebra").run()
    assert not at.exception
    scatter = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert "domain" not in scatter["layer"][0]["encoding"]["x"]["scale"]
    assert "Scroll to zoom, drag to pan." in at.caption[0].value
