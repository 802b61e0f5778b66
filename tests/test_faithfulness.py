import numpy as np
import pytest
from explain_support import planted_model

from mlm_core.tasks.explain import explain
from mlm_core.tasks.faithfulness import faithfulness, random_orders, ranking, step_counts
from mlm_core.tasks.gradients import integrated_gradients

TEXT = "the dog sat on the [MASK] near a cat ."  # 'cat' is the 8th of 9 words: random orders rarely hide it first


@pytest.fixture(scope="module")
def planted(bert):
    return planted_model(bert.tokenizer)


def test_shap_and_ig_beat_random_orders_on_a_planted_dependency(planted):
    """Reference: the planted model's definition — only 'cat' (and a little 'sat') raise P(mat), so an explanation
    that ranks 'cat' first must lower P(mat) sooner than random orders do (DeYoung et al. 2020)."""
    shap_result = explain(planted, TEXT, targets=["mat"])
    ig_result = integrated_gradients(planted, TEXT, targets=["mat"], steps=32)
    for result in (shap_result, ig_result):
        assert result.words[ranking(result.targets[0].values)[0]] == "cat"
    (shap_f,), (ig_f,) = faithfulness(planted, [shap_result, ig_result])
    for f in (shap_f, ig_f):
        assert f.comprehensiveness > f.random_comprehensiveness.mean() + f.random_comprehensiveness.std()
        assert f.comprehensiveness >= f.random_comprehensiveness.max() - 1e-9  # no random order does better
        assert f.sufficiency < f.random_sufficiency.mean()
        assert f.random_deletion.shape == (20, 10) and f.deletion.shape == (10,)
    # the curve's first step hides 'cat': P(mat) drops to its value without 'cat' (signal 0.25 from 'sat')
    vocab = len(planted.tokenizer)
    without_cat = np.exp(-1.0) / (np.exp(-1.0) + vocab - 1)
    assert shap_f.deletion[0] == pytest.approx(without_cat, rel=1e-4)
    assert shap_f.counts[1] == 2
    assert shap_f.reading().startswith(
        f"Hiding the 2 words SHAP ranks highest changes P(mat) from "
        f"{shap_f.full_output:.3g} to {shap_f.deletion[1]:.3g}; hiding 2 random words"
    )


def test_curves_follow_the_published_definitions(bert):
    """Reference: numpy formulas of DeYoung et al. 2020 (AOPC over the steps) applied to the returned curves, and
    an eager model call for one hidden variant."""
    import tensorflow as tf

    result = explain(bert, "the cat sat on the [MASK] and looked around .", targets=["mat", "bed"], contrast=True)
    (per_target,) = faithfulness(bert, [result], n_random=6, seed=3)
    first, second, contrast = per_target
    assert first.full_output == pytest.approx(result.targets[0].output, abs=1e-6)
    assert first.comprehensiveness == pytest.approx(np.mean(first.full_output - first.deletion))
    assert first.sufficiency == pytest.approx(np.mean(first.full_output - first.keep_only))
    assert contrast.full_output == pytest.approx(first.full_output - second.full_output, abs=1e-9)
    assert contrast.order == tuple(ranking(result.targets[2].values))  # each output is hidden in its own order
    assert first.keep_only[-1] == pytest.approx(first.full_output, abs=1e-6)  # 100 % kept = the full text
    # deletion at the second step (3 of 9 words) computed by hand with an eager call of the model itself
    top = set(ranking(result.targets[0].values)[:3].tolist())
    ids = list(bert.tokenizer(result.text.replace("[MASK]", bert.mask_token))["input_ids"])
    words = [w for w, word_id in enumerate(bert.tokenizer(result.text)[0].word_ids) if word_id is not None]
    mask_position = ids.index(bert.tokenizer.mask_token_id)
    word_positions = [p for p in words if p != mask_position]
    for k, position in enumerate(word_positions):
        if k in top:
            ids[position] = bert.tokenizer.unk_token_id
    logits = bert.model(input_ids=tf.constant([ids]), training=False).logits[0, mask_position].numpy()
    expected = np.exp(logits - logits.max())
    expected = expected[bert.tokenizer.convert_tokens_to_ids("mat")] / expected.sum()
    assert step_counts(9)[1] == 2 and step_counts(9)[2] == 3
    assert first.deletion[2] == pytest.approx(expected, rel=1e-4)


def test_hiding_never_touches_the_target_mask_or_special_tokens(bert):
    seen = []
    text = "the [MASK] sat on the [MASK] and looked around ."
    result = explain(bert, text, mask_index=1, targets=["mat"])
    faithfulness(bert, [result], record_inputs=seen.append)
    ids = np.asarray(bert.tokenizer(text.replace("[MASK]", bert.mask_token))["input_ids"])
    mask_id, unk_id = bert.tokenizer.mask_token_id, bert.tokenizer.unk_token_id
    assert len(seen) > 50
    for row in seen:
        assert np.flatnonzero(row == mask_id).tolist() == [6]
        assert row[0] == ids[0] and row[-1] == ids[-1]  # [CLS] and [SEP] kept
        assert row[2] == unk_id  # the other mask is always shown as an unknown word


def test_random_orders_are_seeded_reversed_pairs():
    orders = random_orders(7, 20, seed=5)
    assert orders.shape == (20, 7)
    assert all(sorted(order) == list(range(7)) for order in orders)
    np.testing.assert_array_equal(orders[1], orders[0][::-1])
    np.testing.assert_array_equal(orders, random_orders(7, 20, seed=5))
    assert not np.array_equal(orders, random_orders(7, 20, seed=6))


def test_step_counts_round_to_the_nearest_word_and_mirror_around_one_half():
    """Reference: the published steps (10 %, …, 100 % of the words) by hand for 12 and 14 words."""
    assert step_counts(12).tolist() == [1, 2, 4, 5, 6, 7, 8, 10, 11, 12]
    assert step_counts(14).tolist() == [1, 3, 4, 6, 7, 8, 10, 11, 13, 14]
    for n_words in range(1, 40):
        counts = step_counts(n_words)
        assert counts[-1] == n_words and counts.min() >= 1 and np.all(np.diff(counts) >= 0)
        if n_words >= 5:  # count(f) + count(1 − f) = W, so keep-only and reversed deletion share variants
            assert all(counts[k] + counts[8 - k] == n_words for k in range(4))


@pytest.mark.slow
def test_the_random_band_is_remembered_for_the_next_explanation(bert):
    """A second method's check of the same text scores only its own variants; the band is the same numbers."""
    from dataclasses import replace

    rows_seen = []

    class CountingForward:
        """The model's compiled pass, counting the rows of every call (other programs pass through)."""

        def __call__(self, rows, positions, **kwargs):
            rows_seen.append(len(rows))
            return bert.forward(rows, positions, **kwargs)

        def __getattr__(self, name):
            return getattr(bert.forward, name)

    counted = replace(bert, forward=CountingForward())  # a new model: its own memos
    text = "the cat sat on the [MASK] and looked around ."
    shap_result = explain(counted, text, targets=["mat"])
    ig_result = integrated_gradients(counted, text, targets=["mat"], steps=8)
    rows_seen.clear()
    (first,) = faithfulness(counted, [shap_result])[0]
    cold = sum(rows_seen)
    rows_seen.clear()
    (second,) = faithfulness(counted, [ig_result])[0]
    assert sum(rows_seen) <= 2 * len(second.counts) + 1 < cold
    np.testing.assert_array_equal(second.random_deletion, first.random_deletion)
    assert second.method == "ig" and first.method == "shap"
