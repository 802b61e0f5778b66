"""Eager references: each computation written plainly from the model's own layers or calls, one unpadded row and
one eager call at a time, independently of ``mlm_core``'s batched, compiled paths.

The tests check the core against them; the benchmark rows (``bench/``) time them as the naive way, so the baseline
a row beats is the very code the tests trust (``from tests.references import ...``, run from the repository root).

- Trace: ``eager_states``, ``eager_patched_log_probs`` (activation patching, Meng et al. 2022).
- Head ablation: ``eager_head_masked_log_probs`` (BERT/RoBERTa encoders given transformers' head masks),
  ``distilbert_reference`` / ``eager_distilbert_log_probs`` (DistilBERT's own layers; test_family_acceptance
  checks the other families against theirs).
- Scoring: ``eager_pll`` (Salazar et al. 2020; Kauf & Ivanova 2023); ``eager_crows`` (CrowS-Pairs, Nangia et al.
  2020, the released ``metric.py``).
- Probing: ``eager_word_vectors`` (the model's own ``output_hidden_states``).
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import tensorflow as tf

# transformers' attribute names, written out here rather than read from mlm_core.architecture
REFERENCE_PARTS = {
    "bert": ("bert", "mlm"),
    "roberta": ("roberta", "lm_head"),
    "camembert": ("roberta", "lm_head"),
    "xlm-roberta": ("roberta", "lm_head"),
}


# -- Trace -----------------------------------------------------------------------------------------------------------


def model_parts(model):
    encoder_name, head_name = REFERENCE_PARTS[model.config.model_type]
    main = getattr(model, encoder_name)
    return main, list(main.encoder.layer), getattr(model, head_name)


def eager_layer(layer, hidden):
    """One BERT-style encoder layer's own call on one unpadded row, float[1, T, D] in and out."""
    return layer(
        hidden_states=hidden,
        attention_mask=tf.zeros((1, 1, 1, hidden.shape[1])),
        head_mask=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_value=None,
        output_attentions=False,
        training=False,
    )[0]


def eager_states(model, ids) -> list[tf.Tensor]:
    """Every layer's input and the last output, float[1, T, D] each (L+1), from the model's own embedding layer
    and encoder layers called eagerly on one unpadded row."""
    main, layers, _ = model_parts(model)
    input_ids = tf.constant([ids], dtype=tf.int32)
    states = [main.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)]
    for layer in layers:
        states.append(eager_layer(layer, states[-1]))
    return states


def eager_patched_log_probs(model, corrupt_ids, clean_states, layer: int, positions, mask: int) -> np.ndarray:
    """Reference for one patch: one full eager call of the corrupted row (embeddings, every layer, MLM head) whose
    state after ``layer`` (0 = embeddings) at ``positions`` is replaced by ``clean_states[layer]`` there.
    log-probabilities float[V] at token ``mask``."""
    main, layers, head = model_parts(model)
    input_ids = tf.constant([corrupt_ids], dtype=tf.int32)
    hidden = main.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)
    chosen = np.zeros((1, len(corrupt_ids), 1), dtype=bool)
    chosen[0, list(positions)] = True
    for index in range(len(layers) + 1):
        if index == layer:
            hidden = tf.where(chosen, clean_states[layer], hidden)
        if index < len(layers):
            hidden = eager_layer(layers[index], hidden)
    return tf.nn.log_softmax(head(hidden, training=False)[0, mask], axis=-1).numpy()


# -- Head ablation ---------------------------------------------------------------------------------------------------


def eager_head_masked_log_probs(model, ids, positions, head_mask: np.ndarray) -> np.ndarray:
    """Reference for head ablation: the model's own embedding layer, its *encoder* (given per-layer head masks in
    the form transformers documents, [batch, heads, 1, 1] for each layer) and its MLM head, called eagerly on one
    unpadded row. log-probabilities float[P, V] at ``positions``."""
    encoder_name, head_name = REFERENCE_PARTS[model.config.model_type]
    main, head = getattr(model, encoder_name), getattr(model, head_name)
    input_ids = tf.constant([ids], dtype=tf.int32)
    embedded = main.embeddings(input_ids=input_ids, token_type_ids=tf.zeros_like(input_ids), training=False)
    out = main.encoder(
        hidden_states=embedded,
        attention_mask=tf.zeros((1, 1, 1, len(ids))),
        head_mask=[tf.constant(layer_mask[None, :, None, None]) for layer_mask in head_mask],
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_values=None,
        use_cache=False,
        output_attentions=False,
        output_hidden_states=False,
        return_dict=True,
        training=False,
    )
    logits = head(out.last_hidden_state, training=False)[0].numpy()
    return tf.nn.log_softmax(logits[list(positions)], axis=-1).numpy()


