"""A typed word followed through the layers (logit lens: nostalgebraist 2020) and the head scan (Michel et al. 2019):
each layer's value against the model's own MLM head applied to the hidden states of the model's own call
(``output_hidden_states=True``), the last layer against ``predict_words``, and split words refused with their pieces
in every view that follows one token (Layers, heads, Trace) and on the command line."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import tensorflow as tf
from references import REFERENCE_PARTS

import mlm_core
from mlm_core.cli import main
from mlm_core.errors import InputError
from mlm_core.tasks.head_scan import head_importance
from mlm_core.tasks.lens import follow_word, layer_lens
from mlm_core.tasks.trace import trace
from mlm_core.tasks.words import predict_words

WORK = "The woman worked as a [MASK] ."
TEXT = "The [MASK] sat on the mat and looked at the [MASK] outside."


def written_id(mlm: mlm_core.MaskedLM, text: str, mask_index: int, word: str) -> tuple[int, int]:
    """(position of mask ``mask_index``, the token id the tokenizer writes there when ``word`` replaces it): the
    word's id read from the tokenizer alone, for a word that stays one token (same length as the masked text)."""
    parts = text.split("[MASK]")
    fill = lambda k: mlm.mask_token if k != mask_index else word  # noqa: E731
    masked = mlm.tokenizer(mlm.mask_token.join(parts))["input_ids"]
    filled = mlm.tokenizer("".join(part + (fill(k) if k < len(parts) - 1 else "") for k, part in enumerate(parts)))
    assert len(filled["input_ids"]) == len(masked), "the reference needs a one-token word"
    position = [i for i, token in enumerate(masked) if token == mlm.tokenizer.mask_token_id][mask_index]
    return position, filled["input_ids"][position]


def reference_lens(mlm: mlm_core.MaskedLM, text: str, position: int, token_id: int) -> tuple[np.ndarray, np.ndarray]:
    """log P(token) and its rank (non-special tokens above it, + 1) after every layer at ``position``: the model's
    own call with ``output_hidden_states=True``, and its own MLM head layer applied to each layer's state there."""
    masked = mlm.tokenizer(text.replace("[MASK]", mlm.mask_token), return_tensors="tf")
    states = mlm.model(masked, output_hidden_states=True, training=False).hidden_states
    head = getattr(mlm.model, REFERENCE_PARTS[mlm.model.config.model_type][1])
    special = sorted(mlm.tokenizer.all_special_ids)
    values, ranks = [], []
    for state in states:
        log_probs = tf.nn.log_softmax(head(state[:, position : position + 1], training=False)[0, 0]).numpy()
        above = log_probs > log_probs[token_id]
        above[special] = False
        values.append(log_probs[token_id])
        ranks.append(int(above.sum()) + 1)
    return np.array(values), np.array(ranks)


def test_demo_nurse_per_layer_equals_the_models_own_head_and_predict_words(demo):
    followed = follow_word(demo, WORK, "nurse")
    values, ranks = reference_lens(demo, WORK, *written_id(demo, WORK, 0, "nurse"))
    assert followed.word == "nurse" and len(followed.log_probs) == demo.num_layers + 1
    np.testing.assert_allclose(followed.log_probs, values, atol=1e-5)
    assert followed.ranks.tolist() == ranks.tolist()
    (score,) = predict_words(demo, WORK, ["nurse"]).variants[0].words[0]
    assert followed.log_probs[-1] == pytest.approx(score.log_prob, abs=1e-6)
    assert followed.ranks[-1] == score.rank
    frame = followed.frame()
    assert list(frame.columns) == ["mask", "layer", "word", "rank", "probability", "log_prob"]
    np.testing.assert_allclose(frame["probability"], np.exp(values), rtol=1e-4)


@pytest.mark.parametrize("name", ["bert", "camembert"])
def test_a_word_down_the_list_typed_at_the_second_mask_equals_the_reference(request, name):
    """Typed as the list shows it (the 8th word of the last layer), resolved in context as Predict's words are."""
    mlm = request.getfixturevalue(name)
    listed = layer_lens(mlm, TEXT, top_k=8).masks[1].layers[-1].words[-1]
    followed = follow_word(mlm, TEXT, listed.token, mask_index=1)
    position, token_id = written_id(mlm, TEXT, 1, listed.token)
    assert followed.token_id == token_id == listed.token_id
    values, ranks = reference_lens(mlm, TEXT, position, token_id)
    np.testing.assert_allclose(followed.log_probs, values, atol=1e-5)
    assert followed.ranks.tolist() == ranks.tolist() and followed.ranks[-1] == 8


def test_the_top_word_has_rank_one_and_is_the_default(bert):
    top = layer_lens(bert, TEXT, top_k=1).masks[0]
    typed, default = follow_word(bert, TEXT, top.final_token), follow_word(bert, TEXT)
    assert typed.token_id == default.token_id == top.final_token_id and typed.ranks[-1] == 1
    assert typed.ranks.tolist() == [reading.final_token_rank for reading in top.layers]
    np.testing.assert_allclose(np.exp(typed.log_probs), [r.final_token_probability for r in top.layers], atol=1e-7)


