"""Families whose attention is not BERT's: DeBERTa (v1, v2: disentangled relative positions), Longformer (a sliding
window) and Funnel (pooled blocks). Read from transformers 4.54.1's ``modeling_tf_*.py``."""

from __future__ import annotations

import tensorflow as tf

from .base import Adapter, scale_heads

FUNNEL_REASON = (
    "Funnel pools the sequence between its blocks, so after the first block there is no hidden state "
    "or attention row per token to show"
)


class DebertaAdapter(Adapter):
    """DeBERTa v1 and v2: relative positions and their (normalised) embeddings computed once per pass and given to
    every layer, with the encoder's own 0/1 pair mask. Their TF attention ignores head masks, so each layer is
    called as its parts: the disentangled self-attention, each head's output scaled (``scale_heads``), then the
    attention's output block and the feed-forward block. v2's optional convolution follows layer 0."""

    main, head_names = "deberta", ("mlm",)

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        ids = None if inputs_embeds is not None else input_ids
        shape = tf.shape(input_ids if input_ids is not None else inputs_embeds[..., 0])
        if attention_mask is None:
            attention_mask = tf.ones(shape, tf.int32)
        return self.encoder.embeddings(
            input_ids=ids,
            inputs_embeds=inputs_embeds,
            token_type_ids=tf.zeros(shape, tf.int32),
            mask=attention_mask,
            training=False,
        )

    def context(self, hidden, attention_mask):
        encoder = self.encoder.encoder
        return {
            "mask": encoder.get_attention_mask(attention_mask),
            "input_mask": attention_mask,
            "relative_pos": encoder.get_rel_pos(hidden),
            "rel_embeddings": encoder.get_rel_embedding(),
        }

    def layer(self, index, hidden, context, head_mask=None):
        block = self.layers[index]
        heads = block.attention.self(
            hidden_states=hidden,
            attention_mask=context["mask"],
            query_states=None,
            relative_pos=context["relative_pos"],
            rel_embeddings=context["rel_embeddings"],
            output_attentions=False,
            training=False,
        )[0]
        attended = block.attention.dense_output(
            hidden_states=scale_heads(heads, head_mask), input_tensor=hidden, training=False
        )
        output = block.bert_output(
            hidden_states=block.intermediate(hidden_states=attended), input_tensor=attended, training=False
        )
        conv = getattr(self.encoder.encoder, "conv", None)
        if index == 0 and conv is not None:
            output = conv(hidden, output, context["input_mask"])
        return output


class LongformerAdapter(Adapter):
    """Longformer: each token attends to a window of ``attention_window`` neighbours. Layers need a length that is a
    multiple of the window, so each layer pads (masked positions, as the main layer does) and trims. Its attention
    weights come as [T, window + 1] per head (offsets −w/2…+w/2); ``dense_attentions`` lays them out as the usual
    [T, T] matrix with zeros outside the window — the same weights, drawn over the window. Its head mask is one
    vector per layer, so per-row masks scale each head's output (``scale_heads``)."""

    main, head_names = "longformer", ("lm_head",)

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        # Position ids count from the padding id + 1, from the ids or (for word embeddings) in order, as in
        # transformers; padding rows added by the main layer are masked, so leaving them out changes nothing.
        ids = None if inputs_embeds is not None else input_ids
        shape = tf.shape(input_ids if input_ids is not None else inputs_embeds[..., 0])
        return self.encoder.embeddings(ids, None, tf.zeros(shape, tf.int32), inputs_embeds, training=False)

    def _window(self) -> int:
        window = self.config.attention_window
        return int(window if isinstance(window, int) else window[0])

    def context(self, hidden, attention_mask):
        window = self._window()
        length = tf.shape(hidden)[1]
        padding = (window - length % window) % window
        mask = tf.pad(tf.cast(attention_mask, tf.int32), [[0, 0], [0, padding]])
        return {
            "padding": padding,
            "mask": mask,
            "additive": tf.cast(tf.abs(1 - mask), hidden.dtype)[:, :, tf.newaxis, tf.newaxis] * -10000.0,
            "masked": mask < 1,
            "global": mask > 1,
        }

    def layer(self, index, hidden, context, head_mask=None):
        block, length = self.layers[index], tf.shape(hidden)[1]
        padded = tf.pad(hidden, [[0, 0], [0, context["padding"]], [0, 0]])
        heads = block.attention.self_attention(
            [padded, context["additive"], None, context["masked"], context["global"], tf.reduce_any(context["global"])],
            training=False,
        )[0]
        attended = block.attention.dense_output(scale_heads(heads, head_mask), padded, training=False)
        return block.longformer_output(block.intermediate(attended), attended, training=False)[:, :length]

    def dense_attentions(self, attentions, length: int):
        """float[N, H, T, w + 1] (key offsets −w/2…w/2 per query) → float[N, H, T, T], zeros outside the window."""
        span = self._window() + 1
        offsets = tf.range(length)[tf.newaxis, :] - tf.range(length)[:, tf.newaxis] + span // 2
        inside = tf.cast((offsets >= 0) & (offsets < span), attentions.dtype)
        shape = tf.concat([tf.shape(attentions)[:2], [length, length]], axis=0)
        index = tf.broadcast_to(tf.clip_by_value(offsets, 0, span - 1), shape)
        return tf.experimental.numpy.take_along_axis(attentions[:, :, :length], index, axis=-1) * inside


class FunnelAdapter(Adapter):
    """Funnel: the encoder pools the sequence between blocks and a decoder upsamples it again, so only Predict,
    Explain, Score and Fine-tune (which read the final full-length states) are offered."""

    main, head_names = "funnel", ("lm_head",)
    refusals = {view: FUNNEL_REASON for view in ("attention", "layers", "heads", "embeddings")}

    @property
    def num_layers(self) -> int:
        return int(sum(self.config.block_sizes))

    @property
    def num_heads(self) -> int:
        return int(self.config.n_head)
