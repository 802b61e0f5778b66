"""Trace (activation patching; Vig et al. 2020, Meng et al. 2022, Geiger et al. 2021): the layer × position grid and
the per-head grid against eager references assembled from the model's own layers, the properties of the
definition, and every input error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from family_support import check_trace_fixed_points, wide_copy
from references import eager_layer, eager_patched_log_probs, eager_states, model_parts

import mlm_core
from mlm_core.analysis import analyze
from mlm_core.cli import main
from mlm_core.errors import InputError, UnsupportedModelError
from mlm_core.tasks.trace import AUTO, trace, trace_inputs
from mlm_core.tasks.trace_program import clean_contexts, head_patched_log_probs, layer_with_contexts

CLEAN = "the cat sat on the [MASK] in the big red house ."
CORRUPT = "the cat sat on a [MASK] in the big red house ."
TARGET = "mat"


@pytest.fixture(scope="module")
def wide_bert(bert) -> mlm_core.MaskedLM:
    return wide_copy(bert, "bert")


@pytest.fixture(scope="module")
def wide_camembert(camembert) -> mlm_core.MaskedLM:
    return wide_copy(camembert, "camembert")


@pytest.fixture(params=["wide_bert", "wide_camembert"])
def mlm(request) -> mlm_core.MaskedLM:
    return request.getfixturevalue(request.param)


def metric(log_probs: np.ndarray, ids) -> float:
    return float(log_probs[ids[0]] - log_probs[ids[1]])


@pytest.mark.slow
def test_grid_equals_one_eager_patched_call_per_cell(mlm):
    """Reference: for every (layer, position), one full eager run of the corrupted text through the model's own
    embedding layer, encoder layers and MLM head, with that one state taken from the clean run's eager states."""
    result = trace(mlm, CLEAN, CORRUPT)
    inputs = trace_inputs(mlm, CLEAN, CORRUPT)
    ids = inputs.ids()
    clean_ids, corrupt_ids = (analyze(mlm, text).encoding.input_ids for text in (CLEAN, CORRUPT))
    states = eager_states(mlm.model, clean_ids)
    mask = result.mask_position
    m_clean = metric(eager_patched_log_probs(mlm.model, corrupt_ids, states, 0, range(len(clean_ids)), mask), ids)
    m_corrupt = metric(eager_patched_log_probs(mlm.model, corrupt_ids, states, 0, [], mask), ids)
    assert result.clean_value == pytest.approx(m_clean, abs=1e-4)
    assert result.corrupt_value == pytest.approx(m_corrupt, abs=1e-4)
    reference = np.array(
        [
            [
                metric(eager_patched_log_probs(mlm.model, corrupt_ids, states, layer, [i], mask), ids)
                for i in range(len(corrupt_ids))
            ]
            for layer in range(mlm.num_layers + 1)
        ]
    )
    patched = result.corrupt_value + result.layer_effects * (result.clean_value - result.corrupt_value)
    np.testing.assert_allclose(patched, reference, atol=1e-4)
    np.testing.assert_allclose(result.layer_effects, (reference - m_corrupt) / (m_clean - m_corrupt), atol=1e-4)
    assert result.layer_effects.shape == (mlm.num_layers + 1, len(corrupt_ids))


@pytest.mark.slow
def test_last_layer_restores_only_at_the_mask_and_layer_0_everywhere_restores_the_clean_run(mlm):
    """The definition's two fixed points (``check_trace_fixed_points``), and at layer 0 only the changed word
    matters."""
    result, inputs = check_trace_fixed_points(mlm, CLEAN, CORRUPT)
    # the changed word's embedding alone is the whole difference at layer 0; the other embeddings are identical
    changed = [i for i, (a, b) in enumerate(zip(inputs.clean.tokens, inputs.corrupt.tokens)) if a != b]
    assert result.layer_effects[0, changed].sum() == pytest.approx(1.0, abs=1e-4)
    assert np.all(np.delete(result.layer_effects[0], changed) == 0.0)


def test_layer_with_no_head_replaced_is_the_layers_own_call(mlm):
    """Reference: the encoder layer's own call on the same hidden states."""
    hidden = tf.constant(analyze(mlm, CORRUPT).hidden_states[1][np.newaxis])
    layer = model_parts(mlm.model)[1][1]
    additive = tf.zeros((1, 1, 1, hidden.shape[1]))
    ours = layer_with_contexts(
        layer, hidden, additive, tf.zeros_like(hidden[0]), tf.zeros((1, mlm.num_heads)), mlm.num_heads
    )
    np.testing.assert_allclose(ours.numpy(), eager_layer(layer, hidden).numpy(), atol=1e-5)


def heads_outputs(layer, hidden):
    """The layer's own self-attention call: its heads' outputs side by side, before the output projection."""
    return layer.attention.self_attention(
        hidden_states=hidden,
        attention_mask=tf.zeros((1, 1, 1, hidden.shape[1])),
        head_mask=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_value=None,
        output_attentions=False,
        training=False,
    )[0]


