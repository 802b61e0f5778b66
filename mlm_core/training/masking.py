"""BERT masking of training blocks: 15 % of words, 80/10/10, optionally whole words; same seed → same masking.

Every row gets the same number of prediction slots P (padding slots have weight 0), so shapes are static and one
compiled step serves a whole run. Each row is masked with its own generator seeded by (seed, epoch, block number):
a pure function of the block, so any worker, any split of a batch across replicas and any resumed run mask a block
exactly the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .blocks import TextBlocks


@dataclass(frozen=True)
class MaskedBlocks:
    """A masked copy of ``TextBlocks``.

    input_ids: int32[N, T] with the chosen tokens replaced (80 % mask token, 10 % random, 10 % kept);
    positions: int32[N, P] token positions to predict; labels: int32[N, P] original ids there;
    weights: float32[N, P], 1 for real slots, 0 for padding slots.
    """

    input_ids: np.ndarray
    positions: np.ndarray
    labels: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


def prediction_slots(block_length: int, probability: float) -> int:
    """Slots per row: room for 1.5× the expected number of masked tokens (whole words run over the mean)."""
    return max(2, int(math.ceil(block_length * probability * 1.5)))


def mask_blocks(
    blocks: TextBlocks,
    *,
    mask_id: int,
    vocab_size: int,
    special_ids: Sequence[int],
    probability: float = 0.15,
    whole_words: bool = True,
    seed: int = 0,
    epochs=0,
    block_ids: np.ndarray | None = None,
) -> MaskedBlocks:
    """BERT-style masking of every row; each row predicts at least one token.

    Row i is masked by a generator seeded with (seed, epochs[i], block_ids[i]) — ``epochs`` an int or one per row,
    ``block_ids`` the blocks' numbers in their corpus (default 0…N-1).
    """
    n_rows, length = blocks.input_ids.shape
    block_ids = np.arange(n_rows) if block_ids is None else np.asarray(block_ids)
    epochs = np.broadcast_to(np.asarray(epochs), (n_rows,))
    slots = prediction_slots(length, probability)
    input_ids = blocks.input_ids.copy()
    positions = np.zeros((n_rows, slots), np.int32)
    labels = np.zeros((n_rows, slots), np.int32)
    weights = np.zeros((n_rows, slots), np.float32)
    special = np.isin(blocks.input_ids, np.asarray(list(special_ids)))
    replacement_ids = np.setdiff1d(np.arange(vocab_size), np.asarray(list(special_ids)))
    for row in range(n_rows):
        rng = np.random.default_rng([seed, int(epochs[row]), int(block_ids[row])])
        maskable = ~special[row]
        if whole_words:
            word_index = np.cumsum(blocks.word_starts[row]) - 1
            chosen_words = rng.random(word_index.max() + 1) < probability
            chosen = maskable & chosen_words[np.maximum(word_index, 0)]
        else:
            chosen = maskable & (rng.random(length) < probability)
        picked = np.flatnonzero(chosen)[:slots]
        if len(picked) == 0:  # nothing drawn: one token, or with whole words every piece of one word
            picked = rng.choice(np.flatnonzero(maskable), size=1)
            if whole_words:
                picked = np.flatnonzero(maskable & (word_index == word_index[picked[0]]))[:slots]
        n = len(picked)
        positions[row, :n] = picked
        labels[row, :n] = blocks.input_ids[row, picked]
        weights[row, :n] = 1.0
        roll = rng.random(n)
        input_ids[row, picked[roll < 0.8]] = mask_id
        randomised = picked[(roll >= 0.8) & (roll < 0.9)]
        input_ids[row, randomised] = rng.choice(replacement_ids, size=len(randomised))
    return MaskedBlocks(input_ids, positions, labels, weights)


def mask_for(
    tokenizer,
    blocks: TextBlocks,
    *,
    probability: float = 0.15,
    whole_words: bool = True,
    seed: int = 0,
    epochs=0,
    block_ids: np.ndarray | None = None,
) -> MaskedBlocks:
    """``mask_blocks`` with the tokenizer's mask id, vocabulary and special tokens."""
    return mask_blocks(
        blocks,
        mask_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        special_ids=tokenizer.all_special_ids,
        probability=probability,
        whole_words=whole_words,
        seed=seed,
        epochs=epochs,
        block_ids=block_ids,
    )
