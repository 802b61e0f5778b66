"""Checkpoints that survive a crash: ``tf.train.CheckpointManager`` every N steps, the last few kept.

Only the chief writes into the checkpoint folder. Under a multi-worker strategy every worker must take part in a
save, so the others write into a hidden folder of their own inside it (as TensorFlow's multi-worker guide does) —
which also lets a worker on a host without shared storage resume from its own copy. A run restarted with the same
folder restores the latest checkpoint: weights, optimiser state (moments and iteration count, hence the learning
rate) and the step, from which the data position and the masking follow (``batches``).
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from .distribute import ClusterError, Placement

KEEP_CHECKPOINTS = 3


def checkpoint_folder(root: str | Path, placement: Placement) -> Path:
    """Where this process writes: ``root`` for the chief, ``root/.worker-<index>`` for the other workers."""
    return Path(root) if placement.is_chief else Path(root) / f".worker-{placement.worker_index}"


def open_checkpoints(
    parts: dict, root: str | Path, placement: Placement, *, keep: int = KEEP_CHECKPOINTS
) -> tf.train.CheckpointManager:
    """A manager over ``parts`` (model, optimisers, step…), restored from the latest checkpoint if there is one."""
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(**parts), str(checkpoint_folder(root, placement)), max_to_keep=keep
    )
    if manager.latest_checkpoint:
        # expect_partial: checkpoints written before the optimisers were built up front lack their slots.
        manager.checkpoint.restore(manager.latest_checkpoint).expect_partial()
    return manager


def agree_on_step(manager: tf.train.CheckpointManager, step: tf.Variable, placement: Placement) -> None:
    """Make every worker resume from the same step: the earliest latest checkpoint among them.

    A worker killed while saving may hold an older checkpoint than the chief; each worker then restores the
    checkpoint of that step from its own folder (the last few are kept), so all take up the same batch.
    ``ClusterError`` when a worker no longer has it."""
    if placement.n_workers == 1:
        return
    strategy = placement.strategy
    mine = tf.constant([int(step)], tf.int64)

    @tf.function
    def gather():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_gather(mine, axis=0))

    common = int(tf.reduce_min(strategy.experimental_local_results(gather())[0]))
    if common == int(step):
        return
    wanted = [path for path in manager.checkpoints if path.endswith(f"ckpt-{common}")]
    if not wanted:
        raise ClusterError(
            f"Worker {placement.worker_index} is at step {int(step)} but another worker can only "
            f"resume from step {common}, whose checkpoint is no longer in "
            f"{manager.directory} — delete every worker's checkpoint folder to start over."
        )
    manager.checkpoint.restore(wanted[0]).expect_partial()
