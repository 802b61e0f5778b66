import numpy as np
import pytest
import tensorflow as tf

from mlm_core import ParameterError
from mlm_core.programs import ProgramKey
from mlm_core.shapes import LENGTH_BUCKETS, bucket
from mlm_core.tasks.explain import explain
from mlm_core.tasks.gradients import integrated_gradients, path_points

TEXT = "The cat sat on the [MASK] and looked around."


def eager_output(mlm, embeds: np.ndarray, position: int, target: int, output: str) -> float:
    """f at word embeddings float[T, D], by calling the model itself eagerly (position and type embeddings added
    by the model, as in the compiled program), in float64 after the logits."""
    out = mlm.model(
        input_ids=None,
        inputs_embeds=tf.constant(embeds[None]),
        attention_mask=tf.ones((1, len(embeds)), tf.int32),
        training=False,
    )
    logits = out.logits[0, position].numpy().astype(np.float64)
    log_p = logits[target] - logits.max() - np.log(np.exp(logits - logits.max()).sum())
    return float(np.exp(log_p) if output == "probability" else log_p - np.log1p(-np.exp(log_p)))


@pytest.mark.slow
@pytest.mark.parametrize("output", ["probability", "log-odds"])
def test_integrated_gradients_are_complete_at_64_steps(demo, output):
    """Reference: the completeness axiom of Sundararajan et al. 2017, Σ attributions = f(x) − f(baseline), with
    f(x) and f(baseline) from an eager call of the model on the input and on the all-hidden row."""
    result = integrated_gradients(demo, TEXT, output=output, steps=64)
    assert result.method == "ig" and result.evaluations == 64
    shap_result = explain(demo, TEXT, output=output)  # same targets (the top 3), words and hidden state
    for target, shap_target in zip(result.targets, shap_result.targets):
        difference = target.output - target.base_value
        assert abs(difference) > 1e-3
        assert target.completeness_gap == pytest.approx(abs(target.values.sum() - difference))
        assert target.completeness_gap <= 0.01 * abs(difference)
        assert target.base_value == pytest.approx(shap_target.base_value, abs=1e-4)  # f(b) = SHAP's base value
        assert target.output == pytest.approx(shap_target.output, abs=1e-4)


@pytest.mark.slow
def test_gradient_times_input_equals_finite_differences(demo):
    """Reference: central finite differences of the model's own eager call along each word's (x − baseline)
    direction: (f(x + ε·d_w) − f(x − ε·d_w)) / 2ε = ∇f(x)·d_w, the gradient × input value of word w."""
    seen = []
    result = integrated_gradients(demo, TEXT, method="gradxinput", targets=["table"], record_inputs=seen.append)
    x_ids, baseline_ids = seen
    table = demo.model.get_input_embeddings().weight.numpy()
    x, baseline = table[x_ids], table[baseline_ids]
    position = int(np.flatnonzero(x_ids == demo.tokenizer.mask_token_id)[0])
    target = demo.tokenizer.convert_tokens_to_ids("table")
    from mlm_core import encode
    from mlm_core.tasks.attribution import word_features

    groups = word_features(demo, encode(demo, TEXT), 0).groups
    epsilon, expected = 1e-2, []
    for group in groups:
        direction = np.zeros_like(x)
        direction[list(group)] = (x - baseline)[list(group)]
        up = eager_output(demo, x + epsilon * direction, position, target, "probability")
        down = eager_output(demo, x - epsilon * direction, position, target, "probability")
        expected.append((up - down) / (2 * epsilon))
    values = result.targets[0].values
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(values, expected, rtol=2e-2, atol=2e-3 * np.abs(expected).max())
    assert result.evaluations == 2  # one point, and the baseline for f(b)


def test_the_baseline_hides_every_word_but_never_the_target_mask(bert):
    seen = []
    text = "the [MASK] sat on the [MASK] and looked around ."
    result = integrated_gradients(bert, text, mask_index=1, targets=["mat"], steps=8, record_inputs=seen.append)
    x_ids, baseline_ids = seen
    mask_id, unk_id = bert.tokenizer.mask_token_id, bert.tokenizer.unk_token_id
    for row in seen:
        assert np.flatnonzero(row == mask_id).tolist() == [6]
    assert x_ids[0] == baseline_ids[0] == bert.tokenizer.cls_token_id
    assert x_ids[-1] == baseline_ids[-1] == bert.tokenizer.sep_token_id
    assert (baseline_ids[1:-1][np.arange(1, len(baseline_ids) - 1) != 6] == unk_id).all()
    assert len(result.words) == 8


