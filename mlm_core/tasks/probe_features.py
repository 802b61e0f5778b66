"""What a probe reads: for each row, the mean of its word's pieces' hidden states at every layer 0 … L.

``word_vectors`` is the one place the probing code reads hidden states, built on ``CompiledForward``'s call with
internals (the hidden states of every layer from one pass); when the per-family adapters land, only it changes.
The word's pieces are found from the tokenizer's character offsets and grouped into words by
``analysis.word_groups``, the grouping every other view uses.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from ..analysis import word_groups
from ..errors import InputError, UnsupportedModelError
from ..model import MaskedLM
from ..shapes import BATCH_BUCKETS, BULK_ROWS
from .probe_files import ProbeRow

CHUNK_ROWS = BATCH_BUCKETS[-1]  # sentences per model call


def word_vectors(
    mlm: MaskedLM, rows: Sequence[ProbeRow], *, on_sentences: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """float32[N, L+1, D]: row n's word at layer l (0 = the embedding output) = the mean of its pieces' states.

    Each distinct sentence runs once, in calls of sentences of one token length (the forward pass takes rows of
    equal length, so nothing is padded and every layer comes from the same pass). ``on_sentences(done, total)`` is
    told after each call. A length with few sentences is sent with copies of its first sentence up to
    ``BULK_ROWS`` + 1 rows, so it runs through the forward pass's one shape-free program instead of compiling an
    XLA program for its padded shape (seconds each; the copies cost milliseconds).
    """
    sentences = list(dict.fromkeys(row.sentence for row in rows))
    tokenizer = mlm.tokenizer
    encoded = tokenizer(sentences, add_special_tokens=True, return_offsets_mapping=True)
    if not getattr(encoded, "is_fast", False):
        raise UnsupportedModelError(
            f"Model '{mlm.name}' has a tokenizer without character offsets, so its word "
            "pieces cannot be matched to the probed words — use a model with a fast "
            "tokenizer (any preset but ja)."
        )
    index = {sentence: k for k, sentence in enumerate(sentences)}
    for sentence, ids in zip(sentences, encoded["input_ids"]):
        if len(ids) > mlm.max_tokens:
            where = next(row.where for row in rows if row.sentence == sentence)
            raise InputError(
                f"{where}: the sentence is {len(ids)} tokens long but model '{mlm.name}' reads at most "
                f"{mlm.max_tokens} — shorten it."
            )
    positions = [
        word_positions(
            encoded["offset_mapping"][index[row.sentence]], encoded.word_ids(index[row.sentence]), row, mlm.name
        )
        for row in rows
    ]
    rows_of = defaultdict(list)
    for number, row in enumerate(rows):
        rows_of[index[row.sentence]].append(number)
    by_length = defaultdict(list)
    for k, ids in enumerate(encoded["input_ids"]):
        by_length[len(ids)].append(k)

    vectors = np.zeros((len(rows), mlm.num_layers + 1, int(mlm.model.config.hidden_size)), dtype=np.float32)
    done = 0
    for group in by_length.values():
        for chunk in _chunks(group):
            ids = [encoded["input_ids"][k] for k in chunk]
            padded = ids + [ids[0]] * max(0, BULK_ROWS + 1 - len(ids))
            hidden = mlm.forward(padded, [[] for _ in padded], internals=True).hidden_states  # [n, L+1, T, D]
            for slot, k in enumerate(chunk):
                for number in rows_of[k]:
                    vectors[number] = hidden[slot][:, list(positions[number])].mean(axis=1)
            done += len(chunk)
            if on_sentences is not None:
                on_sentences(done, len(sentences))
    return vectors


def _chunks(group: list[int]) -> list[list[int]]:
    """Near-equal chunks of at most ``CHUNK_ROWS`` (70 → 35 + 35, never 64 + 6)."""
    n_chunks = math.ceil(len(group) / CHUNK_ROWS)
    size = math.ceil(len(group) / n_chunks)
    return [group[start : start + size] for start in range(0, len(group), size)]


def word_positions(
    offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None], row: ProbeRow, model_name: str = "the model"
) -> tuple[int, ...]:
    """The token positions of ``row``'s word: the pieces of the tokenizer's words (``word_groups``) that overlap
    its characters. A tokenizer's word may hold more than the probed word (sentencepiece models keep "bank." or
    "dog's" together): only the overlapping pieces count. ``InputError`` when a piece reaches outside the word
    (the tokenizer does not split it off)."""
    start, end = row.span
    pieces = [
        position
        for group in word_groups(word_ids)
        for position in group
        if offsets[position][0] < end and offsets[position][1] > start
    ]
    outside = [position for position in pieces if not _inside(row.sentence, offsets[position], start, end)]
    if pieces and not outside:
        return tuple(pieces)
    piece = row.sentence[slice(*offsets[outside[0]])].strip() if outside else ""
    raise InputError(
        f"{row.where}: model '{model_name}' reads {row.word!r} as part of the piece {piece!r} — "
        "probe a word its tokenizer splits off."
    )


def _inside(sentence: str, offset: tuple[int, int], start: int, end: int) -> bool:
    """Whether a piece's characters, leading spaces aside (sentencepiece offsets may include one), lie in the word."""
    piece_start, piece_end = offset
    while piece_start < piece_end and sentence[piece_start].isspace():
        piece_start += 1
    return start <= piece_start and piece_end <= end
