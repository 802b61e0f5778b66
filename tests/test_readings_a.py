"""The sentences the pages show about a result, written by the result itself (as ``Faithfulness.reading``): each
built from a small hand-made result and checked against the numbers it must name (the pages only display them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlm_core.tasks.attention import BROAD_ENTROPY_SHARE, LABEL_RULE, PATTERN_THRESHOLD, HeadSummary, patterns_reading
from mlm_core.tasks.attribution import Explanation, TargetExplanation
from mlm_core.tasks.embeddings import Projection, chart_reading
from mlm_core.tasks.head_scan import HeadScan
from mlm_core.tasks.heads import Ablation
from mlm_core.tasks.lens import MaskLens
from mlm_core.tasks.side_by_side import SideBySide
from mlm_core.tasks.words_result import VariantWords, WordsPrediction


def test_layers_readings_name_the_final_word_the_baseline_and_the_heads_switched_off():
    lens = MaskLens(0, 5, "mat", 7, (), np.zeros(3), np.zeros(3))
    assert lens.reading.endswith("The last row is the real prediction — **mat**.")
    scan = HeadScan("m", "t", 0, "mat", 7, float(np.log(0.25)), np.zeros((2, 3)), np.zeros(2))
    assert "log P('mat')" in scan.reading and "P('mat') = 0.2500" in scan.reading
    assert scan.reading.endswith("8 variants of the sentence ran.")  # 2 layers × (3 heads + the whole layer)
    assert Ablation("m", "t", ((1, 1),), ()).reading.endswith("with 1 head off:")
    assert Ablation("m", "t", ((1, 1), (2, 3)), ()).reading.endswith("with 2 heads off:")


def test_explain_says_how_each_method_made_its_values_and_tabulates_agreement():
    target = TargetExplanation("mat", 0.0, 1.0, np.array([0.5, 0.5]))
    made = {
        method: Explanation("m", "t", 0, "probability", ("a", "b"), (target,), 88, method).how_made(steps=32)
        for method in ("shap", "ig", "gradxinput")
    }
    assert all(
        text.startswith("88 model evaluations. Hidden words are replaced by the unknown-word token")
        for text in made.values()
    )
    assert made["shap"].endswith("SHAP Partition explainer (Owen values over neighbouring words).")
    assert made["ig"].endswith("Integrated gradients over the word embeddings, 32 points (trapezoid rule).")
    assert made["gradxinput"].endswith("Gradient × (input − baseline) at the input, one pass.")
    shap = Explanation("m", "t", 0, "probability", ("a", "b"), (target,), 1, "shap")
    ig = Explanation("m", "t", 0, "probability", ("a", "b"), (target,), 1, "ig")
    both = SideBySide(("a", "b"), (shap, ig), (), np.array([[1.0, 0.123], [0.123, 1.0]]))
    expected = pd.DataFrame(
        [[1.0, 0.12], [0.12, 1.0]], index=["SHAP", "integrated gradients"], columns=["SHAP", "integrated gradients"]
    )
    pd.testing.assert_frame_equal(both.correlations_frame(), expected)


def test_variants_readings_count_the_variants_and_name_the_reference():
    result = WordsPrediction(
        "m",
        "The {man|woman} [MASK].",
        ("nurse",),
        (VariantWords(("man",), None, ()), VariantWords(("woman",), None, ())),
    )
    assert result.variants_reading.startswith("2 sentence variants, each predicted on its own")
    assert result.ratio_reading.endswith("its probability in the first variant (man).")


def test_attention_readings_give_a_heads_label_share_entropy_and_the_counts():
    heads = [
        HeadSummary(1, 1, "[SEP]", 0.814, 1.234),
        HeadSummary(1, 2, "broad", 0.2, 3.0),
        HeadSummary(2, 1, "[SEP]", 0.6, 0.5),
    ]
    assert heads[0].reading == ("Layer 1, head 1: **[SEP]** — 81% of attention on its pattern, mean entropy 1.23 bits.")
    assert patterns_reading(heads) == "Heads per pattern: [SEP] 2, broad 1"
    assert f"at least {PATTERN_THRESHOLD:.0%} of its attention" in LABEL_RULE
    assert f"at least {BROAD_ENTROPY_SHARE:.0%} of the maximum" in LABEL_RULE


def test_embeddings_caption_names_the_projection_and_the_points_outside_the_opening_view():
    pca = Projection("pca", np.zeros((3, 2)), (0.41, 0.2), None, True)
    tsne = Projection("tsne", np.zeros((3, 2)), None, 5.0, True)
    assert pca.note.startswith("PCA axes explain 41% and 20% of the variance")
    assert tsne.note.startswith("t-SNE, perplexity 5, seed 0")
    points = pd.DataFrame({"x": [0.0, 1.0, 10.0], "y": [0.0, 1.0, 0.5]})
    focused = chart_reading(points, pca, ((-0.5, 1.5), (-0.5, 1.5)), neighbours=2)
    assert "(1 of 3 points lie outside)" in focused and "the 2 points nearest to each occurrence" in focused
    assert chart_reading(points, tsne, None, neighbours=2).startswith(tsne.note + " Scroll to zoom, drag to pan.")
