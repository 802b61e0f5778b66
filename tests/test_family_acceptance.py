"""Per-family exactness of the adapters, each against a reference outside them: the model's own call (through the
fill-mask pipeline or the single pass), each family's own layers called eagerly, and the completeness axiom of
integrated gradients (Sundararajan et al. 2017)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from family_support import family_model
from references import distilbert_reference  # shared with bench/layers.py's heads/distilbert-scan

import mlm_core
from mlm_core.families import layered
from mlm_core.tasks.gradients import integrated_gradients
from mlm_core.tasks.heads import ablate, head_mask
from mlm_core.tasks.lens import lens_log_probs
from mlm_core.testing.families import FAMILIES

pytestmark = pytest.mark.slow  # a tiny model of every family, built and checked

TEXT = "the cat sat on the [MASK] and looked at the [MASK] ."
OFF = ((1, 2), (2, 1))  # heads switched off: layer 1 head 2, layer 2 head 1


@pytest.fixture(params=FAMILIES)
def mlm(request, model_root) -> mlm_core.MaskedLM:
    return family_model(model_root, request.param)


def test_predict_equals_the_fill_mask_pipeline(mlm):
    """Reference: transformers' own fill-mask pipeline on the same model and tokenizer (the model's whole call):
    the top five words (special tokens, which Predict never offers, left out) and their probabilities ≤ 1e-5."""
    from transformers import pipeline

    fill = pipeline("fill-mask", model=mlm.model, tokenizer=mlm.tokenizer, framework="tf", torch_dtype=None)
    text = "the cat sat on the [MASK] and looked around ."
    specials = set(mlm.tokenizer.all_special_ids)
    theirs = fill(text.replace("[MASK]", mlm.mask_token), top_k=5 + len(specials))
    theirs = [entry for entry in theirs if entry["token"] not in specials][:5]
    ours = mlm_core.predict(mlm, text, top_k=5).masks[0].candidates
    assert [c.token_id for c in ours] == [entry["token"] for entry in theirs]
    np.testing.assert_allclose([c.probability for c in ours], [entry["score"] for entry in theirs], atol=1e-5)


def test_lens_last_layer_and_no_head_off_equal_predict(mlm):
    """Where the Layers view is offered: the head on the last layer's hidden states (from the model's own pass) is
    Predict's distribution, and the family's layers run one by one with no head switched off give it too (≤ 1e-5
    in probability, at both masks, over the whole vocabulary)."""
    if not layered(mlm.model):  # Funnel: the view is refused with its reason instead
        with pytest.raises(mlm_core.UnsupportedModelError, match="pools the sequence"):
            ablate(mlm, TEXT, ())
        return
    analysis = mlm_core.analyze(mlm, TEXT)
    predicted = np.exp(analysis.mask_log_probs)
    np.testing.assert_allclose(np.exp(lens_log_probs(mlm, analysis)[:, -1]), predicted, atol=1e-5)
    intact = mlm.forward(
        [analysis.encoding.input_ids],
        [analysis.mask_positions],
        head_masks=np.ones((1, mlm.num_layers, mlm.num_heads), np.float32),
    ).log_probs[0]
    np.testing.assert_allclose(np.exp(intact), predicted, atol=1e-5)
    result = ablate(mlm, TEXT, ())
    for mask in result.masks:
        assert [w.token_id for w in mask.ablated] == [w.token_id for w in mask.intact]


# MobileBERT's activation is ReLU (the others' GELU): the path integral crosses kinks, where the trapezoid rule's
# error falls only as 1/steps and unevenly (its tiny model: 6 % at 64 steps, 0.4 % at 256), so it gets 256 steps.
STEPS = {"mobilebert": 256}


@pytest.mark.parametrize("family", FAMILIES)
def test_integrated_gradients_are_complete(family, model_root):
    """Completeness (Sundararajan et al. 2017): Σ attributions = f(x) − f(baseline), within 1 % (64 trapezoid
    steps; 256 for ReLU MobileBERT)."""
    mlm = family_model(model_root, family)
    result = integrated_gradients(mlm, TEXT, mask_index=0, steps=STEPS.get(family, 64))
    for target in result.targets:
        difference = target.output - target.base_value
        assert abs(target.values.sum() - difference) == pytest.approx(target.completeness_gap)
        assert target.completeness_gap <= 0.01 * abs(difference) + 1e-6


# -- head ablation against each family's own layers, called eagerly on one unpadded row ----------------------------


def heads_of(mask_lh: np.ndarray, layer: int):
    """transformers' documented per-layer head mask, [batch, heads, 1, 1]."""
    return tf.constant(mask_lh[layer][None, :, None, None])


