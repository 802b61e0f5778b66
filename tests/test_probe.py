"""Probing classifiers with control tasks (Hewitt & Liang 2019, "Designing and Interpreting Probes with Control
Tasks"): the features, the per-layer accuracies, the control task, the reading and the task files."""

from dataclasses import replace

import numpy as np
import pytest
from references import eager_word_vectors
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mlm_core.errors import InputError, ParameterError
from mlm_core.tasks.probe import LayerScore, ProbeResult, control_labels, probe
from mlm_core.tasks.probe_features import word_positions, word_vectors
from mlm_core.tasks.probe_files import check_rows, list_probe_tasks, load_probe_task, read_probe_rows


def rows_of(text: str, name: str = "'t.csv'"):
    return read_probe_rows(text.encode("utf-8"), name=name)


@pytest.fixture(scope="module")
def pos_subset():
    """The first 8 words of the shipped part-of-speech task (80 rows, 40 nouns and 40 verbs)."""
    rows = load_probe_task("en-pos-noun-verb")[1]
    words = list(dict.fromkeys(row.word for row in rows))[:8]
    return [row for row in rows if row.word in words]


@pytest.fixture(scope="module")
def eager_features(demo, pos_subset):
    return eager_word_vectors(demo, pos_subset)


@pytest.fixture(scope="module")
def pos_result(demo, pos_subset):
    return probe(demo, pos_subset, task="pos-subset", folds=5, seed=0)


def reference_accuracy(features: np.ndarray, labels: np.ndarray, *, folds: int, seed: int) -> float:
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with threadpool_limits(limits=1):
        return float(
            cross_val_score(
                pipeline, features, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed)
            ).mean()
        )


@pytest.mark.slow
def test_features_equal_the_models_own_hidden_states(demo, pos_subset, eager_features):
    """Reference: the model's own call with output_hidden_states=True, one sentence at a time, the word's pieces
    found with the tokenizer's char_to_word / word_to_tokens (references.eager_word_vectors)."""
    ours = word_vectors(demo, pos_subset)
    reference = eager_features
    assert ours.shape == (80, demo.num_layers + 1, 384)
    np.testing.assert_allclose(ours, reference, atol=2e-4)


@pytest.mark.slow
def test_accuracy_per_layer_equals_an_independent_computation(demo, pos_subset, pos_result, eager_features):
    """Reference: the model's own hidden states, scikit-learn's cross_val_score over the same pipeline and folds."""
    features = eager_features
    labels = np.array([row.label for row in pos_subset])
    control = control_labels(pos_subset, seed=0)
    assert [score.layer for score in pos_result.layers] == list(range(demo.num_layers + 1))
    for score in pos_result.layers:
        assert score.accuracy == pytest.approx(
            reference_accuracy(features[:, score.layer], labels, folds=5, seed=0), abs=0.01
        )
        assert score.control_accuracy == pytest.approx(
            reference_accuracy(features[:, score.layer], control, folds=5, seed=0), abs=0.01
        )
        assert score.selectivity == pytest.approx(score.accuracy - score.control_accuracy)
    assert pos_result.majority == 0.5 and dict(pos_result.labels) == {"noun": 40, "verb": 40}


def test_the_control_task_is_learnt_from_word_identity_at_layer_0(pos_result, pos_subset):
    """Each word keeps one control label, so the embeddings (which know the word) learn it; the task's label
    changes with the sentence, so the embeddings alone cannot: that gap is what selectivity measures."""
    control = control_labels(pos_subset, seed=0)
    assert len(set(control)) == 2 and max(np.mean(control == label) for label in set(control)) < 0.9
    layer0 = pos_result.layers[0]
    assert layer0.control_accuracy >= 0.9
    assert layer0.accuracy <= 0.65  # the same 8 words are nouns and verbs
    assert max(score.accuracy for score in pos_result.layers[1:]) >= 0.9


