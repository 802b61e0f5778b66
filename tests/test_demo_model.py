"""Behaviour that needs real weights, on the demo model shipped in mlm_core/models/demo-en."""

import numpy as np
import pytest

from mlm_core import default_model_spec, predict
from mlm_core.catalog import DEMO_MODEL_DIR
from mlm_core.tasks.attention import attention, summarise_heads
from mlm_core.tasks.embeddings import word_similarity


def test_demo_is_shipped_small_and_the_offline_default():
    size = sum(path.stat().st_size for path in DEMO_MODEL_DIR.iterdir())
    assert size <= 50 * 1024 * 1024
    assert {"config.json", "model.safetensors", "README.md", "vocab.txt"} <= {p.name for p in DEMO_MODEL_DIR.iterdir()}
    assert default_model_spec() == "demo"  # the test cache is empty, so "en" is not cached


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, plausible",
    [
        # From documents held out of training (sotu/2005_george_w_bush_r, sotu/1968_lyndon_b_johnson_d,
        # sotu/1970_richard_nixon_r).
        ("Members of [MASK], the choices we make together will answer that question.", {"congress"}),
        ("Thank all of you very, very [MASK].", {"much"}),
        ("We are making [MASK] toward that goal.", {"progress", "steps", "strides", "efforts"}),
    ],
)
def test_clear_held_out_cloze_sentences_rank_a_plausible_word_high(demo, text, plausible):
    words = [c.token for c in predict(demo, text, top_k=5).masks[0].candidates]
    assert plausible & set(words), words


def test_the_cat_sentence_gets_plausible_places(demo):
    words = [
        c.token for c in predict(demo, "The cat sat on the [MASK] and looked around.", top_k=5).masks[0].candidates
    ]
    assert {
        "floor",
        "ground",
        "bed",
        "table",
        "chair",
        "door",
        "porch",
        "couch",
        "grass",
        "step",
        "steps",
        "bench",
        "edge",
        "window",
        "road",
        "wall",
        "roof",
    } & set(words), words


@pytest.mark.slow
def test_attention_rows_sum_to_one_and_heads_show_positional_and_separator_patterns(demo):
    result = attention(demo, "The old man sat on the bench in the park, and he looked at the birds.")
    np.testing.assert_allclose(result.weights.sum(-1), 1.0, atol=1e-5)
    labels = {s.label for s in summarise_heads(result)}
    assert {"previous token", "next token"} & labels, labels
    assert {"[SEP]", "[CLS]"} & labels, labels


def test_same_word_in_identical_contexts_is_identical_and_differs_across_meanings(demo):
    sentences = [
        "I sat on the bank of the river.",
        "I sat on the bank of the river.",
        "I opened an account at the bank.",
    ]
    table = word_similarity(demo, sentences, "bank")
    last = table[table["layer"] == demo.num_layers].set_index(["a", "b"])["cosine"]
    assert last[("sentence 1", "sentence 2")] == pytest.approx(1.0, abs=1e-5)
    assert last[("sentence 1", "sentence 3")] < 0.95
