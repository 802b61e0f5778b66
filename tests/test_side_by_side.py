import numpy as np
import pytest
from explain_support import planted_model
from scipy.stats import spearmanr

from mlm_core.tasks.rollout import mask_rollout
from mlm_core.tasks.side_by_side import rank_of, side_by_side, spearman

TEXT = "the dog sat on the [MASK] near a cat ."


def test_methods_side_by_side_on_a_planted_dependency(bert):
    result = side_by_side(planted_model(bert.tokenizer), TEXT, target="mat", steps=16)
    assert [e.method for e in result.explanations] == ["shap", "ig", "rollout"]
    frame = result.frame()
    assert list(frame.columns) == [
        "word",
        "SHAP",
        "SHAP rank",
        "integrated gradients",
        "integrated gradients rank",
        "attention rollout",
        "attention rollout rank",
    ]
    assert frame.loc[frame["SHAP rank"] == 1, "word"].tolist() == ["cat"]
    assert frame.loc[frame["integrated gradients rank"] == 1, "word"].tolist() == ["cat"]
    shap_f, ig_f, rollout_f = result.faithfulness
    assert shap_f.comprehensiveness > rollout_f.comprehensiveness  # uniform attention knows nothing of 'cat'
    assert result.verdict().startswith(("SHAP is the most faithful", "integrated gradients is the most faithful"))
    np.testing.assert_allclose(np.diag(result.correlations), 1.0)
    assert result.correlations[0, 1] == pytest.approx(
        spearmanr(result.explanations[0].targets[0].values, result.explanations[1].targets[0].values)[0]
    )


def test_rollout_column_sums_each_words_pieces(bert):
    """Reference: the lead's mask_rollout row (Abnar & Zuidema 2020) summed by hand over each word's tokens."""
    from mlm_core import analyze

    text = "my mother sat on the [MASK] ."
    result = side_by_side(bert, text, target="mat", steps=8)
    flow = mask_rollout(analyze(bert, text))[0]
    rollout = result.explanations[2].targets[0].values
    assert result.words[1] == "mother"  # six word pieces (m ##o ##t ##h ##e ##r) at positions 2–7
    assert rollout[1] == pytest.approx(flow[2:8].sum())
    assert rollout[0] == pytest.approx(flow[1])


@pytest.mark.parametrize("a, b", [([3, 1, 2, 5], [0.3, 0.1, 0.25, 0.2]), ([1, 1, 2, 3], [4, 4, 4, 1])])
def test_spearman_matches_scipy(a, b):
    """Reference: scipy.stats.spearmanr (average ranks for ties)."""
    assert spearman(np.asarray(a), np.asarray(b)) == pytest.approx(spearmanr(a, b)[0])
    assert rank_of(np.asarray([0.5, 0.9, 0.5])).tolist() == [2.5, 1.0, 2.5]