@pytest.mark.slow
def test_contrast_is_the_difference_and_paths_use_the_trapezoid_rule(bert):
    result = integrated_gradients(bert, TEXT, targets=["table", "bed"], contrast=True, steps=16)
    first, second, contrast = result.targets
    assert contrast.token == "table − bed"
    np.testing.assert_allclose(contrast.values, first.values - second.values, atol=1e-9)
    assert contrast.output == pytest.approx(first.output - second.output)
    alphas, weights = path_points("ig", 5)
    np.testing.assert_allclose(alphas, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(weights, [0.125, 0.25, 0.25, 0.25, 0.125])
    assert result.to_dict()["targets"][0]["method"] == "ig"
    assert "completeness_gap" in result.to_dict()["targets"][0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 1}, "The 'steps' parameter of integrated gradients must be an int in the range [2, 512]. Got 1"),
        ({"method": "lime"}, "The 'method' parameter of integrated gradients must be one of 'ig', 'gradxinput'."),
    ],
)
def test_bad_settings_are_refused(bert, kwargs, message):
    with pytest.raises(ParameterError) as error:
        integrated_gradients(bert, TEXT, **kwargs)
    assert message in str(error.value)


@pytest.mark.slow
def test_in_the_dashboard_a_new_shape_is_answered_eagerly_while_it_compiles(bert):
    """Reference: the compiled program's own answer once the background compilation has finished."""
    from mlm_core.loading import wrap_model

    dashboard = wrap_model("dashboard", bert.tokenizer, bert.model)
    dashboard.forward.programs.compile_in_background = True
    text = " ".join(["the cat sat on the mat"] * 5) + " [MASK] ."
    length = len(bert.tokenizer(text)["input_ids"])
    key = ProgramKey("gradients", (8, bucket(length, LENGTH_BUCKETS), 2, "log-odds"))
    kwargs = {"targets": ["mat", "bed"], "output": "log-odds", "steps": 8}
    first = integrated_gradients(dashboard, text, **kwargs)
    assert key not in dashboard.forward.programs.compiled()  # the first answer came from the eager step
    assert dashboard.forward.programs.wait_until_compiled(120)
    assert key in dashboard.forward.programs.compiled()
    again = integrated_gradients(dashboard, text, **kwargs)
    for a, b in zip(first.targets, again.targets):
        np.testing.assert_allclose(a.values, b.values, atol=1e-5)
        assert a.output == pytest.approx(b.output, abs=1e-5)


@pytest.mark.slow
def test_roberta_style_models_read_the_same_embeddings(camembert):
    """Reference: SHAP's outputs, computed from token ids through the compiled pass. Through ``inputs_embeds`` a
    RoBERTa-style model numbers positions itself; f(x) and f(baseline) must still be the same numbers."""
    text = "the cat sat on the [MASK] ."
    ig = integrated_gradients(camembert, text, output="log-odds", steps=16)
    reference = explain(camembert, text, output="log-odds")
    for target, expected in zip(ig.targets, reference.targets):
        assert target.output == pytest.approx(expected.output, abs=1e-5)
        assert target.base_value == pytest.approx(expected.base_value, abs=1e-5)
        assert target.completeness_gap <= 0.01 * abs(target.output - target.base_value)


def test_a_model_without_word_embeddings_gets_a_message(bert):
    from dataclasses import replace
    from types import SimpleNamespace

    from mlm_core import UnsupportedModelError

    opaque = replace(bert, model=SimpleNamespace(config=bert.model.config))  # same tokenizer and compiled pass
    with pytest.raises(UnsupportedModelError) as error:
        integrated_gradients(opaque, TEXT, targets=["mat"], steps=4)
    assert str(error.value) == (
        f"Model '{bert.name}' does not expose its word embeddings, which integrated "
        "gradients and gradient × input follow — use SHAP for this model."
    )
