"""Training batches for any number of workers: global batches fixed by (seed, step), split into replica shards.

The training blocks form one endless stream, epoch after epoch. Within an epoch they come in the corpus's order,
shuffled inside windows of ``window`` blocks with a generator seeded by (seed, epoch, window) — an in-memory text
uses one window, a global shuffle; a streamed corpus a bounded one. Global batch s is blocks ``[s·B, (s+1)·B)`` of
that stream, and replica r of R takes rows ``[r·B/R, (r+1)·B/R)`` of it, masked by (seed, epoch, block number)
(``masking.mask_blocks``). So the union of the replicas' rows at a step is the one-process batch, and a run resumed
at step s reads exactly the batches it would have read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..errors import InputError
from .blocks import TextBlocks
from .masking import mask_for, prediction_slots


@dataclass(frozen=True)
class BlockSource:
    """Where training blocks come from: ``n_blocks`` per epoch of ``block_length`` tokens; ``chunks()`` gives one
    pass in corpus order, a chunk at a time; ``window`` blocks are shuffled together (None: the whole epoch)."""

    n_blocks: int
    block_length: int
    chunks: Callable[[], Iterator[TextBlocks]]
    window: int | None = None

    @staticmethod
    def in_memory(blocks: TextBlocks) -> BlockSource:
        return BlockSource(len(blocks), blocks.block_length, lambda: iter([blocks]))


@dataclass(frozen=True)
class Batch:
    """Rows of one global batch: their blocks, their numbers in the corpus and the epoch each belongs to."""

    blocks: TextBlocks
    block_ids: np.ndarray
    epochs: np.ndarray


def epoch_order(source: BlockSource, *, seed: int, epoch: int) -> Iterator[Batch]:
    """One epoch of blocks in training order, a shuffled window at a time."""
    window = source.window or source.n_blocks
    held: list[TextBlocks] = []
    n_held = first_id = window_index = 0

    def shuffled() -> Batch:
        blocks = TextBlocks.concatenate(held)
        order = np.random.default_rng([seed, epoch, window_index]).permutation(len(blocks))
        return Batch(blocks.rows(order), first_id + order, np.full(len(blocks), epoch))

    for chunk in source.chunks():
        while len(chunk):
            taken = chunk.rows(slice(None, window - n_held))
            held.append(taken)
            n_held += len(taken)
            chunk = chunk.rows(slice(len(taken), None))
            if n_held == window:
                yield shuffled()
                first_id, window_index, held, n_held = first_id + window, window_index + 1, [], 0
    if held:
        yield shuffled()


def global_batches(source: BlockSource, *, batch_size: int, seed: int, first_step: int = 0) -> Iterator[Batch]:
    """Endless global batches from step ``first_step`` on; a batch may span the end of one epoch and the start of
    the next, so every block is used exactly once per epoch."""
    if source.n_blocks < batch_size:
        raise InputError(
            f"There are {source.n_blocks} training blocks, fewer than one batch of {batch_size} — "
            "add text or lower the batch size."
        )
    epoch, skip = divmod(first_step * batch_size, source.n_blocks)
    pending: list[Batch] = []
    n_pending = 0
    while True:
        for part in epoch_order(source, seed=seed, epoch=epoch):
            if skip >= len(part.block_ids):  # before the resumed step: read, never masked
                skip -= len(part.block_ids)
                continue
            part, skip = _rows(part, slice(skip, None)), 0
            pending.append(part)
            n_pending += len(part.block_ids)
            while n_pending >= batch_size:
                joined = _join(pending)
                yield _rows(joined, slice(None, batch_size))
                rest = _rows(joined, slice(batch_size, None))
                pending, n_pending = [rest], len(rest.block_ids)
        epoch += 1


def replica_batches(
    source: BlockSource,
    tokenizer,
    *,
    batch_size: int,
    replicas: range,
    n_replicas: int,
    seed: int,
    probability: float,
    whole_words: bool,
    first_step: int = 0,
) -> Iterator[tuple]:
    """The masked shards of ``replicas`` (out of ``n_replicas``) for every global batch, in that order:
    ``(input_ids, positions, labels, weights)``, int32[B/n, T], int32[B/n, P], int32[B/n, P], float32[B/n, P]."""
    share = batch_size // n_replicas
    for batch in global_batches(source, batch_size=batch_size, seed=seed, first_step=first_step):
        for replica in replicas:
            rows = _rows(batch, slice(replica * share, (replica + 1) * share))
            masked = mask_for(
                tokenizer,
                rows.blocks,
                probability=probability,
                whole_words=whole_words,
                seed=seed,
                epochs=rows.epochs,
                block_ids=rows.block_ids,
            )
            yield masked.input_ids, masked.positions, masked.labels, masked.weights


def distributed_dataset(
    strategy,
    source: BlockSource,
    tokenizer,
    *,
    batch_size: int,
    seed: int,
    probability: float,
    whole_words: bool,
    first_step: int,
):
    """``replica_batches`` as a ``tf.data`` pipeline per worker, distributed by ``strategy``: each input pipeline
    reads the corpus, keeps its replicas' rows and hands them to its local replicas in order."""
    n_replicas = strategy.num_replicas_in_sync
    slots = prediction_slots(source.block_length, probability)
    rows = batch_size // n_replicas
    signature = (
        tf.TensorSpec((rows, source.block_length), tf.int32),
        tf.TensorSpec((rows, slots), tf.int32),
        tf.TensorSpec((rows, slots), tf.int32),
        tf.TensorSpec((rows, slots), tf.float32),
    )

    def dataset_fn(context: tf.distribute.InputContext):
        local = n_replicas // context.num_input_pipelines
        first = context.input_pipeline_id * local
        return tf.data.Dataset.from_generator(
            lambda: replica_batches(
                source,
                tokenizer,
                batch_size=batch_size,
                replicas=range(first, first + local),
                n_replicas=n_replicas,
                seed=seed,
                probability=probability,
                whole_words=whole_words,
                first_step=first_step,
            ),
            output_signature=signature,
        ).prefetch(2)

    return strategy.distribute_datasets_from_function(dataset_fn)


def _rows(batch: Batch, index) -> Batch:
    return Batch(batch.blocks.rows(index), batch.block_ids[index], batch.epochs[index])


def _join(parts: list[Batch]) -> Batch:
    if len(parts) == 1:
        return parts[0]
    return Batch(
        TextBlocks.concatenate([part.blocks for part in parts]),
        np.concatenate([part.block_ids for part in parts]),
        np.concatenate([part.epochs for part in parts]),
    )
