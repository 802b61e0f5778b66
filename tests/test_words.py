"""Chosen words at a mask and sentence variants (tasks/words.py, tasks/variants.py).

References: an eager left-to-right loop written here (one plain ``model(...)`` call per piece, pieces from the
tokenizer itself), transformers' fill-mask pipeline with ``targets`` (transformers PR #6239), and ``predict`` run
separately on each filled text.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from mlm_core import InputError, predict
from mlm_core.cli import main
from mlm_core.tasks.variants import MAX_COMBINATIONS, expand_variants
from mlm_core.tasks.words import parse_words, predict_words

WORK = "The {man|woman} worked as a [MASK]."
WORDS = ["nurse", "doctor", "engineer", "hairdresser", "babysitter"]  # the last two are 3 pieces for the demo


def eager_word_log_prob(mlm, text: str, mask_index: int, word: str) -> float:
    """log P(word) at mask ``mask_index`` of ``text``: the word's k pieces written in place of the mask as k masks,
    then piece i predicted by one eager model call with pieces 1…i−1 filled in; the log-softmaxes summed."""
    tokenizer = mlm.tokenizer
    ids = tokenizer(text.replace("[MASK]", tokenizer.mask_token))["input_ids"]
    position = [p for p, token_id in enumerate(ids) if token_id == tokenizer.mask_token_id][mask_index]
    pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
    total = 0.0
    for i, piece in enumerate(pieces):
        row = ids[:position] + pieces[:i] + [tokenizer.mask_token_id] * (len(pieces) - i) + ids[position + 1 :]
        logits = (
            mlm.model(input_ids=tf.constant([row]), attention_mask=tf.ones((1, len(row)), tf.int32), training=False)
            .logits[0, position + i]
            .numpy()
            .astype(np.float64)
        )
        total += float(logits[piece] - logits.max() - np.log(np.exp(logits - logits.max()).sum()))
    return total


@pytest.mark.slow
@pytest.mark.parametrize("text", ["The man worked as a [MASK].", "The [MASK] said that the [MASK] was late."])
def test_word_log_probs_equal_an_eager_left_to_right_loop(demo, text):
    result = predict_words(demo, text, WORDS)
    (variant,) = result.variants
    for k, scores in enumerate(variant.words):
        for score in scores:
            assert score.log_prob == pytest.approx(eager_word_log_prob(demo, text, k, score.word), abs=1e-4)
            assert score.pieces == tuple(demo.tokenizer.tokenize(score.word))
    assert [s.split for s in variant.words[0]] == [False, False, False, True, True]
    assert [s.rank is None for s in variant.words[0]] == [False, False, False, True, True]


@pytest.mark.slow
def test_word_log_probs_on_the_tiny_bert_with_a_split_word(bert):
    """'catzz' is cat ##z ##z in the tiny vocabulary; two masks, the word at the second one."""
    text = "the [MASK] sat on the [MASK] ."
    result = predict_words(bert, text, ["mat", "catzz"])
    scores = result.variants[0].words[1]
    assert scores[1].pieces == ("cat", "##z", "##z")
    for score in scores:
        assert score.log_prob == pytest.approx(eager_word_log_prob(bert, text, 1, score.word), abs=1e-4)


def test_one_piece_words_equal_the_fill_mask_pipeline_with_targets(demo):
    from transformers import pipeline

    text = "The woman worked as a [MASK]."
    fill_mask = pipeline(
        "fill-mask", model=demo.model, tokenizer=demo.tokenizer, framework="tf", torch_dtype=None
    )  # STACK.md pitfall 3: without torch the dtype must be None
    expected = {row["token_str"]: row["score"] for row in fill_mask(text, targets=WORDS[:3], top_k=3)}
    scores = predict_words(demo, text, WORDS[:3]).variants[0].words[0]
    for score in scores:
        assert score.probability == pytest.approx(expected[score.word], abs=1e-5)


def test_rank_is_the_place_in_the_top_k_list(demo):
    text = "The man worked as a [MASK]."
    top = predict(demo, text, top_k=30).masks[0].candidates
    scores = predict_words(demo, text, [top[0].token, top[7].token, top[29].token]).variants[0].words[0]
    assert [score.rank for score in scores] == [1, 8, 30]


@pytest.mark.slow
def test_variants_equal_separate_predictions_of_each_filled_text(demo):
    text = "The {man|old woman|person} said that {he|she} was a [MASK]."  # variants of different lengths
    result = predict_words(demo, text, WORDS[:4], top_k=5)
    assert [v.fill for v in result.variants][:3] == [("man", "he"), ("man", "she"), ("old woman", "he")]
    assert len(result.variants) == 6
    for variant in result.variants:
        alone = predict_words(demo, variant.prediction.text, WORDS[:4], top_k=5).variants[0]
        separate = predict(demo, variant.prediction.text, top_k=5).masks[0].candidates
        got = variant.prediction.masks[0].candidates
        assert [c.token for c in got] == [c.token for c in separate]
        assert [c.sentence for c in got] == [c.sentence for c in separate]
        np.testing.assert_allclose([c.probability for c in got], [c.probability for c in separate], atol=1e-5)
        np.testing.assert_allclose(
            [s.log_prob for s in variant.words[0]], [s.log_prob for s in alone.words[0]], atol=1e-4
        )
        assert [s.rank for s in variant.words[0]] == [s.rank for s in alone.words[0]]


