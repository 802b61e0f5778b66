"""The vocabulary as every task sees it: one definition of the special tokens, one top-k, one way to show a token,
and one ``Word`` type (a vocabulary entry with its probability)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from ..model import MaskedLM


@dataclass(frozen=True)
class Word:
    """A vocabulary entry and its probability at one position (Predict's candidates add their filled sentence)."""

    token: str
    token_id: int
    probability: float

    def to_dict(self) -> dict:
        return {"token": self.token, "token_id": self.token_id, "probability": self.probability}


def special_token_ids(tokenizer, *, keep: Collection[int | None] = ()) -> set[int]:
    """The tokenizer's special tokens ([CLS], [SEP], [PAD], [MASK], [UNK], <s>…), less those in ``keep`` (e.g. the
    mask and unknown-word tokens, which stand for words where a text is drawn or scored)."""
    return set(tokenizer.all_special_ids) - set(keep)


def special_ids(mlm: MaskedLM) -> np.ndarray:
    """Token ids never offered as a word to fill in: every special token."""
    return np.asarray(sorted(special_token_ids(mlm.tokenizer)), dtype=np.int64)


def display_token(mlm: MaskedLM, token_id: int) -> str:
    """The word a token id stands for, without sub-word markers (like the fill-mask pipeline's ``token_str``)."""
    return mlm.tokenizer.decode([int(token_id)]).strip()


def top_ids(log_probs: np.ndarray, k: int, banned: np.ndarray) -> np.ndarray:
    """The ``k`` token ids of highest log-probability in ``log_probs`` float[V], best first, ``banned`` left out;
    ties in ``vocabulary_rank``'s order (lower id first), so the id listed at place r has rank r."""
    scores = log_probs.astype(np.float64, copy=True)
    scores[banned[banned < scores.shape[-1]]] = -np.inf
    k = min(k, scores.shape[-1] - len(banned))
    kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
    best = np.flatnonzero(scores >= kth)  # every id tied with the k-th too, so none is dropped arbitrarily
    return best[np.lexsort((best, -scores[best]))][:k]


def top_words(mlm: MaskedLM, log_probs: np.ndarray, k: int, banned: np.ndarray) -> tuple[Word, ...]:
    """The ``k`` most probable words of ``log_probs`` float[V] (``banned`` left out), best first."""
    return tuple(
        Word(display_token(mlm, token_id), int(token_id), float(np.exp(log_probs[token_id])))
        for token_id in top_ids(log_probs, k, banned)
    )


def vocabulary_rank(log_probs: np.ndarray, token_id: int, banned: np.ndarray) -> int:
    """1 + the number of non-special tokens ranked above ``token_id`` in ``log_probs`` float[V] (ties: lower id
    first, as a stable sort would list them)."""
    allowed = np.ones(len(log_probs), dtype=bool)
    allowed[banned[banned < len(log_probs)]] = False
    value = log_probs[token_id]
    above = (log_probs > value) | ((log_probs == value) & (np.arange(len(log_probs)) < token_id))
    return int(np.count_nonzero(above & allowed)) + 1
