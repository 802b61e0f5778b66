"""The Layers page through AppTest: the logit lens, the head scan, switched-off heads from a link, rollout."""

import numpy as np
import pytest
from app_support import open_page
from streamlit.testing.v1 import AppTest

from mlm_core.tasks.head_scan import head_importance
from mlm_core.tasks.heads import ablate
from mlm_core.tasks.lens import follow_word, layer_lens

TEXT = "The [MASK] sat on the mat and looked at the [MASK] outside."


def open_layers(model: str, **params) -> AppTest:
    return open_page("layers", model, **params)


def frame_with(at: AppTest, *columns: str):
    """The one table shown with exactly these columns."""
    (frame,) = [f.value for f in at.dataframe if set(columns) == set(f.value.columns)]
    return frame


@pytest.mark.slow
def test_link_restores_text_mask_and_switched_off_heads(bert_dir, bert):
    at = open_layers(str(bert_dir), text=TEXT, mask="2", heads="2.1,1.2")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.text_area(key="layers_text").value == TEXT
    assert at.selectbox(key="layers_mask").value == 2
    assert at.multiselect(key="layers_heads").value == ["1.2", "2.1"]  # sorted, as the CLI reads them
    expected = ablate(bert, TEXT, [(1, 2), (2, 1)], top_k=5).masks[1]
    shown = frame_with(at, "token", "intact", "ablated", "change")
    by_token = {change["token"]: change for change in expected.changes()}
    assert set(shown["token"]) == set(by_token)
    for row in shown.itertuples():
        assert row.ablated == pytest.approx(by_token[row.token]["ablated"], abs=1e-6)
    assert at.query_params["heads"] == "1.2,2.1" and at.query_params["mask"] == "2"


@pytest.mark.slow
def test_lens_scan_and_rollout_show_the_core_results(bert_dir, bert):
    at = open_layers(str(bert_dir), text=TEXT)
    assert not at.exception and not at.error, [e.value for e in at.error]
    lens = layer_lens(bert, TEXT, top_k=5).masks[0]
    target = at.selectbox(key="layers_target").value
    assert target == lens.final_token
    scan = head_importance(bert, TEXT, mask_index=0, target=target)
    drops = frame_with(at, "layer", "head", "delta_log_prob", "probability_without")
    np.testing.assert_allclose(drops["delta_log_prob"], np.sort(scan.head_deltas.ravel())[: len(drops)], atol=1e-6)
    layers = frame_with(at, "layer", "delta_log_prob")
    np.testing.assert_allclose(layers["delta_log_prob"], scan.layer_deltas, atol=1e-6)
    assert len(at.get("vega_lite_chart")) == 4  # lens heatmap, final word lines, head heatmap, rollout
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Layer-by-layer words (CSV)", "Every head's change (CSV)", "Rollout and raw attention (CSV)"]
    assert any("Each head is switched off on its own" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_bad_link_and_bad_text_give_messages(bert_dir):
    at = open_layers(str(bert_dir), heads="99.1")
    assert not at.exception
    assert any("heads='99.1' does not fit here" in w.value for w in at.warning)
    assert at.multiselect(key="layers_heads").value == []
    at.text_area(key="layers_text").set_value("No mask in this one.").run()
    assert not at.exception and "No [MASK] in the text" in at.error[0].value


@pytest.mark.slow
def test_a_typed_word_is_followed_and_its_link_restores_it(bert_dir, bert):
    """A word below the top 5 typed into the picker: the layer-by-layer table and the head scan follow it, and the
    address carries it; a new session opened from that address shows the same."""
    word = layer_lens(bert, TEXT, top_k=9).masks[0].layers[-1].words[-1].token
    at = open_layers(str(bert_dir), text=TEXT)
    assert word not in at.selectbox(key="layers_target").options
    picker = at.selectbox(key="layers_target")
    picker.options.append(word)  # AppTest cannot type a new option; the browser sends the typed word as this does
    picker.set_value(word).run()
    expected, scan = follow_word(bert, TEXT, word), head_importance(bert, TEXT, target=word)
    for opened in (at, open_layers(str(bert_dir), text=TEXT, target=word)):
        assert not opened.exception and not opened.error, [e.value for e in opened.error]
        picker = opened.selectbox(key="layers_target")
        assert picker.value == word and word in picker.options
        shown = frame_with(opened, "layer", "word", "rank", "probability", "log_prob")
        assert set(shown["word"]) == {word} and shown["rank"].tolist() == expected.ranks.tolist()
        np.testing.assert_allclose(shown["log_prob"], expected.log_probs, atol=1e-6)
        layers = frame_with(opened, "layer", "delta_log_prob")
        np.testing.assert_allclose(layers["delta_log_prob"], scan.layer_deltas, atol=1e-6)
        assert opened.query_params["target"] == word


def test_a_split_word_is_refused_with_its_pieces_and_the_page_goes_on(bert_dir, bert):
    at = open_layers(str(bert_dir), text=TEXT, target="hippopotamus")
    assert not at.exception
    assert "Word to follow 'hippopotamus' is not one token for this model (it becomes:" in at.error[0].value
    assert any("The head scan follows one word of one token" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 2  # the lens heatmap and rollout still shown
