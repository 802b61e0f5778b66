import ast
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from mlm_core import InputError, ParameterError
from mlm_core.cli import main
from mlm_core.tasks.embeddings import (
    focus_ranges,
    is_content,
    neighbour_roles,
    project,
    projected_points,
    token_vectors,
    tsne_perplexity,
    word_similarity,
)

PAGE = Path(__file__).resolve().parents[1] / "pages" / "embeddings.py"


def test_layer_zero_is_the_embedding_layer_output(bert):
    vectors = token_vectors(bert, ["the cat sat on the mat ."], layer=0, all_tokens=True)
    ids = bert.tokenizer("the cat sat on the mat .")["input_ids"]
    expected = bert.model.bert.embeddings(input_ids=tf.constant([ids]), training=False)[0].numpy()
    np.testing.assert_allclose(vectors.vectors, expected, atol=1e-5)
    assert vectors.points["token"].tolist() == bert.tokenizer.convert_ids_to_tokens(ids)


def test_special_tokens_hidden_and_layers_checked(bert):
    vectors = token_vectors(bert, ["the cat sat", "a dog"], layer=2)
    assert vectors.points.values.tolist() == [[0, 1, "the"], [0, 2, "cat"], [0, 3, "sat"], [1, 1, "a"], [1, 2, "dog"]]
    assert vectors.vectors.shape == (5, 32)
    with pytest.raises(
        ParameterError, match=r"'layer' parameter of token_vectors must be an int in the range \[0, 2\]"
    ):
        token_vectors(bert, ["the cat"], layer=3)