def albert_reference(model, ids, mask_lh):
    """ALBERT: albert.embeddings, encoder.embedding_hidden_mapping_in, then the shared layer group's albert_layers[0]
    at every depth with that depth's head mask, then predictions."""
    main = model.albert
    hidden = main.encoder.embedding_hidden_mapping_in(main.embeddings(input_ids=ids, training=False))
    shared = main.encoder.albert_layer_groups[0].albert_layers[0]
    for i in range(model.config.num_hidden_layers):
        hidden = shared(
            hidden_states=hidden,
            attention_mask=tf.zeros((1, 1, 1, ids.shape[1])),
            head_mask=heads_of(mask_lh, i),
            output_attentions=False,
            training=False,
        )[0]
    return model.predictions(hidden, training=False)


def electra_reference(model, ids, mask_lh):
    """ELECTRA: electra.embeddings (+ embeddings_project), electra.encoder given the per-layer head masks, then
    generator_predictions and generator_lm_head."""
    main = model.electra
    hidden = main.embeddings(input_ids=ids, training=False)
    if hasattr(main, "embeddings_project"):
        hidden = main.embeddings_project(hidden)
    out = main.encoder(
        hidden_states=hidden,
        attention_mask=tf.zeros((1, 1, 1, ids.shape[1])),
        head_mask=[heads_of(mask_lh, i) for i in range(len(mask_lh))],
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_values=None,
        use_cache=False,
        output_attentions=False,
        output_hidden_states=False,
        return_dict=True,
        training=False,
    )
    return model.generator_lm_head(model.generator_predictions(out.last_hidden_state))


def mpnet_reference(model, ids, mask_lh):
    """MPNet: mpnet.embeddings, mpnet.encoder given the per-layer head masks (it adds its relative bias), lm_head."""
    main = model.mpnet
    out = main.encoder(
        main.embeddings(ids, training=False),
        tf.zeros((1, 1, 1, ids.shape[1])),
        [heads_of(mask_lh, i) for i in range(len(mask_lh))],
        False,
        False,
        True,
        training=False,
    )
    return model.lm_head(out.last_hidden_state)


def deberta_v2_reference(model, ids, mask_lh):
    """DeBERTa-v2 (its TF attention takes no head mask): deberta.embeddings; per layer the disentangled
    self-attention's own probabilities (output_attentions) multiplied by the head mask, times its value_proj
    values, then attention.dense_output, intermediate and output; then cls (the MLM head)."""
    main = model.deberta
    encoder = main.encoder
    hidden = main.embeddings(input_ids=ids, mask=tf.ones(ids.shape, tf.int32), training=False)
    pair_mask = encoder.get_attention_mask(tf.ones(ids.shape, tf.int32))
    relative, table = encoder.get_rel_pos(hidden), encoder.get_rel_embedding()
    for i, block in enumerate(encoder.layer):
        attention = block.attention.self
        probs = attention(hidden, pair_mask, None, relative, table, output_attentions=True, training=False)[1]
        heads, length = probs.shape[1], probs.shape[-1]
        values = tf.reshape(attention.transpose_for_scores(attention.value_proj(hidden), heads), [1, heads, length, -1])
        context = tf.matmul(probs * heads_of(mask_lh, i), values)
        context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [1, length, -1])
        attended = block.attention.dense_output(context, hidden, training=False)
        hidden = block.bert_output(block.intermediate(attended), attended, training=False)
    return model.mlm(hidden, training=False)


REFERENCES = {
    "distilbert": distilbert_reference,
    "albert": albert_reference,
    "electra": electra_reference,
    "mpnet": mpnet_reference,
    "deberta-v2": deberta_v2_reference,
}


@pytest.mark.parametrize("family", sorted(REFERENCES))
def test_head_ablation_equals_the_familys_own_layers(family, model_root):
    """Heads 1.2 and 2.1 switched off: our batched, compiled pass against the family's own layers called eagerly
    (each reference's docstring names the layers it calls), log-probabilities at both masks ≤ 1e-5; and switching
    them off changes the prediction (the reference is not trivially the intact model)."""
    mlm = family_model(model_root, family)
    analysis = mlm_core.analyze(mlm, TEXT)
    ids, positions = analysis.encoding.input_ids, list(analysis.mask_positions)
    mask_lh = head_mask(OFF, num_layers=mlm.num_layers, num_heads=mlm.num_heads)
    logits = REFERENCES[family](mlm.model, tf.constant([ids], tf.int32), mask_lh)[0].numpy()[positions]
    # Log-probabilities, not probabilities: the tiny random models are nearly flat (P ≈ 0.005 everywhere), so
    # switching two heads off moves probabilities by ~1e-6 but log-probabilities by ~1e-3 — compared here at 1e-5.
    reference = tf.nn.log_softmax(logits, axis=-1).numpy()
    ours = mlm.forward([ids], [positions], head_masks=mask_lh[None]).log_probs[0]
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert np.abs(reference - analysis.mask_log_probs).max() > 1e-4
