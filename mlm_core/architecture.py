"""A model's insides, reached through its family's adapter (``mlm_core/families/``): the masked-LM logits at
gathered positions, the encoder run layer by layer with per-row head masks, the head on any layer's states.

The compiled pass (``forward.py``), training and the layer-wise tasks reach into a model only through these
functions; the adapters alone know transformers' attribute names.
"""

from __future__ import annotations

import tensorflow as tf

from .errors import UnsupportedModelError
from .families import adapter_for, layered, refusal


def require_view(model, view: str, what: str, name: str) -> None:
    """Refuse ``what`` (e.g. "Attention") for model ``name`` with its family's one-line reason when ``view`` is
    not offered for it (``families.refusal``)."""
    reason = refusal(model, view)
    if reason:
        raise UnsupportedModelError(f"{what} is not offered for model '{name}': {reason}.")


def masked_logits(model, input_ids, attention_mask, positions, *, training: bool, **outputs):
    """Vocabulary logits float32[N, P, V] at ``positions`` int32[N, P], plus the encoder's output object: the
    model's own encoder call, then its head at the gathered positions only (the head, hidden → vocabulary, is the
    largest matrix). Shared by inference and training so both compute exactly the same function."""
    adapter = adapter_for(model)
    out = adapter.encode(input_ids, attention_mask, training=training, **outputs)
    if getattr(out, "logits", None) is not None:  # a family without an adapter: the model's own call, head included
        return tf.gather(out.logits, positions, batch_dims=1), out
    return adapter.head(tf.gather(out.last_hidden_state, positions, batch_dims=1)), out


def head_variables(model) -> list:
    """The trainable variables of the masked-LM head that the encoder does not share (tied embeddings excluded)."""
    encoder = {variable.ref() for variable in adapter_for(model).encoder.trainable_variables}
    return [variable for variable in model.trainable_variables if variable.ref() not in encoder]


def can_ablate_heads(model) -> bool:
    """True when the encoder's layers can be run one by one with head masks (see ``head_masked_logits``)."""
    return layered(model)


def fast_last_layer(model) -> bool:
    """True when the family's last layer runs at gathered positions only (its queries there), which a prediction
    that reads only those positions uses."""
    return layered(model) and adapter_for(model).fast_last_layer


def run_layers(model, hidden, attention_mask, head_mask=None, *, first: int = 0, positions=None):
    """Encoder layers ``first``…L−1 applied to ``hidden`` float[N, T, D] — the input of layer ``first``, so a state
    from another text or another layer can be injected there — each layer's heads multiplied by
    ``head_mask[:, layer]`` float[N, L, H] per row. Returns the last layer's output float[N, T, D], or with
    ``positions`` int[N, P] its output at those positions float[N, P, D] (computed there only where the family
    allows, ``Adapter.layer_at``)."""
    adapter = adapter_for(model)
    context = adapter.context(hidden, attention_mask)
    last = adapter.num_layers - 1
    for index in range(first, last + 1):
        mask = None if head_mask is None else head_mask[:, index]
        if positions is not None and index == last:
            return adapter.layer_at(index, hidden, context, mask, positions)
        hidden = adapter.layer(index, hidden, context, mask)
    return hidden if positions is None else tf.gather(hidden, positions, batch_dims=1)


def embed(model, input_ids, inputs_embeds=None, attention_mask=None):
    """The input of the first layer float[N, T, D] for token ids int[N, T] (or their word embeddings)."""
    return adapter_for(model).embed(input_ids, inputs_embeds, attention_mask)


def head_masked_logits(model, input_ids, attention_mask, positions, head_mask=None, *, inputs_embeds=None):
    """Vocabulary logits float[N, P, V] at ``positions`` with heads switched off by ``head_mask`` float[N, L, H]
    (1 keeps a head, 0 removes its attention weights), from ids or word embeddings ``inputs_embeds``. None, or an
    all-ones mask, computes the model's usual function layer by layer."""
    adapter = adapter_for(model)
    hidden = run_layers(
        model, embed(model, input_ids, inputs_embeds, attention_mask), attention_mask, head_mask, positions=positions
    )
    return adapter.head(adapter.final_norm(hidden))


def apply_head(model, hidden):
    """The model's own masked-LM head on hidden states float[..., D] → logits float[..., V] (the "logit lens")."""
    adapter, shape = adapter_for(model), tf.shape(hidden)
    logits = adapter.head(adapter.final_norm(tf.reshape(hidden, [1, -1, hidden.shape[-1]])))
    return tf.reshape(logits, tf.concat([shape[:-1], [-1]], axis=0))


def dense_attentions(model, attentions, length):
    """Each layer's attention weights float[N, H, T, T] from the encoder's output (windowed ones laid out)."""
    adapter = adapter_for(model)
    return tf.stack([adapter.dense_attentions(layer, length) for layer in attentions], axis=1)


def num_layers(model) -> int:
    return adapter_for(model).num_layers


def num_heads(model) -> int:
    return adapter_for(model).num_heads