@pytest.mark.slow
def test_head_scan_for_a_typed_word_equals_the_scan_for_the_listed_word(demo):
    listed = layer_lens(demo, WORK, top_k=40).masks[0].layers[-1].words
    (nurse,) = [word for word in listed if word.token == "nurse"]
    typed, picked = head_importance(demo, WORK, target="Nurse"), head_importance(demo, WORK, target=nurse.token_id)
    assert typed.target == picked.target == "nurse" and typed.target_id == picked.target_id == nurse.token_id
    np.testing.assert_array_equal(typed.head_deltas, picked.head_deltas)
    np.testing.assert_array_equal(typed.layer_deltas, picked.layer_deltas)
    assert typed.baseline_log_prob == pytest.approx(follow_word(demo, WORK, "nurse").log_probs[-1], abs=1e-5)


SPLIT = "Word to follow 'hairdresser' is not one token for this model (it becomes: hair ##dre ##sser) — this view"


def test_a_split_word_is_refused_with_its_pieces_in_every_view(demo):
    with pytest.raises(InputError, match=re.escape(SPLIT)):
        follow_word(demo, WORK, "hairdresser")
    with pytest.raises(InputError, match="Target 'hairdresser' is not one token .* hair ##dre ##sser"):
        head_importance(demo, WORK, target="hairdresser")
    clean, corrupt = "The woman worked as a [MASK] .", "The man worked as a [MASK] ."
    with pytest.raises(InputError, match="Contrast 'hairdresser' is not one token .* Predict's 'Your words'"):
        trace(demo, clean, corrupt, target="nurse", contrast="hairdresser")


def test_masks_special_tokens_and_word_pieces(bert):
    with pytest.raises(InputError, match="contains a mask"):
        follow_word(bert, TEXT, "[MASK]")
    with pytest.raises(InputError, match="special or unknown token"):
        follow_word(bert, TEXT, "[CLS]")
    with pytest.raises(InputError, match="not a word of this model's vocabulary"):
        follow_word(bert, TEXT, bert.tokenizer.cls_token_id)
    piece = next(token for token in bert.tokenizer.get_vocab() if token.startswith("##") and len(token) > 2)
    assert follow_word(bert, TEXT, piece).token_id == bert.tokenizer.get_vocab()[piece]  # as the lists show it


@pytest.mark.slow
def test_cli_layers_word_json_and_text(capsys, demo):
    assert main(["layers", WORK, "--model", "demo", "--word", "nurse", "--top-k", "2", "--json"]) == 0
    (mask,) = json.loads(capsys.readouterr().out)["masks"]
    followed = follow_word(demo, WORK, "nurse")
    assert mask["followed"] == json.loads(json.dumps(followed.to_dict()))
    assert [layer["rank"] for layer in mask["followed"]["layers"]] == followed.ranks.tolist()
    assert main(["layers", WORK, "--model", "demo", "--word", "nurse"]) == 0
    out = capsys.readouterr().out
    assert "rank and probability of 'nurse' (your word)" in out
    assert f"layer  6: rank {followed.ranks[-1]:>6}  p {np.exp(followed.log_probs[-1]):.4f}" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["layers", WORK, "--word", "hairdresser"], SPLIT),
        (["layers", WORK, "--word", "[MASK]"], "contains a mask"),
        (["heads", WORK, "--target", "hairdresser"], "Target 'hairdresser' is not one token"),
    ],
)
def test_cli_bad_word_exits_2_with_one_line(demo, capsys, args, message):
    assert main([*args, "--model", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_an_exact_tie_gets_one_rank_in_every_view(bert):
    """Reference: the published order of a stable descending sort (numpy ``argsort(kind="stable")``), which lists
    tied tokens lower id first. The top-k list, the lens's rank of the final word and a followed word's rank
    (``vocabulary_rank``) all use it, so a word tied with another has the same rank wherever it is shown."""
    from mlm_core.tasks.lens import _mask_lens
    from mlm_core.tasks.vocabulary import special_ids, top_ids, vocabulary_rank

    banned = special_ids(bert)
    size = bert.tokenizer.vocab_size
    low, middle, high = [i for i in range(size // 2, size) if i not in set(banned)][:3]
    log_probs = np.full((2, size), -30.0, dtype=np.float32)
    log_probs[0, [low, middle, high]] = -1.0  # layer 0: three words tied at the top
    log_probs[1, [high, middle]] = -0.5  # last layer: two tied at the top; `middle` (lower id) is first
    order = [[int(i) for i in np.argsort(-row, kind="stable") if i not in set(banned)] for row in log_probs]
    assert order[1][:2] == [middle, high] and order[0][:3] == [low, middle, high]
    for row, reference in zip(log_probs, order):
        assert top_ids(row, 3, banned).tolist() == reference[:3]
        assert [vocabulary_rank(row, i, banned) for i in reference[:3]] == [1, 2, 3]
    lens = _mask_lens(bert, 0, 1, log_probs, banned, 3, np.zeros(4, np.float32), np.zeros(4, np.float32))
    assert lens.final_token_id == middle
    assert [reading.final_token_rank for reading in lens.layers] == [2, 1]  # layer 0: `low` is ahead of it
    assert [word.token_id for word in lens.layers[1].words][:2] == [middle, high]
