import json
from dataclasses import replace

import numpy as np
import pytest

from mlm_core import InputError
from mlm_core.cli import main
from mlm_core.forward import ForwardResult
from mlm_core.tasks.attribution import prepare
from mlm_core.tasks.explain import _make_masker, explain, owen_terms, positional_tree, word_features


def reference_shap(mlm, text, *, mask_index=0, targets=None, output="probability", max_evals=300, seed=0):
    """The pre-speed-up path: shap's own PartitionExplainer with the same word masker and a plain model function
    that scores one row per compiled call, in the order shap asks (no table, no batching)."""
    import shap

    request = prepare(mlm, text, mask_index, targets, False, output)
    position = request.features.target_position

    def one_row_at_a_time(rows):
        return np.concatenate(
            [
                request.scores(mlm.forward([row.tolist()], [[position]]).log_probs[:, 0])
                for row in np.asarray(rows, dtype=np.int32)
            ]
        )

    np.random.seed(seed)  # shap breaks priority ties with np.random
    result = shap.PartitionExplainer(one_row_at_a_time, _make_masker(request.features, None))(
        request.features.input_ids[None, :], max_evals=max_evals, batch_size=64, silent=True
    )
    return np.asarray(result.values[0]).reshape(len(request.features.groups), -1), np.asarray(result.base_values)


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, max_evals",
    [
        ("the old man sat on the [MASK] in the small garden with his dog .", 300),  # whole tree scored up front
        ("the old man sat on the [MASK] in the small garden with his dog and the cat near the house .", 60),  # budget
    ],
)
def test_values_equal_the_one_row_at_a_time_reference(demo, text, max_evals):
    """Reference: shap's PartitionExplainer driven one row per model call (the code path before the speed-up),
    same seed; the demo model's real weights give values well above the tolerance."""
    expected, base = reference_shap(demo, text, max_evals=max_evals)
    np.random.seed(0)
    result = explain(demo, text, max_evals=max_evals)
    got = np.stack([t.values for t in result.targets], axis=1)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    np.testing.assert_allclose([t.base_value for t in result.targets], base.reshape(-1), atol=1e-6)
    assert np.abs(expected).max() > 1e-2  # the comparison is not between zeros


@pytest.mark.slow
def test_the_planned_tree_is_what_shaps_explainer_asks_for(bert):
    """Reference: the rows shap's own PartitionExplainer builds through the same masker (the one-row reference
    path): owen_terms lists exactly those coalitions, and explain scores each once."""
    import shap

    text = "the old man sat on the [MASK] in the small garden with his dog ."
    request = prepare(bert, text, 0, None, False, "probability")
    asked = []
    shap.PartitionExplainer(lambda rows: np.zeros((len(rows), 1)), _make_masker(request.features, asked.append))(
        request.features.input_ids[None, :], max_evals=300, batch_size=64, silent=True
    )
    terms = owen_terms(positional_tree(14), 14)
    planned = {row.tobytes() for row in request.features.hidden_rows(terms.masks)}
    assert len(terms.masks) == 140 == len(planned)
    assert {row.tobytes() for row in asked} == planned
    seen = []
    result = explain(bert, text, record_inputs=seen.append)
    assert result.evaluations == 140 and {row.tobytes() for row in seen} == planned
    assert terms.weights.sum() == pytest.approx(14)  # each leaf's weights add up to 1