def test_word_pieces_merge_into_one_vector_per_word(bert):
    pieces = token_vectors(bert, ["my mother went home"], layer=1)
    words = token_vectors(bert, ["my mother went home"], layer=1, merge_pieces=True)
    assert words.points["token"].tolist() == ["my", "mother", "went", "home"]
    assert pieces.points["token"].tolist()[:3] == ["my", "m", "##o"]
    np.testing.assert_allclose(words.vectors[1], pieces.vectors[1:7].mean(axis=0), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("n_points", [6, 500])
def test_tsne_handles_few_and_many_points_reproducibly(n_points):
    vectors = np.random.default_rng(0).normal(size=(n_points, 16))
    first = project(vectors, method="tsne")
    assert first.coordinates.shape == (n_points, 2) and first.perplexity < n_points
    np.testing.assert_array_equal(first.coordinates, project(vectors, method="tsne").coordinates)


def test_tsne_on_one_sentence_and_pca_variance(bert):
    points, projection = projected_points(
        bert, ["the cat sat on the mat ."], layer=2, method="tsne", all_tokens=True, hide_special=True
    )
    assert len(points) == 7 and projection.perplexity == tsne_perplexity(7) == 2.0
    points, projection = projected_points(bert, ["the cat sat on the mat ."], layer=2, method="pca")
    assert projection.explained_variance[0] >= projection.explained_variance[1] > 0


@pytest.mark.parametrize(
    "method, message",
    [("pca", "PCA needs at least 2 points; there is 1"), ("tsne", "t-SNE needs at least 4 points; there are 3")],
)
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
    assert sorted(set(table["a"]) | set(table["b"])) == [
        "sentence 1",
        "sentence 2",
        "sentence 3 (#1)",
        "sentence 3 (#2)",
    ]
    identical = table[(table["a"] == "sentence 1") & (table["b"] == "sentence 2")]
    np.testing.assert_allclose(identical["cosine"], 1.0, atol=1e-5)
    with pytest.raises(InputError, match="'cat' occurs 0 times"):
        word_similarity(bert, ["the bank", "a bank"], "cat")


@pytest.mark.slow
def test_cli_embed_json(bert_dir, capsys):
    assert main(["embed", "the cat sat", "a dog ran", "--model", str(bert_dir), "--layer", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layer"] == 1 and data["method"] == "pca"
    assert [(p["sentence"], p["token"]) for p in data["points"]] == [
        (0, "the"),
        (0, "cat"),
        (0, "sat"),
        (1, "a"),
        (1, "dog"),
        (1, "ran"),
    ]
    assert all(isinstance(p["x"], float) and isinstance(p["position"], int) for p in data["points"])


def page_defaults() -> dict:
    """The Embeddings page's default sentences and word, read from its source (running it needs Streamlit)."""
    values = {}
    for node in ast.parse(PAGE.read_text(encoding="utf-8")).body:
        name = getattr(node.targets[0], "id", None) if isinstance(node, ast.Assign) else None
        if name in ("DEFAULT_SENTENCES", "DEFAULT_WORD"):  # "\n".join([...]) or a string
            value = node.value
            values[name] = ast.literal_eval(value.args[0] if isinstance(value, ast.Call) else value)
    return values


@pytest.mark.parametrize("merge_pieces", [True, False])  # the page's default, the CLI's
def test_default_view_puts_each_bank_nearer_its_own_sense(demo, merge_pieces):
    """Checked against the senses of the default sentences as issue 19 gives them (sentences 1 and 3: a river
    bank; 2 and 4: a money bank), on the demo model, the last layer and the page's default settings (PCA of
    standardised content-token vectors): in the plotted 2-D coordinates, each 'bank' is nearer to the other
    'bank' of its sense than to either 'bank' of the other sense."""
    defaults = page_defaults()
    sentences = defaults["DEFAULT_SENTENCES"]
    assert len(sentences) == 4 and defaults["DEFAULT_WORD"] == "bank"
    points, projection = projected_points(
        demo, sentences, layer=demo.num_layers, method="pca", merge_pieces=merge_pieces
    )
    banks = points[points["token"] == "bank"]
    assert banks["sentence"].tolist() == [0, 1, 2, 3]
    xy = banks[["x", "y"]].to_numpy()
    distance = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = {0: 2, 2: 0, 1: 3, 3: 1}
    for bank, partner in same.items():
        others = [other for other in range(4) if other not in (bank, partner)]
        assert distance[bank, partner] < distance[bank, others].min(), (bank, distance.round(3))
    assert projection.standardized and not points["token"].isin([".", "[CLS]", "[SEP]"]).any()


def test_punctuation_and_special_tokens_left_out_unless_asked_for(bert):
    sentence = ["the cat , sat [MASK] ..."]

    def tokens(**options):
        return token_vectors(bert, sentence, layer=1, **options).points["token"].tolist()

    content = tokens()
    assert "[MASK]" in content and not {"[CLS]", "[SEP]", ",", "."} & set(content)
    everything = tokens(all_tokens=True)
    assert everything[0] == "[CLS]" and everything[-1] == "[SEP]" and {",", "."} <= set(everything)
    assert set(everything) - set(content) == {"[CLS]", "[SEP]", ",", "."}
    assert tokens(hide_special=False) == ["[CLS]", *content, "[SEP]"]  # the older option: special tokens only
    assert tokens(all_tokens=True, hide_special=True) == everything[1:-1]
    points, _ = projected_points(bert, sentence, layer=1)
    assert points["token"].tolist() == content  # the projection is fitted on these points only
    assert [is_content(text) for text in ["...", "—", "«»", " ", "", "$", "🍕", "é", "3", "[UNK]"]] == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        True,
    ]
    with pytest.raises(ParameterError, match="'all_tokens' parameter of token_vectors must be one of False, True"):
        token_vectors(bert, sentence, layer=1, all_tokens="yes")


def test_standardising_matches_a_numpy_z_score_then_pca():
    """Reference: a z-score written with numpy (population standard deviation), then scikit-learn's PCA."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 12))
    vectors[:, 3] = vectors[:, 3] * 50 + 200  # one rogue dimension
    zscores = (vectors - vectors.mean(axis=0)) / vectors.std(axis=0)
    reference = PCA(n_components=2).fit(zscores)
    projection = project(vectors, method="pca")
    signs = np.sign((projection.coordinates * reference.transform(zscores)).sum(axis=0))
    np.testing.assert_allclose(projection.coordinates * signs, reference.transform(zscores), atol=1e-8)
    np.testing.assert_allclose(projection.explained_variance, reference.explained_variance_ratio_, atol=1e-10)
    raw = project(vectors, method="pca", standardize=False)
    assert projection.standardized and not raw.standardized
    assert abs(np.corrcoef(raw.coordinates[:, 0], vectors[:, 3])[0, 1]) > 0.99  # unscaled, the rogue axis wins
    assert abs(np.corrcoef(projection.coordinates[:, 0], vectors[:, 3])[0, 1]) < 0.9
    assert project(vectors, method="tsne").coordinates.shape == (40, 2)
    with pytest.raises(ParameterError, match="'standardize' parameter of project must be one of False, True"):
        project(vectors, standardize="yes")


def test_neighbour_roles_label_the_word_and_its_nearest_points_and_the_view_opens_on_them():
    import pandas as pd

    points = pd.DataFrame(
        {
            "token": ["Bank", "river", "water", "money", "bank", "far"],
            "x": [0.0, 0.1, 0.3, 5.0, 5.2, 50.0],
            "y": [0.0, 0.2, 1.0, 1.5, 2.0, -20.0],
        }
    )
    roles = neighbour_roles(points, " bank ", k=1)
    assert roles.tolist() == ["word", "neighbour", "", "neighbour", "word", ""]
    assert neighbour_roles(points, "bank").tolist() == ["word", "neighbour", "neighbour", "neighbour", "word", ""]
    assert neighbour_roles(points, "zebra").tolist() == [""] * 6
    x_range, y_range = focus_ranges(points[:5], roles[:5])  # a quarter of the labelled points' extent
    assert x_range == pytest.approx((-1.3, 6.5)) and y_range == pytest.approx((-0.5, 2.5))
    x_range, y_range = focus_ranges(points, roles)  # at least 5 % of the picture's extent (50 along x)
    assert x_range == pytest.approx((-2.5, 7.7)) and y_range == pytest.approx((-2.5, 4.5))
    assert focus_ranges(points, neighbour_roles(points, "river")) is None  # one occurrence: the whole picture