def distilbert_reference(model, ids: tf.Tensor, mask_lh: np.ndarray) -> tf.Tensor:
    """DistilBERT: distilbert.embeddings, then each transformer.layer[i](x, mask, head_mask) given that layer's head
    mask [1, heads, 1, 1], then vocab_transform, the activation, vocab_layer_norm and vocab_projector, eagerly.
    ``ids`` int32[1, T] → logits float[1, T, V]."""
    main = model.distilbert
    hidden = main.embeddings(ids)
    for i, block in enumerate(main.transformer.layer):
        hidden = block(
            hidden, tf.ones(ids.shape, tf.float32), tf.constant(mask_lh[i][None, :, None, None]), False, training=False
        )[-1]
    return model.vocab_projector(model.vocab_layer_norm(model.act(model.vocab_transform(hidden))))


def eager_distilbert_log_probs(model, ids, positions, head_mask: np.ndarray) -> np.ndarray:
    """``distilbert_reference`` on one unpadded row: log-probabilities float[P, V] at ``positions``."""
    logits = distilbert_reference(model, tf.constant([ids], tf.int32), head_mask)[0].numpy()
    return tf.nn.log_softmax(logits[list(positions)], axis=-1).numpy()


# -- Scoring ---------------------------------------------------------------------------------------------------------


def eager_pll(mlm, text: str, method: str) -> dict[int, float]:
    """position → log P(token | the copy with it masked), for every non-special token of ``text``: the published
    definitions written plainly, masks built from the tokenizer itself, one eager model call per masked copy. With
    ``pll-word-l2r`` the pieces of the same word (same word id) to the right are masked too."""
    tokenizer = mlm.tokenizer
    encoded = tokenizer(text)
    ids, word_ids = encoded["input_ids"], encoded.word_ids()
    special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    scores = {}
    for position, token_id in enumerate(ids):
        if special[position]:
            continue
        copy = list(ids)
        copy[position] = tokenizer.mask_token_id
        later = position + 1
        while (
            method == "pll-word-l2r"
            and later < len(ids)
            and word_ids[later] is not None
            and word_ids[later] == word_ids[position]
        ):
            copy[later] = tokenizer.mask_token_id
            later += 1
        logits = (
            mlm.model(input_ids=tf.constant([copy]), attention_mask=tf.ones((1, len(copy)), tf.int32), training=False)
            .logits[0, position]
            .numpy()
            .astype(np.float64)
        )
        top = logits.max()
        scores[position] = float(logits[token_id] - top - np.log(np.exp(logits - top).sum()))
    return scores


def eager_crows(mlm, sent1: str, sent2: str) -> tuple[float, float]:
    """Nangia et al.'s ``mask_unigram``: the shared tokens' template from difflib's opcodes over the id lists,
    each template position but the first and last masked in turn, log-softmax of an eager call, summed."""
    tokenizer = mlm.tokenizer
    ids1, ids2 = tokenizer.encode(sent1), tokenizer.encode(sent2)
    template1, template2 = [], []
    for op in difflib.SequenceMatcher(None, [str(x) for x in ids1], [str(x) for x in ids2]).get_opcodes():
        if op[0] == "equal":
            template1 += list(range(op[1], op[2]))
            template2 += list(range(op[3], op[4]))
    totals = [0.0, 0.0]
    for i in range(1, len(template1) - 1):
        for side, (ids, template) in enumerate([(ids1, template1), (ids2, template2)]):
            masked = list(ids)
            masked[template[i]] = tokenizer.mask_token_id
            logits = mlm.model(input_ids=tf.constant([masked]), training=False).logits[0, template[i]].numpy()
            logits = logits.astype(np.float64)
            totals[side] += float(logits[ids[template[i]]] - logits.max() - np.log(np.exp(logits - logits.max()).sum()))
    return totals[0], totals[1]


# -- Probing ---------------------------------------------------------------------------------------------------------


def eager_word_vectors(mlm, rows) -> np.ndarray:
    """float32[N, L+1, D]: per row, the model's own hidden states averaged over its word's pieces. Written
    independently of ``tasks.probe_features``: the word's characters found by a whole-word regular expression,
    its pieces with the tokenizer's own ``char_to_word`` / ``word_to_tokens``, the states from one eager call per
    sentence with ``output_hidden_states=True``."""
    vectors = []
    for row in rows:
        matches = [
            m.start() for m in re.finditer(r"(?<!\w)" + re.escape(row.word.lower()) + r"(?!\w)", row.sentence.lower())
        ]
        start = matches[row.occurrence - 1]
        encoding = mlm.tokenizer(row.sentence)
        word = encoding.char_to_word(start)
        span = encoding.word_to_tokens(word)
        ids = tf.constant([encoding["input_ids"]])
        output = mlm.model(input_ids=ids, attention_mask=tf.ones_like(ids), output_hidden_states=True, training=False)
        states = np.stack([layer[0].numpy() for layer in output.hidden_states])  # [L+1, T, D]
        vectors.append(states[:, span.start : span.end].mean(axis=1))
    return np.asarray(vectors, dtype=np.float32)
