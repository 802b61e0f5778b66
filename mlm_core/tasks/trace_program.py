"""Activation patching's compiled programs, and the only place the Trace task reaches inside a model.

The layer grid runs on every family whose layers its adapter can run one by one (``architecture.run_layers`` from
an injected state, ``apply_head``). Head patching also needs each head's output before the output projection,
which is reached through the BERT layout's sublayers (``attention.self_attention``, ``attention.dense_output``,
``intermediate``, ``bert_output``): BERT, RoBERTa, CamemBERT and XLM-RoBERTa.

Programs (one per resume layer, rows = patched variants, any shape: traced once, no padding):
- ``patched_log_probs``: the corrupted run with chosen positions of its hidden state at layer l (0 = embeddings)
  replaced by the clean run's, continued through layers l+1…L → log P of two ids at the mask, per row.
- ``clean_contexts``: each layer's heads' outputs (attention-weighted values, before the output projection).
- ``head_patched_log_probs``: the corrupted run with chosen heads' outputs of layer l taken from the clean run.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..architecture import adapter_for, apply_head, require_view, run_layers
from ..errors import UnsupportedModelError
from ..families.base import additive_mask as extended_attention_mask
from ..model import MaskedLM
from ..programs import ProgramKey

HEAD_PATCHING_FAMILIES = ("bert", "roberta", "camembert", "xlm-roberta")


def check_traceable(mlm: MaskedLM, *, heads: bool = False) -> None:
    """Patching needs the encoder's layers one by one (the family's Layers view), and head patching the BERT
    layout's sublayers; an ``UnsupportedModelError`` with one line otherwise."""
    require_view(mlm.model, "layers", "Trace", mlm.name)
    family = mlm.model.config.model_type
    if heads and family not in HEAD_PATCHING_FAMILIES:
        raise UnsupportedModelError(
            f"Head patching is offered for BERT, RoBERTa, CamemBERT and XLM-RoBERTa models; model '{mlm.name}' is "
            f"of type '{family}', whose heads' outputs are not reached one by one here — trace without heads."
        )


def _layers(model):
    return adapter_for(model).layers


def _scores(model, states, ids):
    """log P(ids) float[R, 2] at the mask from the last layer's output there, float[R, 1, D]."""
    return tf.gather(tf.nn.log_softmax(apply_head(model, states[:, 0]), axis=-1), ids, axis=-1)


def _known_width(model, tensor):
    """Programs accept any number of rows and tokens (traced once); the width stays the model's, which its dense
    layers need to know."""
    return tf.ensure_shape(tensor, [None] * (len(tensor.shape) - 1) + [model.config.hidden_size])


def _call(mlm: MaskedLM, key: tuple, make_step, inputs: tuple) -> np.ndarray:
    program = ProgramKey(key[0], key[1:], any_shape=True)
    return mlm.forward.programs.run(program, make_step, tuple(tf.constant(x) for x in inputs))[0].numpy()


def patched_log_probs(
    mlm: MaskedLM,
    layer: int,
    clean: np.ndarray,
    corrupt: np.ndarray,
    patches: np.ndarray,
    position: int,
    ids: np.ndarray,
) -> np.ndarray:
    """log P(``ids`` int[2]) at token ``position`` → float32[R, 2], one row per patch row ``patches`` bool[R, T]:
    the corrupted hidden state ``corrupt`` float[T, D] at layer ``layer`` (the input of encoder layer ``layer``;
    ``layer`` = L is the last output) with the positions true in the row taken from ``clean`` float[T, D], then the
    remaining layers (the last at ``position`` only) and the MLM head."""
    model = mlm.model

    def make_step():
        def step(clean_states, corrupt_states, rows, at, wanted):
            clean_states, corrupt_states = (_known_width(model, x) for x in (clean_states, corrupt_states))
            hidden = tf.where(rows[:, :, tf.newaxis] > 0, clean_states[tf.newaxis], corrupt_states[tf.newaxis])
            n_rows = tf.shape(rows)[0]
            attention_mask = tf.ones(tf.shape(rows), dtype=tf.int32)
            states = run_layers(model, hidden, attention_mask, first=layer, positions=tf.fill([n_rows, 1], at))
            return (_scores(model, states, wanted),)

        return step

    inputs = (
        clean.astype(np.float32),
        corrupt.astype(np.float32),
        patches.astype(np.int32),
        np.int32(position),
        ids.astype(np.int32),
    )
    return _call(mlm, ("trace", "layer", layer), make_step, inputs)


