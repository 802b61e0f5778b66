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


def run_layers(model, hidden, attention_mask, head_mask, *, first: int = 0):
    """Encoder layers ``first``…L−1 applied to ``hidden`` float[N, T, D] (the input of layer ``first``), each
    layer's attention probabilities multiplied by ``head_mask[:, layer]`` float[N, L, H] per row and head (what
    transformers' attention layers do with a head mask; their main layers refuse one, so the layers are called
    here one by one, exactly as the encoder would call them). Returns the last layer's output float[N, T, D]."""
    encoder, _ = split_head(model)
    additive = extended_attention_mask(attention_mask, hidden.dtype)
    for index, layer in enumerate(encoder.encoder.layer[first:], start=first):
        hidden = layer(hidden_states=hidden, attention_mask=additive,
                       head_mask=head_mask[:, index, :, tf.newaxis, tf.newaxis], encoder_hidden_states=None,
                       encoder_attention_mask=None, past_key_value=None, output_attentions=False,
                       training=False)[0]
    return hidden


def embed(model, input_ids):
    """The embedding layer's output float[N, T, D] for token ids int[N, T] (token type 0, positions as usual)."""
    encoder, _ = split_head(model)
    return encoder.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)


def head_masked_logits(model, input_ids, attention_mask, positions, head_mask):
    """Vocabulary logits float[N, P, V] at ``positions`` with heads switched off by ``head_mask`` float[N, L, H]
    (1 keeps a head, 0 removes its attention weights). An all-ones mask computes the model's usual function."""
    hidden = run_layers(model, embed(model, input_ids), attention_mask, head_mask)
    _, head = split_head(model)
    return head(tf.gather(hidden, positions, batch_dims=1), training=False)


def apply_head(model, hidden):
    """The model's own masked-LM head on hidden states float[..., D] → logits float[..., V] (the "logit lens")."""
    _, head = split_head(model)
    shape = tf.shape(hidden)
    flat = tf.reshape(hidden, [1, -1, hidden.shape[-1]])
    logits = head(flat, training=False)
    return tf.reshape(logits, tf.concat([shape[:-1], [-1]], axis=0))
