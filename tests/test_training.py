import numpy as np
import pytest

from mlm_core import InputError, ParameterError
from mlm_core.training.blocks import TextBlocks, make_blocks
from mlm_core.training.loop import TrainingConfig, train
from mlm_core.training.masking import mask_for, prediction_slots
from mlm_core.training.metrics import evaluate

SENTENCES = [
    "the cat sat on the mat .",
    "the dog ran in the garden .",
    "paris is the capital of france .",
    "my mother went home .",
]


def corpus(n_docs: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(SENTENCES, 12)) for _ in range(n_docs)]


def split(blocks: TextBlocks, n_eval: int):
    return blocks.rows(slice(None, -n_eval)), blocks.rows(slice(-n_eval, None))


def test_blocks_are_framed_and_know_where_words_start(bert):
    blocks = make_blocks(bert.tokenizer, ["the cat sat on the mat", "my mother went home"], block_length=8)
    tokens = [bert.tokenizer.convert_ids_to_tokens(list(row)) for row in blocks.input_ids]
    assert tokens[0] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    assert tokens[1] == ["[CLS]", "my", "m", "##o", "##t", "##h", "##e", "[SEP]"]  # "##r went home" is the tail
    assert blocks.word_starts[1].tolist() == [False, True, True, False, False, False, False, False]
    assert len(blocks) == 2


def test_text_shorter_than_a_block_is_a_clear_error(bert):
    with pytest.raises(InputError, match="fewer than one training block of 126"):
        make_blocks(bert.tokenizer, ["too short"], block_length=128)
    with pytest.raises(ParameterError, match="'block_length' parameter of make_blocks"):
        make_blocks(bert.tokenizer, ["x"], block_length=4)


def test_masking_follows_bert_and_is_reproducible(bert):
    blocks = make_blocks(bert.tokenizer, corpus(80), block_length=64)
    masked = mask_for(bert.tokenizer, blocks, whole_words=False, seed=3)
    again = mask_for(bert.tokenizer, blocks, whole_words=False, seed=3)
    np.testing.assert_array_equal(masked.input_ids, again.input_ids)
    assert masked.positions.shape == (len(blocks), prediction_slots(64, 0.15))
    share = masked.weights.sum() / (len(blocks) * 62)
    assert 0.12 < share < 0.18
    rows, slots = np.nonzero(masked.weights)
    picked = masked.positions[rows, slots]
    np.testing.assert_array_equal(masked.labels[rows, slots], blocks.input_ids[rows, picked])
    replaced_by_mask = np.mean(masked.input_ids[rows, picked] == bert.tokenizer.mask_token_id)
    kept = np.mean(masked.input_ids[rows, picked] == blocks.input_ids[rows, picked])
    assert 0.75 < replaced_by_mask < 0.85 and 0.07 < kept < 0.16  # kept includes random draws of the same id
    special = set(bert.tokenizer.all_special_ids)
    assert not any(int(blocks.input_ids[r, p]) in special for r, p in zip(rows, picked))


def test_whole_word_masking_masks_every_piece_of_a_word(bert):
    blocks = make_blocks(bert.tokenizer, ["my mother went home " * 40], block_length=32)
    masked = mask_for(bert.tokenizer, blocks, probability=0.3, seed=0)
    for row in range(len(blocks)):
        chosen = set(masked.positions[row][masked.weights[row] > 0].tolist())
        word_index = np.cumsum(blocks.word_starts[row])
        for position in chosen:
            same_word = np.flatnonzero(
                (word_index == word_index[position]) & ~np.isin(blocks.input_ids[row], bert.tokenizer.all_special_ids)
            )
            assert set(same_word.tolist()) <= chosen or len(chosen) == masked.positions.shape[1]


@pytest.mark.slow
def test_training_lowers_held_out_masked_lm_loss_and_resumes(bert_dir, tmp_path):
    import mlm_core

    mlm = mlm_core.load_model(str(bert_dir))
    train_blocks, eval_blocks = split(make_blocks(mlm.tokenizer, corpus(60), block_length=32), 16)
    eval_masked = mask_for(mlm.tokenizer, eval_blocks, seed=1)
    before = evaluate(mlm.model, eval_masked)
    progress = []
    config = TrainingConfig(total_steps=30, batch_size=8, learning_rate=3e-3, warmup_steps=3, eval_every=10)
    result = train(
        mlm.model,
        mlm.tokenizer,
        train_blocks,
        eval_blocks,
        config=config,
        checkpoint_dir=tmp_path / "ckpt",
        on_progress=progress.append,
    )
    after = evaluate(mlm.model, eval_masked)
    assert result.steps == 30 and not result.stopped_early
    assert after.loss < before.loss - 1.0
    assert after.perplexity == pytest.approx(np.exp(after.loss))
    assert [p.step for p in progress if p.evaluation is None] == list(range(1, 31))
    assert [record["step"] for record in result.history] == [10, 20, 30]
    # A second call with the same checkpoint folder finds the run complete and trains nothing more.
    again = train(mlm.model, mlm.tokenizer, train_blocks, eval_blocks, config=config, checkpoint_dir=tmp_path / "ckpt")
    assert again.steps == 30 and again.history == []


@pytest.mark.slow
def test_stop_request_keeps_what_was_trained(bert_dir):
    import mlm_core

    mlm = mlm_core.load_model(str(bert_dir))
    train_blocks, eval_blocks = split(make_blocks(mlm.tokenizer, corpus(40), block_length=32), 8)
    steps = []
    result = train(
        mlm.model,
        mlm.tokenizer,
        train_blocks,
        eval_blocks,
        config=TrainingConfig(total_steps=50, batch_size=8, eval_every=25),
        on_progress=lambda p: steps.append(p.step),
        should_stop=lambda: len(steps) >= 7,
    )
    assert result.stopped_early and result.steps == 7
    assert len(result.history) == 1  # the interrupted epoch is still evaluated


def test_evaluate_counts_only_real_slots(bert):
    blocks = make_blocks(bert.tokenizer, corpus(10), block_length=32)
    masked = mask_for(bert.tokenizer, blocks, seed=0)
    metrics = evaluate(bert.model, masked, batch_size=5)
    assert metrics.n_predictions == int(masked.weights.sum())
    assert 0 <= metrics.top1 <= metrics.top5 <= 1


def test_masked_lm_loss_is_the_weighted_mean_cross_entropy_of_the_true_tokens():
    """Against the numpy formula −log softmax(logits)[label], averaged over slots with weight 1 (summed for "sum")."""
    import tensorflow as tf

    from mlm_core.training.metrics import masked_lm_loss

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 11)).astype(np.float32)
    labels = rng.integers(0, 11, size=(3, 4)).astype(np.int32)
    weights = np.asarray([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]], np.float32)
    shifted = logits - logits.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    per_slot = -np.take_along_axis(log_softmax, labels[..., None], -1)[..., 0]
    expected_sum = float((per_slot * weights).sum())
    assert float(
        masked_lm_loss(tf.constant(labels), tf.constant(logits), tf.constant(weights), reduction="sum")
    ) == pytest.approx(expected_sum, rel=1e-5)
    assert float(masked_lm_loss(tf.constant(labels), tf.constant(logits), tf.constant(weights))) == pytest.approx(
        expected_sum / weights.sum(), rel=1e-5
    )
