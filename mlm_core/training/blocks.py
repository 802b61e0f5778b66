"""Text → fixed-length training blocks ``[CLS] … [SEP]`` that remember where words start (for whole-word masking)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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

    def rows(self, index) -> TextBlocks:
        """The blocks at ``index`` (a slice or an array of row numbers): a split, a sample, a repetition."""
        return TextBlocks(self.input_ids[index], self.word_starts[index])

    @staticmethod
    def concatenate(parts: Sequence[TextBlocks]) -> TextBlocks:
        return TextBlocks(
            np.concatenate([part.input_ids for part in parts]), np.concatenate([part.word_starts for part in parts])
        )


class BlockCutter:
    """Cuts a stream of documents into blocks as they come: ``add(documents)`` tokenises them in one call, appends
    their tokens to what is left over and returns the blocks now complete (possibly none). At most one block's worth
    of tokens waits between calls, so a corpus of any size streams through in bounded memory."""

    def __init__(self, tokenizer, block_length: int):
        check_params("make_blocks", {"block_length": block_length}, {"block_length": Interval(int, 8, 512)})
        self.tokenizer, self.block_length = tokenizer, block_length
        self.content = block_length - 2
        self.ids: list[int] = []
        self.starts: list[bool] = []
        self.n_tokens = 0  # every token seen, for the message when the text fills no block

    def add(self, documents: Sequence[str]) -> TextBlocks:
        encodings = self.tokenizer(list(documents), add_special_tokens=False)
        for row, input_ids in enumerate(encodings["input_ids"]):
            self.ids.extend(input_ids)
            # slow tokenizers (e.g. ESM's) have no word ids: every token is its own word
            words = encodings.word_ids(row) if encodings.is_fast else list(range(len(input_ids)))
            self.starts.extend(word_starts(words))
            self.n_tokens += len(input_ids)
        n_blocks = len(self.ids) // self.content
        cut = n_blocks * self.content
        body = np.asarray(self.ids[:cut], dtype=np.int32).reshape(n_blocks, self.content)
        body_starts = np.asarray(self.starts[:cut], dtype=bool).reshape(n_blocks, self.content)
        del self.ids[:cut], self.starts[:cut]
        return self._frame(body, body_starts)

    def _frame(self, body: np.ndarray, body_starts: np.ndarray) -> TextBlocks:
        n_blocks = len(body)
        input_ids = np.concatenate(
            [
                np.full((n_blocks, 1), self.tokenizer.cls_token_id, np.int32),
                body,
                np.full((n_blocks, 1), self._end_id(), np.int32),
            ],
            axis=1,
        )
        starts_by_block = np.pad(body_starts, ((0, 0), (1, 1)))
        starts_by_block[:, 1] = True  # a block never begins inside a word as far as masking is concerned
        return TextBlocks(input_ids, starts_by_block)

    def _end_id(self) -> int:
        """The token that closes a sequence: [SEP] or </s>, or <eos> for tokenizers without one (ESM)."""
        tokenizer = self.tokenizer
        return tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id

    def too_short(self, what: str = "The text") -> InputError:
        return InputError(
            f"{what} has {self.n_tokens} tokens, fewer than one training block of {self.content} — "
            "add more text or choose a shorter block length."
        )


def make_blocks(tokenizer, documents: Sequence[str], *, block_length: int = 128) -> TextBlocks:
    """Concatenate the documents' tokens and cut them into blocks of ``block_length`` (specials included).

    The tail shorter than a block is dropped. Raises ``InputError`` when the text fills no block at all.
    """
    cutter = BlockCutter(tokenizer, block_length)
    parts = [cutter.add(documents[start : start + 256]) for start in range(0, len(documents), 256)]
    blocks = TextBlocks.concatenate(parts) if parts else cutter.add([])
    if len(blocks) == 0:
        raise cutter.too_short()
    return blocks