@pytest.mark.slow
def test_a_whole_tree_needs_neither_shap_nor_numba(bert_dir):
    """The first explanation of a process does not pay for shap's import and numba compilation (seconds)."""
    import subprocess
    import sys

    code = (
        "import sys, mlm_core; from mlm_core.tasks.explain import explain; "
        f"r = explain(mlm_core.load_model({str(bert_dir)!r}), 'the cat sat on the [MASK] .'); "
        "print(len(r.words), 'shap' in sys.modules, 'numba' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.stdout.split()[-3:] == ["6", "False", "False"], out.stderr[-2000:]


def test_values_add_up_to_the_output_for_every_target(bert):
    result = explain(bert, "The cat sat on the [MASK] and looked around.")
    assert len(result.targets) == 3  # default: the top 3 predictions
    assert result.words == ("the", "cat", "sat", "on", "the", "and", "looked", "around", ".")
    for target in result.targets:
        assert target.base_value + target.values.sum() == pytest.approx(target.output, abs=1e-4)
        assert target.values.shape == (9,)


def test_every_evaluated_input_has_the_target_mask_once_and_no_other_mask(bert):
    seen = []
    text = "The [MASK] sat on the [MASK] and looked around."
    result = explain(bert, text, mask_index=1, targets=["mat"], record_inputs=seen.append)
    mask_id = bert.tokenizer.mask_token_id
    target_position = 6
    assert len(seen) >= 10
    for ids in seen:
        assert np.flatnonzero(ids == mask_id).tolist() == [target_position]
    assert result.evaluations == len({ids.tobytes() for ids in seen})


def test_contrast_is_the_difference_of_the_two_targets(bert):
    result = explain(bert, "The cat sat on the [MASK] and looked around.", targets=["table", "bed"], contrast=True)
    first, second, contrast = result.targets
    assert contrast.token == f"{first.token} − {second.token}"
    np.testing.assert_allclose(contrast.values, first.values - second.values, atol=1e-4)
    assert contrast.output == pytest.approx(first.output - second.output, abs=1e-4)


def test_log_odds_output_is_additive_too(bert):
    result = explain(bert, "The cat sat on the [MASK].", targets=["table"], output="log-odds")
    (target,) = result.targets
    assert target.output < 0  # a small probability has negative log-odds
    assert target.base_value + target.values.sum() == pytest.approx(target.output, abs=1e-4)


def test_planted_word_gets_the_largest_value(bert):
    """A stand-in model: the target is likely exactly when 'cat' is visible."""
    tokenizer = bert.tokenizer
    cat, target = tokenizer.convert_tokens_to_ids(["cat", "mat"])
    vocab = tokenizer.vocab_size

    def forward(rows, positions, *, internals=False, on_rows=None):
        rows = np.asarray(rows)
        log_probs = np.full((len(rows), 1, vocab), np.log(0.5 / vocab), dtype=np.float32)
        log_probs[:, 0, target] = np.where((rows == cat).any(axis=1), np.log(0.5), np.log(0.01))
        length = rows.shape[1]
        return ForwardResult(
            log_probs,
            np.zeros((len(rows), 1, 1, length, length), np.float32),
            np.zeros((len(rows), 2, length, 4), np.float32),
        )

    planted = replace(bert, forward=forward)  # a new model: its own memo
    result = explain(planted, "the cat sat on the [MASK] near a dog .", targets=["mat"])
    values = dict(zip(result.words, result.targets[0].values))
    assert max(values, key=values.get) == "cat"
    assert values["cat"] == pytest.approx(0.49, abs=1e-4)
    assert all(abs(v) < 1e-6 for word, v in values.items() if word != "cat")


def test_words_group_pieces_and_skip_masks(bert):
    from mlm_core import encode

    features = word_features(bert, encode(bert, "my mother [MASK] home [MASK]"), 1)
    assert features.words == ("my", "mother", "home")
    assert features.groups[1] == (2, 3, 4, 5, 6, 7)
    assert features.target_position == 10
    assert features.input_ids[8] == bert.tokenizer.unk_token_id  # the other mask is shown as an unknown word
    assert positional_tree(3).tolist() == [[0, 1, 1, 2], [3, 2, 2, 3]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mask_index": 1}, "Mask number 2 was asked for, but the text has 1 mask — pick a number from 1 to 1."),
        (
            {"targets": ["mother"]},
            "Target 'mother' is not one token for this model (it becomes: m ##o ##t ##h ##e ##r)",
        ),
        ({"targets": ["mat"], "contrast": True}, "A contrast needs two target words"),
        ({"output": "odds"}, "The 'output' parameter of explain must be one of 'probability', 'log-odds'. Got 'odds'"),
    ],
)
def test_bad_requests(bert, kwargs, message):
    with pytest.raises(Exception) as error:
        explain(bert, "the cat sat on the [MASK]", **kwargs)
    assert message in str(error.value)


