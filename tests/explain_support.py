"""What the explanation tests share: a transparent stand-in model with a planted dependency.

Its prediction at every position: logit('mat') = 4 · (how much 'cat' is in the text) − 2, every other logit 0, where
"how much" is the first embedding dimension summed over the attended tokens ('cat' has 1 there, 'sat' 0.25, every
other token 0). So P(mat) is high exactly when 'cat' is visible, a little higher with 'sat', and gradients flow
through input embeddings like a real model's. It answers the same calls as a transformers TF masked LM (ids or
``inputs_embeds``, attentions and hidden states on request), so the compiled pass and the gradient program run it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import tensorflow as tf

from mlm_core.loading import wrap_model


class PlantedModel:
    def __init__(self, tokenizer, *, width: int = 4):
        self.config = SimpleNamespace(model_type="planted", max_position_embeddings=64)
        vocab = len(tokenizer)
        table = np.random.default_rng(0).normal(0, 0.1, (vocab, width)).astype(np.float32)
        table[:, 0] = 0.0
        cat, sat = tokenizer.convert_tokens_to_ids(["cat", "sat"])
        table[cat, 0], table[sat, 0] = 1.0, 0.25
        self.table = tf.constant(table)
        self.vocab = vocab
        self.target = tokenizer.convert_tokens_to_ids("mat")

    def get_input_embeddings(self):
        return SimpleNamespace(weight=self.table)

    def __call__(
        self,
        input_ids=None,
        attention_mask=None,
        inputs_embeds=None,
        training=False,
        output_attentions=False,
        output_hidden_states=False,
        **unused,
    ):
        if inputs_embeds is None:
            inputs_embeds = tf.gather(self.table, input_ids)
        shown = tf.cast(attention_mask, tf.float32)
        signal = tf.reduce_sum(inputs_embeds[..., 0] * shown, axis=1)  # [N]
        length = tf.shape(inputs_embeds)[1]
        column = tf.one_hot(self.target, self.vocab)  # [V]
        logits = (4.0 * signal - 2.0)[:, None, None] * column[None, None, :] + tf.zeros([1, length, 1])
        uniform = tf.tile((shown / tf.reduce_sum(shown, axis=1, keepdims=True))[:, None, None, :], [1, 1, length, 1])
        return SimpleNamespace(logits=logits, attentions=(uniform,), hidden_states=(inputs_embeds, inputs_embeds))


def planted_model(tokenizer):
    """A ``MaskedLM`` around ``PlantedModel`` with the tiny BERT's tokenizer."""
    return wrap_model("planted", tokenizer, PlantedModel(tokenizer), max_tokens=64)
