"""Families whose encoder is not BERT's: DistilBERT, ALBERT, MPNet, XLM and FlauBERT (read from transformers
4.54.1's ``modeling_tf_*.py``; each ``layer`` repeats what the family's own encoder loop does for one layer)."""

from __future__ import annotations

import tensorflow as tf

from .base import Adapter, per_head


class DistilBertAdapter(Adapter):
    """DistilBERT: ``transformer.layer[i]`` take the 0/1 mask itself; the head is ``vocab_transform`` → activation
    → ``vocab_layer_norm`` → ``vocab_projector``. Its attention takes queries, keys and values separately, so the
    last layer runs with queries at the gathered positions only (keys and values from every token), then the
    layer's own norms and feed-forward block there — exact, since nothing after it reads other positions."""

    main = "distilbert"
    fast_last_layer = True

    @property
    def layers(self):
        return self.encoder.transformer.layer

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        return self.encoder.embeddings(None if inputs_embeds is not None else input_ids, inputs_embeds=inputs_embeds)

    def context(self, hidden, attention_mask):
        return {"mask": tf.cast(attention_mask, hidden.dtype)}

    def layer(self, index, hidden, context, head_mask=None):
        return self.layers[index](hidden, context["mask"], per_head(head_mask), False, training=False)[-1]

    def layer_at(self, index, hidden, context, head_mask, positions):
        block = self.layers[index]
        queries = tf.gather(hidden, positions, batch_dims=1)
        attended = block.attention(
            queries, hidden, hidden, context["mask"], per_head(head_mask), False, training=False
        )[0]
        attended = block.sa_layer_norm(attended + queries)
        return block.output_layer_norm(block.ffn(attended, training=False) + attended)

    def head(self, hidden):
        model = self.model
        return model.vocab_projector(model.vocab_layer_norm(model.act(model.vocab_transform(hidden))))


class AlbertAdapter(Adapter):
    """ALBERT: embeddings mapped to the hidden size by the encoder's first dense layer; depth ``i`` runs the
    shared layers of group ``i · groups // L`` (one group in released models: the same weights at every depth).
    The head mask of depth ``i`` switches off heads at that depth only (transformers' own indexing would give
    every depth of a group the group's first mask)."""

    main, head_names = "albert", ("predictions",)

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        return self.encoder.encoder.embedding_hidden_mapping_in(super().embed(input_ids, inputs_embeds))

    @property
    def num_layers(self) -> int:
        return int(self.config.num_hidden_layers)

    def layer(self, index, hidden, context, head_mask=None):
        groups = self.encoder.encoder.albert_layer_groups
        group = groups[index * len(groups) // self.num_layers]
        for shared in group.albert_layers:
            hidden = shared(
                hidden_states=hidden,
                attention_mask=context["mask"],
                head_mask=per_head(head_mask),
                output_attentions=False,
                training=False,
            )[0]
        return hidden


class MPNetAdapter(Adapter):
    """MPNet: a relative-position bias computed once per pass (bucketed distances) added in every layer."""

    main, head_names = "mpnet", ("lm_head",)

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        return self.encoder.embeddings(
            None if inputs_embeds is not None else input_ids, None, inputs_embeds, training=False
        )

    def context(self, hidden, attention_mask):
        return {**super().context(hidden, attention_mask), "bias": self.encoder.encoder.compute_position_bias(hidden)}

    def layer(self, index, hidden, context, head_mask=None):
        return self.layers[index](
            hidden, context["mask"], per_head(head_mask), False, position_bias=context["bias"], training=False
        )[0]


class XlmAdapter(Adapter):
    """XLM and FlauBERT: one loop in the main layer (attention, norms, feed-forward per depth, post- or pre-norm),
    padding positions zeroed after every layer. Language embeddings are added only when a language id is given,
    as transformers does without ``langs`` (the fill-mask pipeline passes none)."""

    main, head_names = "transformer", ("pred_layer",)

    @property
    def num_layers(self) -> int:
        return int(self.encoder.n_layers)

    @property
    def num_heads(self) -> int:
        return int(self.encoder.n_heads)

    def word_embeddings(self):
        return self.encoder.embeddings.weight

    def embed(self, input_ids=None, inputs_embeds=None, attention_mask=None):
        main = self.encoder
        words = main.embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        length = tf.shape(words)[1]
        hidden = main.layer_norm_emb(words + tf.gather(main.position_embeddings, tf.range(length))[tf.newaxis])
        if attention_mask is not None:
            hidden = hidden * tf.cast(attention_mask, hidden.dtype)[..., tf.newaxis]
        return hidden

    def context(self, hidden, attention_mask):
        return {"mask": tf.cast(attention_mask, hidden.dtype)}

    def layer(self, index, hidden, context, head_mask=None):
        main, mask = self.encoder, context["mask"]
        pre_norm = getattr(main, "pre_norm", False)

        def attend(tensor):
            return main.attentions[index](tensor, mask, None, None, per_head(head_mask), False, training=False)[0]

        if pre_norm:
            hidden = hidden + attend(main.layer_norm1[index](hidden))
            hidden = hidden + main.ffns[index](main.layer_norm2[index](hidden))
        else:
            hidden = main.layer_norm1[index](hidden + attend(hidden))
            hidden = main.layer_norm2[index](hidden + main.ffns[index](hidden))
        return hidden * mask[..., tf.newaxis]

    def encode(self, input_ids, attention_mask, *, training, **outputs):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask, training=training, **outputs)
