"""One step plan for both fine-tuning paths (``training.plan``): the Fine-tune page and the corpus command.

Reference: the batch stream itself (``batches.global_batches``) — the number of full global batches that lie inside
the first E epochs — and counts worked out by hand.
"""

import numpy as np
import pytest
from training_support import write_corpus

from mlm_core import InputError
from mlm_core.training.batches import BlockSource, global_batches
from mlm_core.training.blocks import TextBlocks
from mlm_core.training.corpus_finetune import CorpusRun, finetune_corpus
from mlm_core.training.distribute import place
from mlm_core.training.finetune_plan import FinetuneSettings, plan_finetune
from mlm_core.training.plan import StepPlan, plan_steps


@pytest.mark.parametrize(
    "n_train, batch_size, epochs, max_steps, replicas, expected",
    [
        (10, 4, 2, 500, 1, StepPlan(4, 2, 5)),  # 20 blocks = 5 batches; the 2 left over in epoch 1 start batch 3
        (10, 4, 3, 500, 1, StepPlan(4, 2, 7)),  # 30 blocks = 7 full batches and 2 blocks
        (12, 4, 2, 500, 1, StepPlan(4, 3, 6)),
        (10, 4, 2, 3, 1, StepPlan(4, 2, 3)),  # capped by max_steps
        (5, 8, 2, 500, 1, StepPlan(5, 1, 2)),  # a short text: one batch of every block
        (5, 8, 2, 500, 2, StepPlan(4, 1, 2)),  # ... rounded down to split evenly across 2 replicas: 10 // 4 = 2
        (7, 64, 3, 500, 4, StepPlan(4, 1, 5)),  # 21 // 4 = 5
    ],
)
def test_plan_steps_matches_a_hand_count(n_train, batch_size, epochs, max_steps, replicas, expected):
    assert plan_steps(n_train, batch_size=batch_size, epochs=epochs, max_steps=max_steps, replicas=replicas) == expected


@pytest.mark.parametrize("n_train, batch_size, epochs", [(10, 4, 2), (10, 4, 3), (9, 3, 2), (13, 5, 4), (6, 6, 1)])
def test_the_planned_steps_are_the_full_batches_of_the_stream_within_the_epochs(n_train, batch_size, epochs):
    """Count global batches until one reaches epoch ``epochs``: each counted batch is trained on whole."""
    ids = np.arange(n_train * 4, dtype=np.int32).reshape(n_train, 4)
    source = BlockSource.in_memory(TextBlocks(ids, np.ones_like(ids, dtype=bool)))
    counted = 0
    for batch in global_batches(source, batch_size=batch_size, seed=0):
        if batch.epochs.max() >= epochs:
            break
        counted += 1
    assert plan_steps(n_train, batch_size=batch_size, epochs=epochs, max_steps=10_000).total_steps == counted


def test_more_replicas_than_blocks_is_refused_with_the_fix():
    with pytest.raises(InputError, match="makes 1 training blocks, fewer than the 2 replicas — add text"):
        plan_steps(1, batch_size=8, epochs=1, max_steps=10, replicas=2)


@pytest.mark.slow
def test_the_page_and_the_corpus_command_plan_the_same_run(bert, tmp_path):
    """The same text (one line: one document on both paths) and settings give the same steps on both paths."""
    corpus = write_corpus(tmp_path / "one-line.txt", 1, words_per_line=400)
    settings = FinetuneSettings(epochs=3, batch_size=4, block_length=32, learning_rate=1e-4)
    page = plan_finetune(bert, corpus.read_text(encoding="utf-8"), settings)
    assert page.total_steps == 3 * len(page.train) // 4 and page.steps_per_epoch == len(page.train) // 4
    command = finetune_corpus(lambda: bert, corpus, settings, CorpusRun(place("one")), out_dir=tmp_path / "out")
    assert command.total_steps == command.steps == page.total_steps


def test_the_block_length_check_is_one_message_on_both_paths(bert, tmp_path):
    settings = FinetuneSettings(block_length=bert.max_tokens + 1)
    message = f"Block length {bert.max_tokens + 1} is longer than {bert.name} can read"
    with pytest.raises(InputError, match=message):
        plan_finetune(bert, "Some words to train on.", settings)
    corpus = write_corpus(tmp_path / "corpus.txt", 3)
    with pytest.raises(InputError, match=message):
        finetune_corpus(lambda: bert, corpus, settings, CorpusRun(place("one")), out_dir=tmp_path / "out")
