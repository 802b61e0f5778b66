"""How long a fine-tune runs and which texts can be cut for one: shared by the Fine-tune page (``finetune``) and the
corpus command (``corpus_finetune``), so the two paths plan the same run from the same numbers.

The training blocks form one endless stream, epoch after epoch, and global batch s is blocks ``[s·B, (s+1)·B)`` of
it (``batches.global_batches``: a batch may span the end of an epoch). So E epochs of N blocks are ⌊E·N / B⌋ full
batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..model import MaskedLM


@dataclass(frozen=True)
class StepPlan:
    """``total_steps`` optimiser steps of ``batch_size`` blocks (lower than asked when the text is short);
    ``steps_per_epoch`` full batches in one pass over the training blocks."""

    batch_size: int
    steps_per_epoch: int
    total_steps: int


def plan_steps(
    n_train: int, *, batch_size: int, epochs: int, max_steps: int, replicas: int = 1, what: str = "The corpus"
) -> StepPlan:
    """The run ``epochs`` passes over ``n_train`` training blocks imply, at most ``max_steps`` steps.

    Fewer blocks than one batch make one batch of all of them, rounded down to a multiple of ``replicas`` so that
    each replica gets as many rows; ``InputError`` naming ``what`` when that leaves none.
    """
    if n_train < batch_size:
        batch_size = n_train - n_train % replicas
        if batch_size == 0:
            raise InputError(
                f"{what} makes {n_train} training blocks, fewer than the {replicas} replicas — add "
                "text or choose a shorter block length."
            )
    return StepPlan(
        batch_size, steps_per_epoch=n_train // batch_size, total_steps=min(max_steps, epochs * n_train // batch_size)
    )


def check_block_length(block_length: int, mlm: MaskedLM) -> None:
    """``InputError`` when blocks of ``block_length`` tokens are longer than ``mlm`` can read."""
    if block_length > mlm.max_tokens:
        raise InputError(
            f"Block length {block_length} is longer than {mlm.name} can read ({mlm.max_tokens} "
            f"tokens) — choose {mlm.max_tokens} or less."
        )


def too_few_blocks(what: str, block_length: int) -> InputError:
    """The error for a text that makes a single block: one is needed to train on and one to validate."""
    return InputError(
        f"{what} makes only 1 block of {block_length} tokens; fine-tuning needs at least 2 (one to "
        "train on, one to validate) — add text or choose a shorter block length."
    )