@pytest.mark.slow
def test_heads_all_patched_equal_the_layers_attention_output_patched_and_one_head_its_slice(mlm):
    """Reference, eager: layer l of the corrupted run computed with its attention output (the output projection
    of the heads' outputs, before the residual and LayerNorm) taken from the clean run, or with one head's slice
    of the heads' outputs swapped in numpy; then the model's own remaining layers and head."""
    inputs = trace_inputs(mlm, CLEAN, CORRUPT, contrast=None)
    contexts = clean_contexts(mlm, inputs.clean.hidden_states)
    _, layers, head = model_parts(mlm.model)
    width = contexts.shape[-1] // mlm.num_heads
    for index, layer in enumerate(layers):
        corrupt = tf.constant(inputs.corrupt.hidden_states[index][np.newaxis])
        clean = tf.constant(inputs.clean.hidden_states[index][np.newaxis])
        own, theirs = (heads_outputs(layer, hidden) for hidden in (corrupt, clean))
        own = own.numpy()
        output = layer.attention.dense_output

        def finish(attended, layer=layer, index=index):
            hidden = layer.bert_output(
                hidden_states=layer.intermediate(hidden_states=attended), input_tensor=attended, training=False
            )
            for later in layers[index + 1 :]:
                hidden = eager_layer(later, hidden)
            log_probs = tf.nn.log_softmax(head(hidden, training=False)[0, inputs.position]).numpy()
            return float(inputs.metric(log_probs))

        swapped_output = output.LayerNorm(output.dense(theirs) + corrupt)
        single = own.copy()
        single[..., :width] = theirs.numpy()[..., :width]
        rows = np.concatenate([np.ones((1, mlm.num_heads)), np.eye(mlm.num_heads)[:1]])
        ours = inputs.metric(
            head_patched_log_probs(
                mlm, index, inputs.corrupt.hidden_states[index], contexts[index], rows, inputs.position, inputs.ids()
            )
        )
        assert ours[0] == pytest.approx(finish(swapped_output), abs=1e-4)
        assert ours[1] == pytest.approx(
            finish(output(hidden_states=tf.constant(single), input_tensor=corrupt)), abs=1e-4
        )


def test_head_grid_and_json_shape(wide_bert):
    bert = wide_bert
    result = trace(bert, CLEAN, CORRUPT, heads=True)
    assert result.head_effects.shape == (bert.num_layers, bert.num_heads)
    data = result.to_dict()
    assert set(data) == {
        "model",
        "clean",
        "corrupt",
        "target",
        "contrast",
        "clean_value",
        "corrupt_value",
        "tokens",
        "layers",
        "heads",
    }
    assert [row["layer"] for row in data["layers"]] == list(range(bert.num_layers + 1))
    assert all(len(row["effects"]) == len(data["tokens"]) for row in data["layers"])
    assert data["heads"][0] == {"layer": 1, "head": 1, "effect": float(result.head_effects[0, 0])}
    assert "heads" not in trace(bert, CLEAN, CORRUPT).to_dict()
    assert result.reading().startswith(f"The difference in {result.metric_label()}")


@pytest.mark.slow
def test_cli_prints_the_issues_json_and_refuses_bad_input_in_one_line(wide_bert, tmp_path, capsys):
    bert_dir = tmp_path / "wide-bert"
    wide_bert.model.save_pretrained(bert_dir, safe_serialization=True)
    wide_bert.tokenizer.save_pretrained(bert_dir)
    assert main(["trace", CLEAN, CORRUPT, "--model", str(bert_dir), "--heads", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] and len(data["layers"]) == 3 and len(data["heads"]) == 4
    assert main(["trace", CLEAN, "the dog [MASK] .", "--model", str(bert_dir)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "same number of tokens" in error


def test_every_bad_input_is_a_typed_error(wide_bert):
    bert = wide_bert
    """Each refusal names the problem and the fix (messages asserted)."""
    cases = [
        (
            (CLEAN, "the cat sat on the big [MASK] in the big red house ."),
            "clean has 14: [CLS] the cat sat on the [MASK] in the big red house . [SEP] — corrupted has 15: ",
        ),
        ((CLEAN.replace("[MASK]", "mat"), CORRUPT), "No [MASK] in the text"),
        ((CLEAN.replace("house", "[MASK]"), CORRUPT), "The clean text has 2 masks"),
        ((CLEAN, "the cat sat on [MASK] a in the big red house ."), "The masks are at different places"),
        ((CLEAN, CLEAN), "is the same in both texts"),
    ]
    for texts, message in cases:
        with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
            trace(bert, *texts)
    with pytest.raises(InputError, match="Target 'hippopotamus' is not one token"):
        trace(bert, CLEAN, CORRUPT, target="hippopotamus")
    with pytest.raises(InputError, match="Contrast 'hippopotamus' is not one token"):
        trace(bert, CLEAN, CORRUPT, target=TARGET, contrast="hippopotamus")
    with pytest.raises(InputError, match="Target and contrast are the same word"):
        trace(bert, CLEAN, CORRUPT, target=TARGET, contrast=TARGET)
    chosen = trace_inputs(bert, CLEAN, CORRUPT, contrast=AUTO)
    assert chosen.contrast != chosen.target and chosen.contrast_id is not None


def test_a_model_without_layer_access_gets_one_line(bert):
    """A family without an adapter gets its family's one-line reason; ALBERT (adapter, but not the BERT layout's
    sublayers) gets the layer grid and a one-line refusal of head patching."""
    from explain_support import planted_model
    from transformers import AlbertConfig, TFAlbertForMaskedLM

    from mlm_core.loading import wrap_model

    with pytest.raises(UnsupportedModelError, match="Trace is not offered for model 'planted': .*no adapter"):
        trace(planted_model(bert.tokenizer), CLEAN, CORRUPT)
    albert = TFAlbertForMaskedLM(
        AlbertConfig(
            vocab_size=len(bert.tokenizer),
            embedding_size=16,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
        )
    )
    albert(albert.dummy_inputs)
    with pytest.raises(UnsupportedModelError, match="Head patching is offered for BERT.*of type 'albert'"):
        trace(wrap_model("tiny-albert", bert.tokenizer, albert), CLEAN, CORRUPT, heads=True)
