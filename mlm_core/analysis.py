"""One forward pass per (model, text): tokens, mask positions, log-probs at masks, attentions, hidden states.

preprocess (``encode``) → forward (``MaskedLM.forward``) → postprocess (``Analysis``). Every page reuses the
``Analysis`` of its text; ``analyze`` memoises it per model (the memo lives here, beside what it stores, keyed
weakly by the model so a model's results go when the model does).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from .cache import LruCache
from .errors import InputError
from .model import MaskedLM

USER_MASK = "[MASK]"
EXAMPLE = "Paris is the [MASK] of France."


@dataclass(frozen=True)
class Encoding:
    """A text as the model reads it.

    ``model_text`` has every ``[MASK]`` replaced by the model's own mask token; ``mask_spans`` are the
    (start, end) character spans of the masks in the user's ``text``, in order, one per mask token;
    ``word_ids`` gives, per token, the index of the word it belongs to (None for special tokens).
    """

    text: str
    model_text: str
    input_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    mask_positions: tuple[int, ...]
    mask_spans: tuple[tuple[int, int], ...]
    word_ids: tuple[int | None, ...] = ()


def encode(mlm: MaskedLM, text: str, *, require_mask: bool = True) -> Encoding:
    """Tokenise ``text`` (special tokens included) after mapping ``[MASK]`` to the model's mask token."""
    _check_not_empty(text)
    mask_token = mlm.mask_token
    model_text = text.replace(USER_MASK, mask_token) if mask_token != USER_MASK else text
    encoded = mlm.tokenizer(model_text, add_special_tokens=True)
    input_ids = tuple(int(i) for i in encoded["input_ids"])
    if len(input_ids) > mlm.max_tokens:
        raise InputError(
            f"The text is {len(input_ids)} tokens long but model '{mlm.name}' reads at most {mlm.max_tokens} "
            f"— shorten it by about {len(input_ids) - mlm.max_tokens} tokens (roughly as many words)."
        )
    mask_id = mlm.tokenizer.mask_token_id
    mask_positions = tuple(i for i, token_id in enumerate(input_ids) if token_id == mask_id)
    if require_mask:
        _check_has_mask(mlm, text, mask_positions)
    spans = _mask_spans(text, mask_token)
    if len(spans) != len(mask_positions):  # tokenizer merged or split a marker: fall back to no spans
        spans = ()
    tokens = tuple(mlm.tokenizer.convert_ids_to_tokens(list(input_ids)))
    word_ids = tuple(encoded.word_ids()) if encoded.is_fast else tuple(range(len(input_ids)))
    return Encoding(text, model_text, input_ids, tokens, mask_positions, spans, word_ids)


def _check_not_empty(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"The text is empty — type a sentence with [MASK] where a word is missing, e.g. '{EXAMPLE}'")


def _check_has_mask(mlm: MaskedLM, text: str, mask_positions: Sequence[int]) -> None:
    if mask_positions:
        return
    hint = ""
    if "<mask>" in text or "[mask]" in text.lower():
        spellings = USER_MASK if mlm.mask_token == USER_MASK else f"{USER_MASK} or {mlm.mask_token}"
        hint = f" (this model's mask is written {spellings}, in that exact spelling)"
    raise InputError(f"No [MASK] in the text{hint} — add one, e.g. '{EXAMPLE}'")


def word_groups(
    word_ids: Sequence[int | None], *, skip: Collection[int] = (), specials: bool = False
) -> tuple[tuple[int, ...], ...]:
    """Token positions grouped into words, in order: neighbouring tokens with the same word id form one group.

    Special tokens (word id None) are left out, or with ``specials`` each kept as a group of its own; positions
    in ``skip`` (e.g. masks) are left out and end the word before them. The one grouping of word pieces into
    words, used by explanations, embeddings and whole-word masking alike.
    """
    groups: list[list[int]] = []
    previous = None
    for position, word_id in enumerate(word_ids):
        if position in skip or word_id is None:
            if specials and word_id is None and position not in skip:
                groups.append([position])
            previous = None
        elif groups and word_id == previous:
            groups[-1].append(position)
        else:
            groups.append([position])
            previous = word_id
    return tuple(tuple(group) for group in groups)


