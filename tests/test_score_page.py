"""The Score page through AppTest: typed sentences, a shipped suite, a second model, links."""

import pytest
from app_support import open_page
from streamlit.testing.v1 import AppTest

from mlm_core.tasks.pair_files import load_suite
from mlm_core.tasks.pairs import compare_pairs
from mlm_core.tasks.score import score

DEFAULT_SENTENCES = ["The keys to the cabinet are on the table.", "The keys to the cabinet is on the table."]


def open_score(model: str, **params) -> AppTest:
    return open_page("score", model, **params)


def test_typed_sentences_show_each_total_the_preference_and_a_download(bert_dir, bert):
    at = open_score(str(bert_dir))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.text_area(key="score_text").value == "\n".join(DEFAULT_SENTENCES)
    totals = at.dataframe[0].value
    expected = score(bert, DEFAULT_SENTENCES)
    assert list(totals["text"]) == DEFAULT_SENTENCES
    assert list(totals["pll"]) == pytest.approx([s.pll for s in expected.sentences], abs=1e-6)
    better = 1 + max(range(2), key=lambda k: expected.sentences[k].pll)
    assert any(f"prefers sentence {better} to sentence {3 - better}" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) == 1
    assert [b.proto.label for b in at.get("download_button")] == ["Download the scores (CSV)"]


@pytest.mark.slow
def test_a_second_model_is_scored_beside_the_first(bert_dir, camembert_dir, camembert):
    at = open_score(str(bert_dir))
    at.selectbox(key="score_compare").select("spec").run()
    at.text_input(key="score_compare_spec").set_value(str(camembert_dir)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("vega_lite_chart")) == 2
    totals = [frame.value for frame in at.dataframe if "pseudo_perplexity" in frame.value.columns]
    assert len(totals) == 2 and list(totals[1]["pll"]) == pytest.approx(
        [s.pll for s in score(camembert, DEFAULT_SENTENCES).sentences], abs=1e-6
    )


@pytest.mark.slow
def test_a_linked_suite_is_scored_with_accuracy_per_category(bert_dir, bert):
    at = open_score(str(bert_dir), mode="pairs", suite="en-agreement-simple", method="pll")
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = compare_pairs(bert, load_suite("en-agreement-simple")[1], method="pll")
    assert at.metric[0].value == f"{expected.accuracy:.1%}"
    assert len(at.dataframe[-1].value) == 25
    assert at.query_params["suite"] == "en-agreement-simple" and at.query_params["mode"] == "pairs"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download every pair (CSV)"]


@pytest.mark.slow
def test_bad_sentences_give_a_message_and_the_page_recovers(bert_dir):
    at = open_score(str(bert_dir))
    at.text_area(key="score_text").set_value("cat " * 300).run()
    assert not at.exception and "Sentence 1: The text is 302 tokens long" in at.error[0].value
    at.text_area(key="score_text").set_value("the cat sat .").run()
    assert not at.exception and not at.error and len(at.dataframe[0].value) == 1
