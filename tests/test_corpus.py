"""Streamed corpora and the batches every worker derives from them.

References: ``make_blocks`` over the same lines held in memory (the blocks), plain numpy set arithmetic (every block
once per epoch, the union of the replicas' shards), and ``tracemalloc`` for the input pipeline's peak memory."""

import gc
import tracemalloc

import numpy as np
import pytest
from training_support import write_corpus

from mlm_core import InputError
from mlm_core.training import corpus as corpus_module
from mlm_core.training.batches import BlockSource, global_batches, replica_batches
from mlm_core.training.blocks import make_blocks
from mlm_core.training.corpus import corpus_files, plan_corpus, stream_blocks
from mlm_core.training.masking import mask_for


def lines_of(*paths) -> list[str]:
    return [line for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_a_file_a_folder_and_a_glob_name_the_same_sorted_files(tmp_path):
    (tmp_path / "sub").mkdir()
    b, a = write_corpus(tmp_path / "sub" / "b.txt", 3), write_corpus(tmp_path / "a.txt", 3, seed=1)
    (tmp_path / "notes.md").write_text("not a corpus")
    assert corpus_files(a) == (a,)
    assert corpus_files(tmp_path) == (a, b)
    assert corpus_files(str(tmp_path / "**" / "*.txt")) == (a, b)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no .txt file"):
        corpus_files(tmp_path / "empty")


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "No file"),
        (b"\x00\x01binary", "looks binary"),
        ("caf\u00e9 ".encode("latin-1") * 10, "is not UTF-8 text"),
    ],
)
def test_unreadable_corpora_name_the_file_and_the_fix(bert, tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        plan_corpus(bert.tokenizer, corpus_files(path), block_length=32)


def test_streamed_blocks_equal_the_in_memory_blocks_and_validation_is_the_tail(bert, tmp_path):
    files = (write_corpus(tmp_path / "a.txt", 900), write_corpus(tmp_path / "b.txt", 200, seed=1))
    expected = make_blocks(bert.tokenizer, lines_of(*files), block_length=32)
    streamed = list(stream_blocks(bert.tokenizer, files, block_length=32))
    assert len(streamed) > 1  # it really came in chunks
    np.testing.assert_array_equal(np.concatenate([b.input_ids for b in streamed]), expected.input_ids)
    np.testing.assert_array_equal(np.concatenate([b.word_starts for b in streamed]), expected.word_starts)
    plan = plan_corpus(bert.tokenizer, files, block_length=32, validation_share=0.1)
    assert plan.n_blocks == len(expected) and len(plan.validation) == round(0.1 * len(expected))
    np.testing.assert_array_equal(plan.validation.input_ids, expected.input_ids[plan.n_train :])
    np.testing.assert_array_equal(
        np.concatenate([b.input_ids for b in plan.train_chunks(bert.tokenizer)]), expected.input_ids[: plan.n_train]
    )


def test_the_plan_is_cached_and_refreshed_when_a_file_changes(bert, tmp_path, monkeypatch):
    files = (write_corpus(tmp_path / "a.txt", 300),)
    first = plan_corpus(bert.tokenizer, files, block_length=32, cache_dir=tmp_path / "cache")
    reads = []
    original = corpus_module.read_lines
    monkeypatch.setattr(corpus_module, "read_lines", lambda *a, **k: reads.append(1) or original(*a, **k))
    again = plan_corpus(bert.tokenizer, files, block_length=32, cache_dir=tmp_path / "cache")
    assert not reads and again.n_blocks == first.n_blocks
    np.testing.assert_array_equal(again.validation.input_ids, first.validation.input_ids)
    write_corpus(files[0], 200)  # another size: the cached plan no longer applies
    changed = plan_corpus(bert.tokenizer, files, block_length=32, cache_dir=tmp_path / "cache")
    assert reads and changed.n_blocks < first.n_blocks


def test_a_corpus_too_short_to_train_on_says_so(bert, tmp_path):
    with pytest.raises(InputError, match="fewer than one training block of 30"):
        plan_corpus(bert.tokenizer, (write_corpus(tmp_path / "a.txt", 1, words_per_line=5),), block_length=32)


def test_each_epoch_uses_every_training_block_exactly_once(bert, tmp_path):
    plan = plan_corpus(bert.tokenizer, (write_corpus(tmp_path / "a.txt", 300),), block_length=32)
    source = BlockSource(plan.n_train, 32, lambda: plan.train_chunks(bert.tokenizer), window=16)
    batch_size = 8
    n_batches = -(-3 * plan.n_train // batch_size)  # three epochs; batches span epoch ends
    batches = [batch for _, batch in zip(range(n_batches), global_batches(source, batch_size=8, seed=3))]
    ids, epochs = np.concatenate([b.block_ids for b in batches]), np.concatenate([b.epochs for b in batches])
    for epoch in range(3):
        assert sorted(ids[epochs == epoch].tolist()) == list(range(plan.n_train))
    assert ids[: plan.n_train].tolist() != ids[plan.n_train : 2 * plan.n_train].tolist()  # each epoch reshuffled
    resumed = next(global_batches(source, batch_size=8, seed=3, first_step=17))
    np.testing.assert_array_equal(resumed.block_ids, batches[17].block_ids)


def test_the_replicas_shards_of_a_step_make_up_the_one_process_batch(bert, tmp_path):
    """Masked shards of 4 replicas, concatenated, against the one-process batch: masking depends on the block only."""
    plan = plan_corpus(bert.tokenizer, (write_corpus(tmp_path / "a.txt", 200),), block_length=32)
    source = BlockSource(plan.n_train, 32, lambda: plan.train_chunks(bert.tokenizer), window=32)
    common = dict(batch_size=8, seed=5, probability=0.15, whole_words=True, first_step=3)
    one = replica_batches(source, bert.tokenizer, replicas=range(1), n_replicas=1, **common)
    four = [
        replica_batches(source, bert.tokenizer, replicas=range(w, w + 2), n_replicas=4, **common) for w in (0, 2)
    ]  # two workers, two replicas each
    for _ in range(3):
        whole = next(one)
        shards = [next(worker) for worker in four for _ in range(2)]  # replicas 0, 1 (worker 0), 2, 3 (worker 1)
        for field, part in zip(whole, zip(*shards)):
            np.testing.assert_array_equal(field, np.concatenate(part))


def test_masking_a_block_does_not_depend_on_its_neighbours(bert):
    blocks = make_blocks(bert.tokenizer, [" ".join(["the cat sat on the mat ."] * 200)], block_length=32)
    together = mask_for(bert.tokenizer, blocks, seed=9, epochs=2, block_ids=np.arange(100, 100 + len(blocks)))
    alone = mask_for(bert.tokenizer, blocks.rows(slice(5, 6)), seed=9, epochs=2, block_ids=np.asarray([105]))
    np.testing.assert_array_equal(together.input_ids[5], alone.input_ids[0])
    np.testing.assert_array_equal(together.positions[5], alone.positions[0])


def epoch_peak(bert, path) -> tuple[int, int, int]:
    """(peak traced bytes, rows delivered, bytes of the training blocks) for one epoch of replica batches.

    ``gc.collect()`` every 200 steps empties CPython's free lists: freed tuples kept there for reuse would otherwise
    still count as traced memory and pile up over the run without being held by anything."""
    plan = plan_corpus(bert.tokenizer, (path,), block_length=32)
    source = BlockSource(plan.n_train, 32, lambda: plan.train_chunks(bert.tokenizer), window=64)
    gc.collect()
    tracemalloc.start()
    try:
        shards = replica_batches(
            source,
            bert.tokenizer,
            batch_size=8,
            replicas=range(1),
            n_replicas=1,
            seed=0,
            probability=0.15,
            whole_words=True,
        )
        n_rows = 0
        for step in range(plan.n_train // 8):
            n_rows += len(next(shards)[0])
            if step % 200 == 0:
                gc.collect()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, n_rows, plan.n_train * 32 * (4 + 1)  # int32 ids + bool word starts, before any masking


@pytest.mark.slow
def test_streaming_a_corpus_bigger_than_memory_holds_stays_bounded(bert, tmp_path):
    """Peak memory of the input pipeline over an epoch does not grow with the corpus (it is set by the chunk of
    lines tokenised at once and the shuffle window) and stays far below the corpus's blocks held at once."""
    small_peak, _, small_bytes = epoch_peak(bert, write_corpus(tmp_path / "small.txt", 10_000))
    peak, n_rows, all_blocks_bytes = epoch_peak(bert, write_corpus(tmp_path / "big.txt", 40_000))
    assert n_rows == all_blocks_bytes // (32 * 5) // 8 * 8  # every step of the epoch was delivered
    assert all_blocks_bytes > 3.5 * small_bytes
    assert peak < 1.1 * small_peak, (peak, small_peak)
    assert peak < all_blocks_bytes / 2, (peak, all_blocks_bytes)