def test_a_label_visible_only_in_context_is_at_chance_after_the_embeddings_and_read_above(bert):
    """Planted task on the tiny BERT (random weights). The probed word 'dog' is always the 3rd token of sentences
    of one length, so its embedding-layer vector (word + position + segment embeddings, layer-normed) is the same
    on every row: no probe can beat always guessing one label, 50 % here with balanced labels and stratified folds.
    The label is decided by the last word (mat, rug, bed → a; floor, chair, table → b). From layer 1 on, attention
    mixes every token into 'dog' with non-zero weights, so its vector differs between the six sentences; six
    distinct points are linearly separable, and each sentence is repeated 20 times, so every test row has exact
    copies in the training folds: the probe reads the label perfectly."""
    lines = ["sentence,word,label"]
    for place, label in [("mat", "a"), ("rug", "a"), ("bed", "a"), ("floor", "b"), ("chair", "b"), ("table", "b")]:
        lines += [f"the dog sat on the {place} .,dog,{label}"] * 20
    rows = rows_of("\n".join(lines))
    vectors = word_vectors(bert, rows)
    assert np.ptp(vectors[:, 0], axis=0).max() == 0  # identical after the embeddings
    result = probe(bert, rows, folds=5, seed=0)
    assert result.layers[0].accuracy == pytest.approx(0.5, abs=0.02)
    assert all(score.accuracy >= 0.95 for score in result.layers[1:])


def test_control_labels_follow_their_definition(pos_subset):
    """One label per lower-cased word, drawn (seeded) from the task's labels."""
    rows = rows_of("sentence,word,label\nBook it.,Book,verb\nA book.,book,noun\nA cat.,cat,noun\nI run.,run,verb")
    labels = control_labels(rows, seed=3)
    assert labels[0] == labels[1] and set(labels) <= {"noun", "verb"}
    assert list(control_labels(pos_subset, seed=0)) == list(control_labels(pos_subset, seed=0))
    assert list(control_labels(pos_subset, seed=0)) != list(control_labels(pos_subset, seed=1))


def test_word_positions_take_every_piece_and_the_asked_occurrence(bert, camembert):
    rows = rows_of("sentence,word,label,occurrence\nthe zebra sat .,zebra,x,\nthe cat saw the cat .,CAT,y,2")
    encoded = bert.tokenizer([row.sentence for row in rows], return_offsets_mapping=True)
    zebra = word_positions(encoded["offset_mapping"][0], encoded.word_ids(0), rows[0])
    assert [encoded.tokens(0)[p] for p in zebra] == ["z", "##e", "##b", "##r", "##a"]
    assert word_positions(encoded["offset_mapping"][1], encoded.word_ids(1), rows[1]) == (5,)
    glued = rows_of("sentence,word,label\nthe dog's bed.,dog,x\nthe dog's bed.,bed,y")
    encoded = camembert.tokenizer([glued[0].sentence], return_offsets_mapping=True)
    dog, bed = (word_positions(encoded["offset_mapping"][0], encoded.word_ids(0), row) for row in glued)
    assert [encoded.tokens(0)[p] for p in dog + bed] == ["\u2581dog", "\u2581bed"]  # not "'s" or "."
    straddling = replace(glued[0], span=(4, 6))  # "do": the piece "▁dog" reaches outside it
    with pytest.raises(InputError, match=r"line 2: model 'm' reads 'dog' as part of the piece 'dog'"):
        word_positions(encoded["offset_mapping"][0], encoded.word_ids(0), straddling, "m")


def test_the_reading_names_where_the_property_is_readable_and_where_selectivity_peaks():
    scores = (LayerScore(0, 0.55, 0.9), LayerScore(1, 0.93, 0.8), LayerScore(2, 0.96, 0.75), LayerScore(3, 0.97, 0.6))
    result = ProbeResult("demo", "t", "Number", 100, (("pl", 50), ("sg", 50)), 0.5, "pl", scores, 5, 0)
    reading = result.reading()
    assert reading.startswith(
        "Number is readable from layer 1 (93%, against 50% for always guessing 'pl'); "
        "the best layer is 3 (97%). Selectivity — accuracy minus the control task's — peaks "
        "at layer 3 (+37%)."
    )
    assert "reaches 90% after the embeddings" in reading
    flat = ProbeResult(
        "demo",
        "t",
        "Number",
        100,
        (("pl", 50), ("sg", 50)),
        0.5,
        "pl",
        (LayerScore(0, 0.5, 0.5), LayerScore(1, 0.52, 0.5)),
        5,
        0,
    )
    assert flat.reading() == (
        "Number is not readable from any layer: the best, layer 1, reaches 52%, against 50% for always guessing 'pl'."
    )
    assert result.to_dict()["labels"] == {"pl": 50, "sg": 50}
    assert list(result.frame().columns) == ["layer", "accuracy", "control_accuracy", "selectivity", "majority"]


