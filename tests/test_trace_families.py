"""Trace (activation patching; Vig et al. 2020, Meng et al. 2022) on families whose encoder is not BERT's: the
layer × position grid against an eager reference built from each family's own transformers layers, called directly
in a plain Python loop (never through mlm_core's adapters), and the definition's two fixed points.

- DistilBERT: ``distilbert.embeddings`` → ``distilbert.transformer.layer[i](x, 0/1 mask, None, False)`` →
  ``vocab_transform`` → ``act`` → ``vocab_layer_norm`` → ``vocab_projector``.
- ALBERT: ``albert.embeddings`` → ``albert.encoder.embedding_hidden_mapping_in`` → at depth i the shared
  ``albert.encoder.albert_layer_groups[i · groups // L]`` with the additive mask → ``predictions``.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from family_support import check_trace_fixed_points, family_model, wide_copy

import mlm_core
from mlm_core.tasks.trace import trace, trace_inputs

pytestmark = pytest.mark.slow  # a tiny model of every family, built and checked

CLEAN = "the cat sat on the [MASK] in the big red house ."
CORRUPT = "the cat sat on a [MASK] in the big red house ."
FAMILIES = ("distilbert", "albert")


def distilbert_parts(model):
    """(layer-0 state from ids, the encoder layers as functions of a state, the head) of DistilBERT."""
    main = model.distilbert

    def embed(ids):
        return main.embeddings(input_ids=ids, training=False)

    def block(layer):
        return lambda hidden: layer(hidden, tf.ones(hidden.shape[:2]), None, False, training=False)[-1]

    def head(hidden):
        return model.vocab_projector(model.vocab_layer_norm(model.act(model.vocab_transform(hidden))))

    return embed, [block(layer) for layer in main.transformer.layer], head


def albert_parts(model):
    """The same for ALBERT (one weight-shared group per depth, as its own encoder loop picks it)."""
    main, depth = model.albert, model.config.num_hidden_layers
    groups = main.encoder.albert_layer_groups

    def embed(ids):
        embedded = main.embeddings(input_ids=ids, token_type_ids=tf.zeros_like(ids), training=False)
        return main.encoder.embedding_hidden_mapping_in(embedded)

    def block(group):
        def call(hidden):
            return group(
                hidden_states=hidden,
                attention_mask=tf.zeros((1, 1, 1, hidden.shape[1])),
                head_mask=[None] * len(group.albert_layers),
                output_attentions=False,
                output_hidden_states=False,
                training=False,
            )[0]

        return call

    return (
        embed,
        [block(groups[index * len(groups) // depth]) for index in range(depth)],
        lambda hidden: model.predictions(hidden, training=False),
    )


PARTS = {"distilbert": distilbert_parts, "albert": albert_parts}


def eager_run(model, ids: list[int], patch=None) -> tuple[list[tf.Tensor], np.ndarray]:
    """Every layer's input and the last output (L+1 states float[1, T, D]) and log-probabilities float[T, V],
    from the family's own layers; ``patch`` = (layer, position, state float[1, T, D]) puts that state's row in
    place after ``layer`` (0 = embeddings) before the run goes on."""
    embed, blocks, head = PARTS[model.config.model_type](model)
    hidden = embed(tf.constant([ids], dtype=tf.int32))
    states = []
    for index in range(len(blocks) + 1):
        if patch is not None and patch[0] == index:
            chosen = np.zeros((1, len(ids), 1), dtype=bool)
            chosen[0, patch[1]] = True
            hidden = tf.where(chosen, patch[2], hidden)
        states.append(hidden)
        if index < len(blocks):
            hidden = blocks[index](hidden)
    return states, tf.nn.log_softmax(head(hidden)[0], axis=-1).numpy()


@pytest.fixture(scope="module", params=FAMILIES)
def mlm(request, model_root) -> mlm_core.MaskedLM:
    return wide_copy(family_model(model_root, request.param), request.param)


def test_reference_is_the_models_own_call(mlm):
    """The reference's unpatched run gives the model's own output (so the loop above is the family's function)."""
    ids = mlm.tokenizer(CORRUPT)["input_ids"]
    _, ours = eager_run(mlm.model, ids)
    own = tf.nn.log_softmax(mlm.model(input_ids=tf.constant([ids]), training=False).logits[0], axis=-1).numpy()
    np.testing.assert_allclose(ours, own, atol=1e-4)


def test_grid_equals_the_familys_own_layers_patched_one_cell_at_a_time(mlm):
    """Reference: for every (layer, position), one eager run of the corrupted text through the family's own
    layers with that one state taken from the clean run's eager states (``eager_run``)."""
    result = trace(mlm, CLEAN, CORRUPT)
    inputs = trace_inputs(mlm, CLEAN, CORRUPT)
    clean_ids, corrupt_ids = (mlm.tokenizer(text)["input_ids"] for text in (CLEAN, CORRUPT))
    clean_states, clean_log_probs = eager_run(mlm.model, clean_ids)
    _, corrupt_log_probs = eager_run(mlm.model, corrupt_ids)
    mask = result.mask_position

    def metric(log_probs: np.ndarray) -> float:
        return float(inputs.metric(log_probs[mask]))  # log P(target) − log P(contrast), or log P(target) alone

    m_clean, m_corrupt = metric(clean_log_probs), metric(corrupt_log_probs)
    assert result.clean_value == pytest.approx(m_clean, abs=1e-4)
    assert result.corrupt_value == pytest.approx(m_corrupt, abs=1e-4)
    reference = np.array(
        [
            [
                metric(eager_run(mlm.model, corrupt_ids, (layer, i, clean_states[layer]))[1])
                for i in range(len(corrupt_ids))
            ]
            for layer in range(len(clean_states))
        ]
    )
    assert result.layer_effects.shape == reference.shape == (mlm.num_layers + 1, len(corrupt_ids))
    patched = result.corrupt_value + result.layer_effects * (result.clean_value - result.corrupt_value)
    np.testing.assert_allclose(patched, reference, atol=1e-4)
    # effects divide by m_clean − m_corrupt (here ~0.1): the same 1e-4 in the metric's units
    np.testing.assert_allclose(
        result.layer_effects, (reference - m_corrupt) / (m_clean - m_corrupt), atol=1e-4 / abs(m_clean - m_corrupt)
    )


def test_fixed_points_hold_for_the_family(mlm):
    """The last layer's state at the mask restores everything and elsewhere nothing; copying every embedding
    makes the corrupted run the clean one."""
    check_trace_fixed_points(mlm, CLEAN, CORRUPT)