def test_only_a_mask_leaves_nothing_to_explain(bert):
    with pytest.raises(InputError, match="no words besides the mask"):
        explain(bert, "[MASK]", targets=["mat"])


@pytest.mark.slow
def test_cli_explain_json(bert_dir, capsys):
    assert (
        main(
            [
                "explain",
                "The cat sat on the [MASK].",
                "--model",
                str(bert_dir),
                "--target",
                "mat",
                "--target",
                "bed",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["mask"] == 0 and [t["token"] for t in data["targets"]] == ["mat", "bed"]
    for target in data["targets"]:
        total = target["base_value"] + sum(w["value"] for w in target["words"])
        assert total == pytest.approx(target["output"], abs=1e-4)
        assert [w["word"] for w in target["words"]] == ["the", "cat", "sat", "on", "the", "."]
        assert set(target) == {"token", "base_value", "output", "words", "method"} and target["method"] == "shap"


def test_word_pieces_from_the_predict_list_can_be_explained(bert):
    piece = next(token for token in bert.tokenizer.get_vocab() if token.startswith("##"))
    result = explain(bert, "the cat sat on the [MASK] .", targets=[piece, "cat"], max_evals=40)
    assert [target.token for target in result.targets] == [piece, "cat"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ig", "gradxinput"])
def test_cli_gradient_methods_with_faithfulness(bert_dir, capsys, method):
    assert (
        main(
            [
                "explain",
                "The cat sat on the [MASK].",
                "--model",
                str(bert_dir),
                "--target",
                "mat",
                "--method",
                method,
                "--steps",
                "8",
                "--faithfulness",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    (target,) = data["targets"]
    assert set(target) == {"token", "base_value", "output", "words", "method", "completeness_gap", "faithfulness"}
    assert target["method"] == method
    faithful = target["faithfulness"]
    assert {"comprehensiveness", "sufficiency", "random_comprehensiveness", "random_sufficiency"} <= set(faithful)
    assert [point["fraction"] for point in faithful["curve"]] == pytest.approx([0.1 * k for k in range(1, 11)])
    if method == "ig":
        total = sum(w["value"] for w in target["words"])
        assert target["completeness_gap"] == pytest.approx(abs(total - (target["output"] - target["base_value"])))


@pytest.mark.slow
def test_cli_text_output_reads_the_faithfulness(bert_dir, capsys):
    assert (
        main(["explain", "The cat sat on the [MASK].", "--model", str(bert_dir), "--target", "mat", "--faithfulness"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("mat: f(x) = ") and "(shap)" in out.splitlines()[0]
    assert "comprehensiveness" in out and "Hiding the word SHAP ranks highest" in out
    assert "hiding 1 random word, to " in out  # 6 words: a fifth of them is one word


def test_cli_refuses_a_bad_method(bert_dir, capsys):
    assert (
        main(["explain", "The cat sat on the [MASK].", "--model", str(bert_dir), "--steps", "1", "--method", "ig"]) == 2
    )
    assert capsys.readouterr().err.strip() == (
        "error: The 'steps' parameter of integrated gradients must be an int in the range [2, 512]. Got 1 instead."
    )


def test_a_long_text_stops_listing_the_tree_at_the_budget():
    tree = positional_tree(14)
    assert owen_terms(tree, 14, limit=141) is not None and owen_terms(tree, 14, limit=140) is None
    assert owen_terms(positional_tree(400), 400, limit=300) is None  # returns at once instead of ~10^5 coalitions


def test_progress_counts_the_scored_inputs_up_to_the_total(bert):
    """Reference: the explanation's own count of model inputs; progress is told after each batched call."""
    seen = []
    text = "the old man sat on the [MASK] in the small garden with his dog ."
    result = explain(bert, text, targets=["mat"], on_evaluations=seen.append)
    assert result.evaluations > 64 and len(seen) == -(-result.evaluations // 64)
    assert seen == sorted(seen) and seen[-1] == result.evaluations
