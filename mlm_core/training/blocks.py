"""Text → fixed-length training blocks ``[CLS] … [SEP]`` that remember where words start (for whole-word masking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..analysis import word_starts
from ..errors import InputError
from ..params import Interval, check_params


@dataclass(frozen=True)
class TextBlocks:
    """input_ids: int32[N, T], each row ``[CLS] … [SEP]``; word_starts: bool[N, T], True where a word begins
    (False on the [CLS] and [SEP] added around each block)."""

    input_ids: np.ndarray
    word_starts: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def block_length(self) -> int:
        return int(self.input_ids.shape[1])

    def rows(self, index) -> "TextBlocks":
        """The blocks at ``index`` (a slice or an array of row numbers): a split, a sample, a repetition."""
        return TextBlocks(self.input_ids[index], self.word_starts[index])

    @staticmethod
    def concatenate(parts: Sequence["TextBlocks"]) -> "TextBlocks":
        return TextBlocks(np.concatenate([part.input_ids for part in parts]),
                          np.concatenate([part.word_starts for part in parts]))


def make_blocks(tokenizer, documents: Sequence[str], *, block_length: int = 128) -> TextBlocks:
    """Concatenate the documents' tokens and cut them into blocks of ``block_length`` (specials included).

    The tail shorter than a block is dropped. Raises ``InputError`` when the text fills no block at all.
    """
    check_params("make_blocks", {"block_length": block_length}, {"block_length": Interval(int, 8, 512)})
    content = block_length - 2
    ids: list[int] = []
    starts: list[bool] = []
    for start in range(0, len(documents), 256):
        encodings = tokenizer(list(documents[start:start + 256]), add_special_tokens=False)
        for row, input_ids in enumerate(encodings["input_ids"]):
            ids.extend(input_ids)
            starts.extend(word_starts(encodings.word_ids(row)))
    n_blocks = len(ids) // content
    if n_blocks == 0:
        raise InputError(
            f"The text has {len(ids)} tokens, fewer than one training block of {content} — add more text "
            f"or choose a shorter block length."
        )
    body = np.asarray(ids[: n_blocks * content], dtype=np.int32).reshape(n_blocks, content)
    body_starts = np.asarray(starts[: n_blocks * content], dtype=bool).reshape(n_blocks, content)
    input_ids = np.concatenate([np.full((n_blocks, 1), tokenizer.cls_token_id, np.int32), body,
                                np.full((n_blocks, 1), tokenizer.sep_token_id, np.int32)], axis=1)
    starts_by_block = np.pad(body_starts, ((0, 0), (1, 1)))
    starts_by_block[:, 1] = True  # a block never begins inside a word as far as masking is concerned
    return TextBlocks(input_ids, starts_by_block)
