"""The one interface every model family answers, and the BERT layout most families share.

An adapter wraps one TF masked LM and says: how ids (or word embeddings) become the input of layer 0
(``embed``), how to run encoder layer ``i`` on hidden states with a per-row head mask (``layer``; the last one
optionally at gathered positions only, ``layer_at``), what else the layers need once per pass (``context``:
the attention mask in the family's form, relative positions, rotary tables), and the masked-LM head on any
layer's hidden states (``head``). Which views it cannot serve, and why, is data (``refusals``).

transformers' attribute names live in the adapters only. A head mask ``float[N, H]`` multiplies each head's
attention weights per row (what transformers' attention layers do with ``head_mask``; Michel et al. 2019).
"""

from __future__ import annotations

import tensorflow as tf

VIEWS = ("predict", "attention", "layers", "heads", "embeddings", "explain", "gradients", "score", "finetune")


def additive_mask(attention_mask, dtype=tf.float32):
    """The key mask float[N, 1, 1, T] transformers' BERT-style layers add to the scores: 0 to attend, −10000 not."""
    return (1.0 - tf.cast(attention_mask, dtype)[:, tf.newaxis, tf.newaxis, :]) * -10000.0


def per_head(head_mask):
    """float[N, H] → float[N, H, 1, 1], broadcast over the attention weights [N, H, T_q, T_k]."""
    return None if head_mask is None else head_mask[:, :, tf.newaxis, tf.newaxis]


def scale_heads(context, head_mask):
    """An attention block's concatenated head outputs float[N, T, H·d] with head h multiplied by head_mask[:, h].

    The same numbers as multiplying head h's attention weights (its output is weights @ values, linear in the
    weights); for families whose TF attention ignores ``head_mask``."""
    if head_mask is None:
        return context
    heads = tf.shape(head_mask)[1]
    width = tf.shape(context)[-1] // heads
    return context * tf.repeat(head_mask, width, axis=1)[:, tf.newaxis, :]


class Adapter:
    """A family's answers for one model. Subclasses name the attributes (``main``, ``head_names``) and override
    what differs from the BERT layout."""

    main = "bert"  # the encoder's attribute on the masked-LM model
    head_names: tuple = ("mlm",)  # the head's layers, applied in order to the last hidden state
    refusals: dict = {}  # view → the one-line reason it is not offered for this family
    fast_last_layer = False  # the last layer can run at gathered positions only (queries there)

    def __init__(self, model):
        self.model = model
        self.config = model.config

    # -- what the core asks ---------------------------------------------------------------------------------
    @property
    def encoder(self):
        return getattr(self.model, self.main)

    @property
    def layers(self) -> list:
        return self.encoder.encoder.layer

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def num_heads(self) -> int:
        return int(self.config.num_attention_heads)

    def word_embeddings(self):
        """The word-embedding matrix float[V, E] that ids index (what gradient methods follow)."""
        return self.model.get_input_embeddings().weight

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        """The input of layer 0, float[N, T, D], from ids int[N, T] or word embeddings float[N, T, E]."""
        ids = None if inputs_embeds is not None else input_ids
        zeros = tf.zeros(tf.shape(input_ids if input_ids is not None else inputs_embeds[..., 0]), tf.int32)
        return self.encoder.embeddings(input_ids=ids, inputs_embeds=inputs_embeds, token_type_ids=zeros, training=False)

    def context(self, hidden, attention_mask) -> dict:
        """What every layer of one pass needs besides the hidden states (here the additive key mask)."""
        return {"mask": additive_mask(attention_mask, hidden.dtype)}

    def layer(self, index: int, hidden, context: dict, head_mask=None):
        """Encoder layer ``index`` on float[N, T, D] with heads scaled by ``head_mask`` float[N, H] (None: all)."""
        return self.layers[index](
            hidden_states=hidden,
            attention_mask=context["mask"],
            head_mask=per_head(head_mask),
            encoder_hidden_states=None,
            encoder_attention_mask=None,
            past_key_value=None,
            output_attentions=False,
            training=False,
        )[0]

    def layer_at(self, index: int, hidden, context: dict, head_mask, positions):
        """Layer ``index``'s output float[N, P, D] at ``positions`` int[N, P]; here the whole layer, then gathered."""
        return tf.gather(self.layer(index, hidden, context, head_mask), positions, batch_dims=1)

    def final_norm(self, hidden):
        """What the encoder applies after its last layer outside its per-layer hidden states (usually nothing);
        applied before the head whenever a layer's states are read (the lens, the layer-by-layer pass)."""
        return hidden

    def head(self, hidden):
        """The masked-LM head on hidden states float[N, P, D] → vocabulary logits float[N, P, V] (the encoder's last
        hidden state, or ``final_norm`` of a layer's states)."""
        for name in self.head_names:
            hidden = getattr(self.model, name)(hidden, training=False)
        return hidden

    def encode(self, input_ids, attention_mask, *, training: bool, **outputs):
        """The model's own encoder call (training and the internals pass): its output object."""
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask, training=training, **outputs)

    def dense_attentions(self, attentions, length: int):
        """Each layer's attention weights as float[N, H, T, T] (families with windowed attention convert)."""
        return attentions

    def refusal(self, view: str) -> str | None:
        return self.refusals.get(view)


class BertLayout(Adapter):
    """BERT's layout: ``encoder.layer[i]`` take an additive mask and a head mask; the last layer can run with
    queries at the gathered positions through the layer's own cross-attention path (keys, values from all
    tokens), then its feed-forward block there (exact: no later computation reads other positions)."""

    fast_last_layer = True

    def layer_at(self, index, hidden, context, head_mask, positions):
        if not self.fast_last_layer:
            return super().layer_at(index, hidden, context, head_mask, positions)
        layer = self.layers[index]
        queries = tf.gather(hidden, positions, batch_dims=1)
        attended = layer.attention(
            input_tensor=queries,
            attention_mask=None,
            head_mask=per_head(head_mask),
            encoder_hidden_states=hidden,
            encoder_attention_mask=context["mask"],
            past_key_value=None,
            output_attentions=False,
            training=False,
        )[0]
        return layer.bert_output(
            hidden_states=layer.intermediate(hidden_states=attended), input_tensor=attended, training=False
        )
