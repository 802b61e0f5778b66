"""What we know about the inside of each model family: where its encoder, layers and masked-LM head are.

The compiled pass (``forward.py``), training and the layer-wise tasks reach into a model only through these
functions, so the knowledge of transformers' attribute names lives in one place.
"""

from __future__ import annotations

import tensorflow as tf

# Models whose masked-LM head is a separate position-wise layer: (encoder attribute, head attribute). For these
# the head (hidden → vocabulary, the largest matrix) runs only at the gathered positions, not at every token.
SPLIT_HEADS = {
    "bert": ("bert", "mlm"),
    "roberta": ("roberta", "lm_head"),
    "camembert": ("roberta", "lm_head"),
    "xlm-roberta": ("roberta", "lm_head"),
    "albert": ("albert", "predictions"),
}
# Families whose encoder layers can be called one by one with a per-layer head mask (the same call signature as
# transformers' TFBertLayer). ALBERT shares one layer's weights across depths through groups; not covered.
LAYERED_ENCODERS = ("bert", "roberta", "camembert", "xlm-roberta")


def split_head(model) -> tuple | None:
    """(encoder layer, MLM head layer) when the model's head can run on gathered positions alone, else None."""
    names = SPLIT_HEADS.get(model.config.model_type)
    if names and all(hasattr(model, name) for name in names):
        return tuple(getattr(model, name) for name in names)
    return None


def masked_logits(model, input_ids, attention_mask, positions, *, training: bool, **outputs):
    """Vocabulary logits float32[N, P, V] at ``positions`` int32[N, P], plus the encoder's output object.

    Shared by inference and training so both compute exactly the same function.
    """
    split = split_head(model)
    if split:
        encoder, head = split
        out = encoder(input_ids=input_ids, attention_mask=attention_mask, training=training, **outputs)
        return head(tf.gather(out.last_hidden_state, positions, batch_dims=1), training=training), out
    out = model(input_ids=input_ids, attention_mask=attention_mask, training=training, **outputs)
    return tf.gather(out.logits, positions, batch_dims=1), out


def can_ablate_heads(model) -> bool:
    """True when the encoder's layers can be run one by one with head masks (see ``head_masked_logits``)."""
    split = split_head(model)
    return (model.config.model_type in LAYERED_ENCODERS and split is not None
            and hasattr(split[0], "embeddings") and hasattr(getattr(split[0], "encoder", None), "layer"))


def extended_attention_mask(attention_mask, dtype=tf.float32):
    """The additive key mask float[N, 1, 1, T] transformers' main layers build: 0 to attend, −10000 for padding."""
    mask = tf.cast(attention_mask, dtype)[:, tf.newaxis, tf.newaxis, :]
    return (1.0 - mask) * -10000.0


def run_layers(model, hidden, attention_mask, head_mask=None, *, first: int = 0, positions=None):
    """Encoder layers ``first``…L−1 applied to ``hidden`` float[N, T, D] (the input of layer ``first``), each
    layer's attention probabilities multiplied by ``head_mask[:, layer]`` float[N, L, H] per row and head (what
    transformers' attention layers do with a head mask; their main layers refuse one, so the layers are called
    here one by one, exactly as the encoder would call them). Returns the last layer's output float[N, T, D], or
    with ``positions`` int[N, P] its output at those positions float[N, P, D], computed there only
    (``last_layer_at``)."""
    encoder, _ = split_head(model)
    additive = extended_attention_mask(attention_mask, hidden.dtype)
    layers = encoder.encoder.layer
    for index in range(first, len(layers)):
        mask = None if head_mask is None else head_mask[:, index, :, tf.newaxis, tf.newaxis]
        if positions is not None and index == len(layers) - 1:
            return last_layer_at(layers[index], hidden, additive, mask, positions)
        hidden = layers[index](hidden_states=hidden, attention_mask=additive, head_mask=mask,
                               encoder_hidden_states=None, encoder_attention_mask=None, past_key_value=None,
                               output_attentions=False, training=False)[0]
    return hidden if positions is None else tf.gather(hidden, positions, batch_dims=1)


def last_layer_at(layer, hidden, additive_mask, head_mask, positions):
    """An encoder layer's output float[N, P, D] at ``positions`` int[N, P] only. Nothing after the last layer reads
    the other positions, so their feed-forward block and attention queries are skipped: the layer's own attention
    runs with queries from the gathered positions and keys and values from every token (transformers' path for
    attending to another sequence, the same weights), then its own feed-forward block on those positions. The
    numbers equal the full layer's at those positions; it saves about (T − P) / (T · L) of a pass."""
    queries = tf.gather(hidden, positions, batch_dims=1)
    attended = layer.attention(input_tensor=queries, attention_mask=None, head_mask=head_mask,
                               encoder_hidden_states=hidden, encoder_attention_mask=additive_mask,
                               past_key_value=None, output_attentions=False, training=False)[0]
    return layer.bert_output(hidden_states=layer.intermediate(hidden_states=attended), input_tensor=attended,
                             training=False)


def embed(model, input_ids):
    """The embedding layer's output float[N, T, D] for token ids int[N, T] (token type 0, positions as usual)."""
    encoder, _ = split_head(model)
    return encoder.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)


def head_masked_logits(model, input_ids, attention_mask, positions, head_mask=None):
    """Vocabulary logits float[N, P, V] at ``positions`` with heads switched off by ``head_mask`` float[N, L, H]
    (1 keeps a head, 0 removes its attention weights). None, or an all-ones mask, computes the model's usual
    function; the last layer runs at ``positions`` only."""
    hidden = run_layers(model, embed(model, input_ids), attention_mask, head_mask, positions=positions)
    _, head = split_head(model)
    return head(hidden, training=False)


def apply_head(model, hidden):
    """The model's own masked-LM head on hidden states float[..., D] → logits float[..., V] (the "logit lens")."""
    _, head = split_head(model)
    shape = tf.shape(hidden)
    flat = tf.reshape(hidden, [1, -1, hidden.shape[-1]])
    logits = head(flat, training=False)
    return tf.reshape(logits, tf.concat([shape[:-1], [-1]], axis=0))
