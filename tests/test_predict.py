import numpy as np
import pytest
import tensorflow as tf

from mlm_core import ParameterError, predict


def eager_mask_probs(mlm, input_ids, position):
    logits = mlm.model(input_ids=tf.constant([input_ids]), training=False).logits[0, position]
    return tf.nn.softmax(logits).numpy()


def test_top_k_are_the_most_probable_non_special_words(bert):
    result = predict(bert, "The cat sat on the [MASK] and looked around.", top_k=7)
    (mask,) = result.masks
    probabilities = [c.probability for c in mask.candidates]
    assert len(probabilities) == 7
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) <= 1.0
    ids = list(bert.tokenizer("The cat sat on the [MASK] and looked around.")["input_ids"])
    reference = eager_mask_probs(bert, ids, mask.position)
    reference[bert.tokenizer.all_special_ids] = 0
    expected = np.argsort(-reference)[:7]
    assert [c.token_id for c in mask.candidates] == list(expected)
    np.testing.assert_allclose(probabilities, reference[expected], atol=1e-5)


def test_sentence_is_the_users_text_with_the_word_in_place(bert):
    result = predict(bert, "The cat sat on the [MASK] and looked around.", top_k=1)
    word = result.masks[0].candidates[0].token
    assert result.masks[0].candidates[0].sentence == f"The cat sat on the {word} and looked around."


@pytest.mark.slow
def test_several_masks_give_one_list_each_and_fill_only_their_own_mask(bert):
    result = predict(bert, "[MASK] cat sat on the [MASK] .", top_k=3)
    assert [m.index for m in result.masks] == [0, 1]
    assert [m.position for m in result.masks] == [1, 6]
    first = result.masks[0].candidates[0]
    assert first.sentence == f"{first.token} cat sat on the [MASK] ."


@pytest.mark.slow
def test_joint_fillings_are_products_of_left_to_right_conditionals(bert):
    text = "the [MASK] sat on the [MASK] ."
    result = predict(bert, text, top_k=3, joint_k=4)
    assert len(result.joint) == 4
    joint_probabilities = [f.probability for f in result.joint]
    assert joint_probabilities == sorted(joint_probabilities, reverse=True)
    ids = list(bert.tokenizer(text)["input_ids"])
    positions = [m.position for m in result.masks]
    for filling in result.joint:
        assert filling.probability == pytest.approx(np.prod(filling.conditionals), rel=1e-9)
        first = eager_mask_probs(bert, ids, positions[0])[filling.token_ids[0]]
        filled = list(ids)
        filled[positions[0]] = filling.token_ids[0]
        second = eager_mask_probs(bert, filled, positions[1])[filling.token_ids[1]]
        np.testing.assert_allclose(filling.conditionals, [first, second], rtol=1e-3)
        assert filling.sentence == f"the {filling.tokens[0]} sat on the {filling.tokens[1]} ."
    # Beam search never does worse than greedy left-to-right filling.
    special = bert.tokenizer.all_special_ids
    first_probs = eager_mask_probs(bert, ids, positions[0])
    first_probs[special] = 0
    greedy = list(ids)
    greedy[positions[0]] = int(first_probs.argmax())
    second_probs = eager_mask_probs(bert, greedy, positions[1])
    second_probs[special] = 0
    assert result.joint[0].probability >= first_probs.max() * second_probs.max() * (1 - 1e-4)


def test_joint_fillings_skipped_beyond_the_bound_with_a_reason(bert):
    result = predict(bert, " ".join(["[MASK]"] * 4), joint_k=3, max_joint_masks=3)
    assert result.joint == ()
    assert result.joint_skipped_reason == "Joint fillings are computed for up to 3 masks; this text has 4."


def test_camembert_style_model_accepts_our_mask(camembert):
    result = predict(camembert, "the cat sat on the [MASK] .", top_k=2)
    candidate = result.masks[0].candidates[0]
    assert candidate.sentence == f"the cat sat on the {candidate.token} ."
    assert "<mask>" not in candidate.sentence and "▁" not in candidate.token


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"top_k": 0}, "The 'top_k' parameter of predict must be an int in the range [1, 100]. Got 0 instead."),
        ({"top_k": 2.5}, "The 'top_k' parameter of predict must be an int in the range [1, 100]. Got 2.5 instead."),
        ({"joint_k": 21}, "The 'joint_k' parameter of predict must be an int in the range [0, 20]. Got 21 instead."),
    ],
)
def test_out_of_range_settings(bert, kwargs, message):
    with pytest.raises(ParameterError) as error:
        predict(bert, "a [MASK]", **kwargs)
    assert str(error.value) == message


def test_frames_and_json_shape(bert):
    result = predict(bert, "[MASK] cat [MASK] .", top_k=2, joint_k=2)
    frame = result.candidates_frame()
    assert list(frame.columns) == ["mask", "rank", "token", "probability", "sentence"]
    assert list(frame["mask"]) == [1, 1, 2, 2] and list(frame["rank"]) == [1, 2, 1, 2]
    assert len(result.joint_frame()) == 2
    data = result.to_dict()
    assert [len(m["predictions"]) for m in data["masks"]] == [2, 2]
    assert set(data["joint"][0]) == {"tokens", "probability", "conditionals", "sentence"}