def _self_attention(layer, hidden, additive):
    """A layer's heads' outputs float[N, T, H·d]: its own self-attention call (attention-weighted values, heads
    side by side, before the output projection)."""
    return layer.attention.self_attention(
        hidden_states=hidden,
        attention_mask=additive,
        head_mask=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_value=None,
        output_attentions=False,
        training=False,
    )[0]


def layer_with_contexts(layer, hidden, additive, contexts, chosen, num_heads: int):
    """One encoder layer on ``hidden`` float[N, T, D] with the heads chosen by ``chosen`` float[N, H] (1 = replace)
    given the outputs ``contexts`` float[T, H·d] instead of their own, then the layer's own output projection +
    LayerNorm, intermediate and output blocks. With nothing chosen it is the layer's own call (tested)."""
    own = _self_attention(layer, hidden, additive)
    width = own.shape[-1] // num_heads
    per_unit = tf.repeat(chosen, width, axis=1)[:, tf.newaxis, :]  # [N, 1, H·d]: each head's slice of the width
    mixed = own * (1.0 - per_unit) + contexts[tf.newaxis] * per_unit
    attended = layer.attention.dense_output(hidden_states=mixed, input_tensor=hidden, training=False)
    return layer.bert_output(
        hidden_states=layer.intermediate(hidden_states=attended), input_tensor=attended, training=False
    )


def clean_contexts(mlm: MaskedLM, hidden_states: np.ndarray) -> np.ndarray:
    """Every layer's heads' outputs float32[L, T, H·d] of a text, from its cached inputs of each layer
    ``hidden_states`` float[L+1, T, D] (an ``Analysis``'s)."""
    model = mlm.model

    def make_step():
        def step(states):
            states = _known_width(model, states)
            ones = tf.ones(tf.shape(states)[1:2], dtype=tf.int32)[tf.newaxis]
            additive = extended_attention_mask(ones, states.dtype)
            return (
                tf.concat(
                    [
                        _self_attention(layer, states[index][tf.newaxis], additive)
                        for index, layer in enumerate(_layers(model))
                    ],
                    axis=0,
                ),
            )

        return step

    return _call(mlm, ("trace", "contexts"), make_step, (hidden_states[:-1].astype(np.float32),))


def head_patched_log_probs(
    mlm: MaskedLM,
    layer: int,
    corrupt: np.ndarray,
    contexts: np.ndarray,
    chosen: np.ndarray,
    position: int,
    ids: np.ndarray,
) -> np.ndarray:
    """log P(``ids`` int[2]) at ``position`` → float32[R, 2]: the corrupted run from its input of encoder layer
    ``layer`` (0-based) ``corrupt`` float[T, D], that layer's heads chosen per row by ``chosen`` float[R, H] given
    the clean run's outputs ``contexts`` float[T, H·d], then the remaining layers and the MLM head."""
    model, num_heads = mlm.model, mlm.num_heads

    def make_step():
        def step(corrupt_states, clean_heads, rows, at, wanted):
            corrupt_states, clean_heads = (_known_width(model, x) for x in (corrupt_states, clean_heads))
            n_rows = tf.shape(rows)[0]
            hidden = tf.tile(corrupt_states[tf.newaxis], [n_rows, 1, 1])
            attention_mask = tf.ones(tf.shape(hidden)[:2], dtype=tf.int32)
            additive = extended_attention_mask(attention_mask, hidden.dtype)
            hidden = layer_with_contexts(_layers(model)[layer], hidden, additive, clean_heads, rows, num_heads)
            states = run_layers(model, hidden, attention_mask, first=layer + 1, positions=tf.fill([n_rows, 1], at))
            return (_scores(model, states, wanted),)

        return step

    inputs = (
        corrupt.astype(np.float32),
        contexts.astype(np.float32),
        chosen.astype(np.float32),
        np.int32(position),
        ids.astype(np.int32),
    )
    return _call(mlm, ("trace", "heads", layer), make_step, inputs)