def test_ratios_compare_each_variant_with_the_first(demo):
    result = predict_words(demo, WORK, ["nurse", "engineer"])
    ratios = result.ratios_frame()
    words = result.words_frame().set_index(["variant", "word"])["probability"]
    nurse = ratios[(ratios["word"] == "nurse") & (ratios["variant"] == "woman")].iloc[0]
    assert nurse["ratio"] == pytest.approx(words["woman", "nurse"] / words["man", "nurse"], rel=1e-5)
    assert ratios[ratios["variant"] == "man"]["ratio"].tolist() == [1.0, 1.0]
    assert list(result.candidates_frame().columns) == ["variant", "mask", "rank", "token", "probability", "sentence"]


def test_expanding_braces():
    variants = expand_variants("{A|The} {cat|dog} sat on the [MASK].")
    assert [v.text for v in variants] == [
        "A cat sat on the [MASK].",
        "A dog sat on the [MASK].",
        "The cat sat on the [MASK].",
        "The dog sat on the [MASK].",
    ]
    assert expand_variants("No braces [MASK].")[0].fill == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ("The {man|woman worked as a [MASK].", "Unbalanced braces: a '{' is never closed"),
        ("The man} worked as a [MASK].", "Unbalanced braces: a '}' at character 8 closes no '{'"),
        ("The {man|{old|young} woman} worked.", "Braces cannot be nested"),
        ("The {man|} worked as a [MASK].", "Brace group 1 ('{man|}') has an empty choice"),
        ("{a|b|c|d|e} and {f|g|h|i|j} [MASK].", f"5 × 5 = 25 sentence variants; the limit is {MAX_COMBINATIONS}"),
    ],
)
def test_bad_braces_are_input_errors(text, message):
    with pytest.raises(
        InputError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("|", r"\|")
        .replace("{", r"\{")
        .replace("}", r"\}"),
    ):
        expand_variants(text)


def test_variants_must_share_their_masks(demo):
    with pytest.raises(InputError, match="different numbers of \\[MASK\\]"):
        predict_words(demo, "The {[MASK]|man} worked as a [MASK].")


@pytest.mark.parametrize(
    "words, message",
    [
        ("nurse,,doctor", "Word 2 of 3 is empty"),
        ("nurse, ", "Word 2 of 2 is empty"),
        (["nurse", " "], "Word 2 of 2 is empty"),
        (",".join(f"w{k}" for k in range(25)), "25 words were given; the limit is 20"),
    ],
)
def test_bad_word_lists_are_input_errors(words, message):
    with pytest.raises(InputError, match=message):
        parse_words(words)


def test_a_word_the_vocabulary_cannot_write_is_refused(bert):
    with pytest.raises(InputError, match="becomes \\[UNK\\]"):
        predict_words(bert, "the cat sat on the [MASK] .", ["€"])


@pytest.mark.slow
def test_cli_words_and_variants_json(demo, capsys):
    assert main(["predict", WORK, "--model", "demo", "--words", "nurse,hairdresser", "--top-k", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [v["fill"] for v in data["variants"]] == [["man"], ["woman"]]
    words = data["variants"][1]["masks"][0]["words"]
    assert [w["word"] for w in words] == ["nurse", "hairdresser"]
    assert words[1]["pieces"] == ["hair", "##dre", "##sser"] and words[1]["rank"] is None
    assert set(words[0]) == {"word", "pieces", "log_prob", "probability", "rank"}
    assert main(["predict", "The man worked as a [MASK].", "--model", "demo", "--words", "nurse", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["masks"][0]["words"][0]["rank"] >= 1 and "joint" in plain and "variants" not in plain


@pytest.mark.parametrize(
    "args, message",
    [
        (["The {man|woman worked as a [MASK]."], "Unbalanced braces"),
        (["{a|b|c|d|e} {f|g|h|i|j} [MASK]."], "25 sentence variants"),
        (["The man worked as a [MASK].", "--words", "nurse,,doctor"], "Word 2 of 3 is empty"),
        (["The man worked as a [MASK].", "--words", ""], "Word 1 of 1 is empty"),
    ],
)
def test_cli_bad_words_or_braces_exit_2_with_one_line(demo, capsys, args, message):
    assert main(["predict", *args, "--model", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