def word_starts(word_ids: Sequence[int | None]) -> list[bool]:
    """True where a word begins, and on every special token: the first position of each ``word_groups`` group."""
    starts = [False] * len(word_ids)
    for group in word_groups(word_ids, specials=True):
        starts[group[0]] = True
    return starts


def _mask_spans(text: str, mask_token: str) -> tuple[tuple[int, int], ...]:
    markers = sorted({USER_MASK, mask_token}, key=len, reverse=True)
    pattern = "|".join(re.escape(marker) for marker in markers)
    return tuple(match.span() for match in re.finditer(pattern, text))


def fill_text(encoding: Encoding, words: dict[int, str]) -> str:
    """The user's text with mask number ``k`` replaced by ``words[k]``; other masks stay as typed."""
    if not encoding.mask_spans:
        return encoding.text
    pieces, cursor = [], 0
    for k, (start, end) in enumerate(encoding.mask_spans):
        pieces.append(encoding.text[cursor:start])
        pieces.append(words.get(k, encoding.text[start:end]))
        cursor = end
    pieces.append(encoding.text[cursor:])
    return "".join(pieces)


@dataclass(frozen=True)
class Analysis:
    """Everything one forward pass tells about one text. Arrays are read-only (shared through a cache).

    mask_log_probs: float32[M, V] — log-probabilities over the vocabulary at each of the M masks.
    attentions: float32[L, H, T, T] — rows are queries, columns keys; each row sums to 1.
    hidden_states: float32[L+1, T, D] — index 0 is the embedding output, index l the output of layer l.
    """

    model_name: str
    encoding: Encoding
    mask_log_probs: np.ndarray
    attentions: np.ndarray
    hidden_states: np.ndarray

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.encoding.tokens

    @property
    def mask_positions(self) -> tuple[int, ...]:
        return self.encoding.mask_positions

    def mask_position(self, mask_index: int) -> int:
        """The token position of mask ``mask_index`` (0-based), or an ``InputError`` naming the masks there are."""
        n_masks = len(self.mask_positions)
        if not 0 <= mask_index < n_masks:
            raise InputError(
                f"Mask number {mask_index + 1} was asked for, but the text has {n_masks} "
                f"mask{'s' if n_masks != 1 else ''} — pick a number from 1 to {n_masks}."
            )
        return self.mask_positions[mask_index]


MEMO_SIZE = 32  # texts per model
_MEMOS: weakref.WeakKeyDictionary[MaskedLM, LruCache[str, Analysis]] = weakref.WeakKeyDictionary()
_MEMOS_LOCK = threading.Lock()


def _memo(mlm: MaskedLM) -> LruCache[str, Analysis]:
    with _MEMOS_LOCK:
        if mlm not in _MEMOS:
            _MEMOS[mlm] = LruCache(MEMO_SIZE)
        return _MEMOS[mlm]


def set_memo_size(mlm: MaskedLM, max_entries: int) -> None:
    """How many texts' analyses to keep for ``mlm`` (default ``MEMO_SIZE``; 0 keeps none, so benchmarks time the
    forward pass itself rather than the memo)."""
    _memo(mlm).resize(max_entries)


def analyze(mlm: MaskedLM, text: str, *, require_mask: bool = False) -> Analysis:
    """The memoised single forward pass for ``text`` on ``mlm``; a memoised text is not even re-tokenised."""
    _check_not_empty(text)
    # On a miss, encode refuses a mask-less text (when a mask is required) before the model runs or anything is
    # stored; on a hit, the same check reads the memoised positions.
    analysis = _memo(mlm).get_or_compute(text, lambda: _run(mlm, encode(mlm, text, require_mask=require_mask)))
    if require_mask:
        _check_has_mask(mlm, text, analysis.mask_positions)
    return analysis


def _run(mlm: MaskedLM, encoding: Encoding) -> Analysis:
    result = mlm.forward([encoding.input_ids], [encoding.mask_positions], internals=True)
    arrays = [result.log_probs[0], result.attentions[0], result.hidden_states[0]]
    for array in arrays:
        array.setflags(write=False)
    return Analysis(mlm.name, encoding, *arrays)
