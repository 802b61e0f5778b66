"""Where training runs: one device, every GPU of a machine, or several machines — TensorFlow's own ``tf.distribute``.

``one`` is TensorFlow's default strategy (what the Fine-tune page uses), ``mirrored`` a ``MirroredStrategy`` over
the visible GPUs, ``multiworker`` a ``MultiWorkerMirroredStrategy`` across the hosts listed in ``TF_CONFIG``, and
``auto`` picks ``multiworker`` when ``TF_CONFIG`` is set, ``mirrored`` when several GPUs are visible, else ``one``.
Make the placement first thing in a worker process: the multi-worker strategy must start before TensorFlow runs
anything else.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import tensorflow as tf

from ..errors import InputError, MlmExplorerError

STRATEGIES = ("auto", "one", "mirrored", "multiworker")
TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
)


class ClusterError(MlmExplorerError):
    """A worker of a multi-worker run stopped answering, or the workers cannot resume from a common checkpoint."""


@dataclass(frozen=True)
class Placement:
    """The strategy a run uses and this process's part in it: ``worker_index`` of ``n_workers``; the chief alone
    writes checkpoints and the final model."""

    name: str
    strategy: tf.distribute.Strategy
    worker_index: int = 0
    n_workers: int = 1
    is_chief: bool = True

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def check_batch_size(self, batch_size: int) -> None:
        """The global batch is split evenly across replicas; ``InputError`` when it cannot be."""
        remainder = batch_size % self.replicas
        if remainder:
            lower, higher = batch_size - remainder, batch_size - remainder + self.replicas
            raise InputError(
                f"--batch-size {batch_size} does not divide evenly across the {self.replicas} replicas "
                f"of strategy '{self.name}' — choose a multiple of {self.replicas}, e.g. "
                + (f"{lower} or {higher}." if lower else f"{higher}.")
            )


def place(name: str = "auto") -> Placement:
    """The placement for strategy ``name`` (one of ``STRATEGIES``); ``InputError`` for an unknown name, a
    ``multiworker`` run without a usable ``TF_CONFIG``."""
    if name not in STRATEGIES:
        raise InputError(f"Unknown strategy '{name}' — choose one of {', '.join(STRATEGIES)}.")
    tf_config = os.environ.get("TF_CONFIG")
    if name == "auto":
        name = (
            "multiworker" if tf_config else ("mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "one")
        )
    if name == "one":
        return Placement("one", tf.distribute.get_strategy())
    if name == "mirrored":
        return Placement("mirrored", tf.distribute.MirroredStrategy())
    task, workers, has_chief = _read_tf_config(tf_config)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    index = int(task.get("index", 0))
    is_chief = task.get("type") == "chief" or (task.get("type") == "worker" and index == 0 and not has_chief)
    return Placement("multiworker", strategy, index, workers, is_chief)


def _read_tf_config(tf_config: str | None) -> tuple[dict, int, bool]:
    if not tf_config:
        raise InputError(
            "Strategy 'multiworker' needs the TF_CONFIG environment variable on every worker — "
            f"set it, e.g. {TF_CONFIG_EXAMPLE} (index 1 on the second host)."
        )
    try:
        config = json.loads(tf_config)
        cluster, task = config["cluster"], config["task"]
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        if task["type"] not in ("worker", "chief") or workers == 0:
            raise ValueError("the task must be a worker or the chief of a cluster with workers")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InputError(
            f"TF_CONFIG is not a usable cluster description ({error!r}) — set it to JSON like {TF_CONFIG_EXAMPLE}."
        ) from error
    return task, workers, "chief" in cluster
