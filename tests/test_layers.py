"""Layers: the logit lens, head ablation, the head importance scan and attention rollout, each against an
independent reference (the model's own layers called eagerly, or a plain numpy formula)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from references import REFERENCE_PARTS, eager_head_masked_log_probs

import mlm_core
from mlm_core.errors import InputError, ParameterError, UnsupportedModelError
from mlm_core.tasks.head_scan import head_importance, layer_groups, scan_masks
from mlm_core.tasks.heads import ablate, head_mask, parse_heads
from mlm_core.tasks.lens import layer_lens, lens_log_probs
from mlm_core.tasks.rollout import mask_rollout, rollout

TEXT = "The [MASK] sat on the mat and looked at the [MASK] outside."


@pytest.fixture(params=["bert", "camembert"])
def mlm(request) -> mlm_core.MaskedLM:
    return request.getfixturevalue(request.param)


def eager_log_probs(mlm: mlm_core.MaskedLM, ids, positions, mask_lh: np.ndarray) -> np.ndarray:
    """The reference: the model's own embedding layer, encoder (given per-layer head masks) and MLM head, called
    eagerly on one unpadded row (tests/references.py, shared with the heads/base-scan bench row)."""
    return eager_head_masked_log_probs(mlm.model, ids, positions, mask_lh)


@pytest.mark.slow
def test_lens_last_layer_is_predict(mlm):
    """The head on the last layer's states is the prediction itself: every probability of Predict's top words, and
    the whole distribution of the analysis, within 1e-5."""
    lens = layer_lens(mlm, TEXT, top_k=5)
    prediction = mlm_core.predict(mlm, TEXT, top_k=5)
    assert len(lens.masks) == 2 and all(len(mask.layers) == mlm.num_layers + 1 for mask in lens.masks)
    for lens_mask, predicted in zip(lens.masks, prediction.masks):
        last = lens_mask.layers[-1]
        assert [w.token_id for w in last.words] == [c.token_id for c in predicted.candidates]
        np.testing.assert_allclose(
            [w.probability for w in last.words], [c.probability for c in predicted.candidates], atol=1e-5
        )
        assert last.final_token_rank == 1 and lens_mask.final_token_id == predicted.candidates[0].token_id
    analysis = mlm_core.analyze(mlm, TEXT)
    np.testing.assert_allclose(np.exp(lens_log_probs(mlm, analysis)[:, -1]), np.exp(analysis.mask_log_probs), atol=1e-5)


def test_lens_every_layer_equals_the_head_called_on_that_layer(mlm):
    """Reference: the model's own head layer called eagerly on each hidden state, one layer at a time; ranks are
    counted with a numpy sort."""
    analysis = mlm_core.analyze(mlm, TEXT)
    ours = lens_log_probs(mlm, analysis)
    head = getattr(mlm.model, REFERENCE_PARTS[mlm.model.config.model_type][1])
    special = set(mlm.tokenizer.all_special_ids)
    lens = layer_lens(mlm, TEXT, top_k=3)
    for m, position in enumerate(analysis.mask_positions):
        for layer in range(mlm.num_layers + 1):
            state = tf.constant(analysis.hidden_states[layer][None, position : position + 1])
            reference = tf.nn.log_softmax(head(state, training=False)[0, 0]).numpy()
            np.testing.assert_allclose(ours[m, layer], reference, atol=1e-5)
            order = [i for i in np.argsort(-reference, kind="stable") if i not in special]
            reading = lens.masks[m].layers[layer]
            assert reading.final_token_rank == order.index(lens.masks[m].final_token_id) + 1
            assert [w.token_id for w in reading.words] == order[:3]


@pytest.mark.slow
def test_ablating_nothing_reproduces_predict(mlm):
    result = ablate(mlm, TEXT, [], top_k=5)
    prediction = mlm_core.predict(mlm, TEXT, top_k=5)
    for mask, predicted in zip(result.masks, prediction.masks):
        assert [w.token_id for w in mask.ablated] == [c.token_id for c in predicted.candidates]
        np.testing.assert_allclose(
            [w.probability for w in mask.ablated], [c.probability for c in predicted.candidates], atol=1e-5
        )
        assert all(abs(change["change"]) < 1e-5 for change in mask.changes())


@pytest.mark.slow
def test_ablation_equals_the_eager_reference(mlm):
    """Several head sets, among them whole layers and every head: the compiled, padded, batched pass against the
    eager reference (embedding layer + encoder with head masks + MLM head) on the full distribution."""
    analysis = mlm_core.analyze(mlm, TEXT)
    n_layers, n_heads = mlm.num_layers, mlm.num_heads
    choices = [
        [(1, 1)],
        [(n_layers, n_heads), (1, 2)],
        [(1, h) for h in range(1, n_heads + 1)],
        [(layer, head) for layer in range(1, n_layers + 1) for head in range(1, n_heads + 1)],
    ]
    masks = np.stack([head_mask(heads, num_layers=n_layers, num_heads=n_heads) for heads in choices])
    rows = [analysis.encoding.input_ids] * len(choices)
    ours = mlm.forward(rows, [analysis.mask_positions] * len(choices), head_masks=masks).log_probs
    for index, mask in enumerate(masks):
        reference = eager_log_probs(mlm, analysis.encoding.input_ids, analysis.mask_positions, mask)
        np.testing.assert_allclose(ours[index], reference, atol=1e-5)
        assert np.abs(reference - analysis.mask_log_probs).max() > 1e-4  # the ablation did change something
    result = ablate(mlm, TEXT, choices[1], top_k=3)
    np.testing.assert_allclose(
        [w.probability for w in result.masks[0].ablated], np.exp(np.sort(ours[1, 0])[::-1][:3]), atol=1e-5
    )


@pytest.mark.slow
def test_head_scan_matches_one_reference_call_per_variant(mlm):
    """Every delta of the batched scan equals log P(word) from the eager reference with that one head (or layer)
    switched off, minus the intact log P(word)."""
    scan = head_importance(mlm, TEXT, mask_index=1)
    analysis = mlm_core.analyze(mlm, TEXT)
    assert scan.target_id == mlm_core.predict(mlm, TEXT).masks[1].candidates[0].token_id
    assert scan.head_deltas.shape == (mlm.num_layers, mlm.num_heads) and scan.layer_deltas.shape == (mlm.num_layers,)
    ids, position = analysis.encoding.input_ids, [analysis.mask_positions[1]]
    full = np.ones((mlm.num_layers, mlm.num_heads), dtype=np.float32)
    baseline = eager_log_probs(mlm, ids, position, full)[0, scan.target_id]
    assert scan.baseline_log_prob == pytest.approx(baseline, abs=1e-5)
    for variant, mask in enumerate(scan_masks(mlm.num_layers, mlm.num_heads)):
        expected = eager_log_probs(mlm, ids, position, mask)[0, scan.target_id] - baseline
        if variant < mlm.num_layers * mlm.num_heads:
            layer, head = divmod(variant, mlm.num_heads)
            assert np.count_nonzero(mask == 0) == 1 and mask[layer, head] == 0
            assert scan.head_deltas[layer, head] == pytest.approx(expected, abs=1e-5)
        else:
            layer = variant - mlm.num_layers * mlm.num_heads
            assert (mask[layer] == 0).all() and np.count_nonzero(mask == 0) == mlm.num_heads
            assert scan.layer_deltas[layer] == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("num_layers", [1, 2, 6, 12, 13, 24])
def test_scan_layer_groups_cover_every_layer_once(num_layers):
    groups = layer_groups(num_layers)
    assert [layer for first, stop in groups for layer in range(first, stop)] == list(range(num_layers))
    assert len(groups) <= 4


@pytest.mark.slow
def test_a_new_choice_of_heads_reuses_the_compiled_program(bert):
    ablate(bert, TEXT, [(1, 1)])
    head_importance(bert, TEXT)
    programs = bert.forward.programs.compiled()
    assert {"ablated", "resumed"} <= {key.task for key in programs}  # ablation's and the scan's own programs
    ablate(bert, TEXT, [(2, 2), (1, 2)])
    head_importance(bert, TEXT, mask_index=1, target="the")
    assert bert.forward.programs.compiled() == programs


def reference_rollout(attentions: np.ndarray) -> np.ndarray:
    """Abnar & Zuidema 2020, written out element by element: Â_l[i, j] = (0.5 · mean_h A_l[h, i, j] + 0.5 · δ_ij)
    / Σ_j (…), then R_l = Â_l · R_{l-1} with R_0 = I."""
    n_layers, n_heads, length, _ = attentions.shape
    result = np.eye(length)
    for layer in range(n_layers):
        mixed = np.zeros((length, length))
        for i in range(length):
            for j in range(length):
                mixed[i, j] = 0.5 * sum(attentions[layer, h, i, j] for h in range(n_heads)) / n_heads + 0.5 * (i == j)
            mixed[i] /= mixed[i].sum()
        result = np.array(
            [[sum(mixed[i, k] * result[k, j] for k in range(length)) for j in range(length)] for i in range(length)]
        )
    return result


def test_rollout_rows_sum_to_one_and_equal_the_reference(bert):
    analysis = mlm_core.analyze(bert, TEXT)
    ours = rollout(analysis.attentions)
    np.testing.assert_allclose(ours.sum(axis=-1), 1.0, atol=1e-9)
    np.testing.assert_allclose(ours, reference_rollout(analysis.attentions.astype(np.float64)), atol=1e-9)
    rows = mask_rollout(analysis)
    np.testing.assert_allclose(rows, ours[list(analysis.mask_positions)])
    lens = layer_lens(bert, TEXT)
    np.testing.assert_allclose(lens.masks[1].rollout, rows[1])
    assert [entry["token"] for entry in lens.to_dict()["masks"][1]["rollout"]] == list(analysis.tokens)


def test_parse_heads_reads_layer_dot_head_and_refuses_the_rest():
    assert parse_heads("2.3, 4.1,2.3", num_layers=4, num_heads=4) == ((2, 3), (4, 1))
    assert parse_heads("", num_layers=4, num_heads=4) == ()
    with pytest.raises(InputError, match=r"There is no head 99\.1 — this model has layers 1–4 with heads 1–2"):
        parse_heads("99.1", num_layers=4, num_heads=2)
    with pytest.raises(InputError, match="There is no head 0.1"):
        parse_heads("0.1", num_layers=4, num_heads=2)
    with pytest.raises(InputError, match=r"'abc' is not a head — write heads as layer\.head"):
        parse_heads("1.1,abc", num_layers=4, num_heads=2)


def test_bad_inputs_are_typed_errors(bert):
    with pytest.raises(InputError, match=r"No \[MASK\] in the text"):
        layer_lens(bert, "No mask here.")
    with pytest.raises(
        InputError, match="Mask number 3 was asked for, but the text has 2 masks — pick a number from 1 to 2"
    ):
        head_importance(bert, TEXT, mask_index=2)
    with pytest.raises(InputError, match="is not one token for this model"):
        head_importance(bert, TEXT, target="qwertyuiopasdf")
    with pytest.raises(ParameterError, match="'top_k' parameter of layers"):
        layer_lens(bert, TEXT, top_k=0)
    with pytest.raises(InputError, match="There is no head"):
        ablate(bert, TEXT, [(bert.num_layers + 1, 1)])


@pytest.mark.slow
def test_models_without_layer_access_get_a_message_not_a_traceback(bert):
    """Funnel pools its sequence between blocks: the lens, ablation and the scan refuse it with that reason, in one
    line; ALBERT (shared layers) is served through its adapter."""
    from transformers import AlbertConfig, FunnelConfig, TFAlbertForMaskedLM, TFFunnelForMaskedLM

    from mlm_core.loading import wrap_model

    vocab = len(bert.tokenizer)
    albert = TFAlbertForMaskedLM(
        AlbertConfig(
            vocab_size=vocab,
            embedding_size=16,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
        )
    )
    funnel = TFFunnelForMaskedLM(
        FunnelConfig(
            vocab_size=vocab, d_model=32, n_head=2, d_head=16, d_inner=37, block_sizes=[1, 1], num_decoder_layers=1
        )
    )
    for model in (albert, funnel):
        model(model.dummy_inputs)
    albert_mlm, funnel_mlm = (
        wrap_model(name, bert.tokenizer, model) for name, model in (("tiny-albert", albert), ("tiny-funnel", funnel))
    )
    assert len(layer_lens(albert_mlm, TEXT).masks[0].layers) == 3  # ALBERT's head applies to any layer
    assert head_importance(albert_mlm, TEXT).head_deltas.shape == (2, 2)
    for call in (
        lambda: layer_lens(funnel_mlm, TEXT),
        lambda: head_importance(funnel_mlm, TEXT),
        lambda: ablate(funnel_mlm, TEXT, [(1, 1)]),
    ):
        with pytest.raises(UnsupportedModelError, match="Funnel pools the sequence between its blocks") as error:
            call()
        assert "\n" not in str(error.value)
    assert len(mlm_core.predict(funnel_mlm, TEXT).masks) == 2  # Predict still works
