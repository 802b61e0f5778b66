"""Families built on BERT's layout, each differing from it in a few named places (read from transformers 4.54.1's
``modeling_tf_*.py``): the encoder's attribute, a projection after the embeddings, the head's layers, rotary
positions, a final norm."""

from __future__ import annotations

import tensorflow as tf

from .base import Adapter, BertLayout, per_head


class BertAdapter(BertLayout):
    main, head_names = "bert", ("mlm",)


class RobertaAdapter(BertLayout):
    """RoBERTa, CamemBERT, XLM-RoBERTa: BERT's layers, position ids counted after the padding id, ``lm_head``."""

    main, head_names = "roberta", ("lm_head",)


class RobertaPreLayerNormAdapter(BertLayout):
    """Layers normalise their inputs; one LayerNorm after the last layer is in transformers' last hidden state but
    not in its per-layer hidden states, so it is the ``final_norm`` every read-out of a layer's states applies. The
    fast last layer is off: its cross-attention path would normalise only the queries."""

    main, head_names, fast_last_layer = "roberta_prelayernorm", ("lm_head",), False

    def final_norm(self, hidden):
        return self.encoder.LayerNorm(hidden)


class ProjectedAdapter(BertLayout):
    """ELECTRA's generator (and ConvBERT, RoFormer): a smaller embedding projected to the hidden size."""

    main, head_names = "electra", ("generator_predictions", "generator_lm_head")

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        hidden = super().embed(input_ids, inputs_embeds, attention_mask)
        project = getattr(self.encoder, "embeddings_project", None)
        return hidden if project is None else project(hidden, training=False)


class RemBertAdapter(BertLayout):
    """RemBERT: small input embeddings mapped to the hidden size by the encoder's first dense layer."""

    main, head_names = "rembert", ("mlm",)

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        hidden = super().embed(input_ids, inputs_embeds, attention_mask)
        return self.encoder.encoder.embedding_hidden_mapping_in(hidden)


class PositionalLayerAdapter(ProjectedAdapter):
    """Families whose layers take (hidden, mask, head mask, output_attentions) positionally and have no
    cross-attention path, so the last layer runs whole, then is gathered."""

    fast_last_layer = False

    def layer(self, index, hidden, context, head_mask=None):
        return self.layers[index](hidden, context["mask"], per_head(head_mask), False, training=False)[0]


class ConvBertAdapter(PositionalLayerAdapter):
    """ConvBERT: half the heads (``head_ratio``) are self-attention, the rest a span convolution that has no
    attention weights; head masks switch off the self-attention heads."""

    main, head_names = "convbert", ("generator_predictions", "generator_lm_head")

    @property
    def num_heads(self) -> int:
        return max(1, self.config.num_attention_heads // self.config.head_ratio)


class MobileBertAdapter(PositionalLayerAdapter):
    """MobileBERT: bottlenecked layers (the head count is of the bottleneck's attention)."""

    main, head_names = "mobilebert", ("predictions",)


class RoFormerAdapter(ProjectedAdapter):
    """RoFormer: rotary position tables computed once per pass from the length, given to every layer."""

    main, head_names, fast_last_layer = "roformer", ("mlm",), False

    def context(self, hidden, attention_mask):
        # a list of [N, T] (static where known): the table layer unpacks it
        shape = [hidden.shape[i] if hidden.shape[i] is not None else tf.shape(hidden)[i] for i in (0, 1)]
        table = self.encoder.encoder.embed_positions(shape)[tf.newaxis, tf.newaxis]
        return {**super().context(hidden, attention_mask), "rotary": table}

    def layer(self, index, hidden, context, head_mask=None):
        return self.layers[index](
            hidden_states=hidden,
            attention_mask=context["mask"],
            sinusoidal_pos=context["rotary"],
            head_mask=per_head(head_mask),
            output_attentions=False,
            training=False,
        )[0]


class EsmAdapter(Adapter):
    """ESM: rotary positions inside each layer; the embeddings zero the mask token's vector and rescale by the
    share of masks (``token_dropout``), so they need the ids even when given word embeddings; a LayerNorm after
    the last layer (inside transformers' last hidden state, so here part of the last layer)."""

    main, head_names = "esm", ("lm_head",)

    def word_embeddings(self):
        return self.encoder.embeddings.word_embeddings.embeddings

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        if attention_mask is None:
            attention_mask = tf.ones_like(input_ids)
        return self.encoder.embeddings(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds)

    def encode(self, input_ids, attention_mask, *, training, **outputs):
        return self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, training=training, return_dict=True, **outputs
        )

    def layer(self, index, hidden, context, head_mask=None):
        hidden = self.layers[index](hidden, context["mask"], per_head(head_mask), None, None, None, False, False)[0]
        norm = self.encoder.encoder.emb_layer_norm_after
        return norm(hidden) if index == self.num_layers - 1 and norm else hidden


class_for = {
    "bert": BertAdapter,
    "roberta": RobertaAdapter,
    "camembert": RobertaAdapter,
    "xlm-roberta": RobertaAdapter,
    "roberta-prelayernorm": RobertaPreLayerNormAdapter,
    "electra": ProjectedAdapter,
    "rembert": RemBertAdapter,
    "convbert": ConvBertAdapter,
    "mobilebert": MobileBertAdapter,
    "roformer": RoFormerAdapter,
    "esm": EsmAdapter,
}
