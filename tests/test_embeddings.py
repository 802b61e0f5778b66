import json

import numpy as np
import pytest
import tensorflow as tf

from mlm_core import InputError, ParameterError
from mlm_core.cli import main
from mlm_core.tasks.embeddings import project, projected_points, token_vectors, tsne_perplexity, word_similarity


def test_layer_zero_is_the_embedding_layer_output(bert):
    vectors = token_vectors(bert, ["the cat sat on the mat ."], layer=0, hide_special=False)
    ids = bert.tokenizer("the cat sat on the mat .")["input_ids"]
    expected = bert.model.bert.embeddings(input_ids=tf.constant([ids]), training=False)[0].numpy()
    np.testing.assert_allclose(vectors.vectors, expected, atol=1e-5)
    assert vectors.points["token"].tolist() == bert.tokenizer.convert_ids_to_tokens(ids)


def test_special_tokens_hidden_and_layers_checked(bert):
    vectors = token_vectors(bert, ["the cat sat", "a dog"], layer=2)
    assert vectors.points.values.tolist() == [[0, 1, "the"], [0, 2, "cat"], [0, 3, "sat"], [1, 1, "a"],
                                              [1, 2, "dog"]]
    assert vectors.vectors.shape == (5, 32)
    with pytest.raises(ParameterError, match=r"'layer' parameter of token_vectors must be an int in the range \[0, 2\]"):
        token_vectors(bert, ["the cat"], layer=3)


def test_word_pieces_merge_into_one_vector_per_word(bert):
    pieces = token_vectors(bert, ["my mother went home"], layer=1)
    words = token_vectors(bert, ["my mother went home"], layer=1, merge_pieces=True)
    assert words.points["token"].tolist() == ["my", "mother", "went", "home"]
    assert pieces.points["token"].tolist()[:3] == ["my", "m", "##o"]
    np.testing.assert_allclose(words.vectors[1], pieces.vectors[1:7].mean(axis=0), atol=1e-6)


@pytest.mark.parametrize("n_points", [6, 500])
def test_tsne_handles_few_and_many_points_reproducibly(n_points):
    vectors = np.random.default_rng(0).normal(size=(n_points, 16))
    first = project(vectors, method="tsne")
    assert first.coordinates.shape == (n_points, 2) and first.perplexity < n_points
    np.testing.assert_array_equal(first.coordinates, project(vectors, method="tsne").coordinates)


def test_tsne_on_one_sentence_and_pca_variance(bert):
    points, projection = projected_points(bert, ["the cat sat on the mat ."], layer=2, method="tsne")
    assert len(points) == 7 and projection.perplexity == tsne_perplexity(7) == 2.0
    points, projection = projected_points(bert, ["the cat sat on the mat ."], layer=2, method="pca")
    assert projection.explained_variance[0] >= projection.explained_variance[1] > 0


@pytest.mark.parametrize("method, message", [("pca", "PCA needs at least 2 points; there is 1"),
                                             ("tsne", "t-SNE needs at least 4 points; there are 3")])
def test_too_few_points_is_a_clear_error(method, message):
    with pytest.raises(ParameterError, match=message):
        project(np.ones((1 if method == "pca" else 3, 4)), method=method)


def test_unknown_method_and_no_sentences(bert):
    with pytest.raises(ParameterError, match="'method' parameter of project must be one of 'pca', 'tsne'"):
        project(np.ones((5, 2)), method="umap")
    with pytest.raises(InputError, match="No sentences"):
        token_vectors(bert, ["", "  "], layer=0)


def test_word_similarity_is_one_for_identical_contexts(bert):
    table = word_similarity(bert, ["the bank is red", "the bank is red", "a bank by a bank"], "Bank")
    assert len(table) == 6 * 3  # six pairs at each of layers 0, 1, 2
    assert sorted(set(table["a"]) | set(table["b"])) == ["sentence 1", "sentence 2", "sentence 3 (#1)",
                                                         "sentence 3 (#2)"]
    identical = table[(table["a"] == "sentence 1") & (table["b"] == "sentence 2")]
    np.testing.assert_allclose(identical["cosine"], 1.0, atol=1e-5)
    with pytest.raises(InputError, match="'cat' occurs 0 times"):
        word_similarity(bert, ["the bank", "a bank"], "cat")


def test_cli_embed_json(bert_dir, capsys):
    assert main(["embed", "the cat sat", "a dog ran", "--model", str(bert_dir), "--layer", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layer"] == 1 and data["method"] == "pca"
    assert [(p["sentence"], p["token"]) for p in data["points"]] == [(0, "the"), (0, "cat"), (0, "sat"),
                                                                     (1, "a"), (1, "dog"), (1, "ran")]
    assert all(isinstance(p["x"], float) and isinstance(p["position"], int) for p in data["points"])