def test_shipped_tasks_are_ours_large_enough_and_readable():
    tasks = {task.key: task for task in list_probe_tasks()}
    assert {"en-pos-noun-verb", "en-subject-number", "en-word-sense"} <= set(tasks)
    for key, task in tasks.items():
        rows = load_probe_task(key)[1]
        assert len(rows) >= 100 and task.tests and task.property
        check_rows(rows, folds=5)
        assert "written for MLM Explorer" in task.path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "sentence,word,label\nI read a book.,table,noun\nI ran.,ran,verb",
            "'t.csv', line 2: the word 'table' cannot be probed — it is not in the sentence 'I read a book.'",
        ),
        (
            "sentence,word,label,occurrence\nI read a book.,book,noun,2",
            "'t.csv', line 2: the word 'book' cannot be probed — it occurs 1 time in the sentence, not 2",
        ),
        ("sentence,word\nI read a book.,book", "'t.csv' has no 'label' column"),
        ('{"sentence": "I read a book.", "label": "noun"}', "'t.csv', line 1, has no 'word' key"),
        ("", "'t.csv' is empty"),
        ("sentence,word,label\n", "'t.csv' has a header but no rows"),
        ("sentence,word,label\nI read a book.,book,noun,x\n,ran,verb", "'t.csv', line 3, has no sentence"),
    ],
)
def test_bad_files_name_the_row_and_the_fix(text, message):
    with pytest.raises(InputError) as error:
        rows_of(text)
    assert message in str(error.value)


def test_binary_files_and_label_checks_are_refused():
    with pytest.raises(InputError, match="looks binary"):
        read_probe_rows(b"\x89PNG\r\n\x00\x00", name="'t.csv'")
    one = rows_of("sentence,word,label\nI read a book.,book,noun\nA cat.,cat,noun")
    with pytest.raises(InputError, match=r"one label only \('noun' on every row\)"):
        check_rows(one, folds=2)
    few = rows_of("sentence,word,label\n" + "I read a book.,book,noun\n" * 5 + "I ran.,ran,verb\n" * 3)
    with pytest.raises(
        InputError, match="label 'verb' has 3 rows, fewer than the 5 folds — add rows of 'verb', or use at most 3 folds"
    ):
        check_rows(few, folds=5)


def test_folds_and_seed_are_checked(bert):
    rows = rows_of("sentence,word,label\n" + "I read a book.,book,noun\nI ran.,ran,verb\n" * 5)
    with pytest.raises(ParameterError, match="The 'folds' parameter of probe must be an int in the range"):
        probe(bert, rows, folds=1)


def test_a_training_part_with_one_label_predicts_it():
    """A control task can draw one label for almost every word; its folds then fit no classifier."""
    from mlm_core.tasks.probe import fold_accuracy

    features = np.arange(12, dtype=np.float32).reshape(6, 2)
    labels = np.array(["a"] * 5 + ["b"])
    # seed 0 folds: rows 3-5 tested after training on 0-2 (all 'a': predicts 'a', 2 of 3 right), rows 0-2 after
    # training on 3-5 (a real fit; the 'b' row is the farthest from them: 3 of 3 right)
    assert fold_accuracy(features, labels, folds=2, seed=0) == pytest.approx((2 / 3 + 1) / 2)


def test_the_summary_line_counts_rows_and_labels_and_names_folds_and_seed():
    result = ProbeResult(
        "demo", "t", "Number", 100, (("pl", 40), ("sg", 60)), 0.6, "sg", (LayerScore(0, 0.6, 0.6),), 5, 3
    )
    assert result.summary() == "100 rows · pl: 40, sg: 60 · 5 folds, seed 3"
