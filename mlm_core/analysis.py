"""One forward pass per (model, text): tokens, mask positions, log-probs at masks, attentions, hidden states.

preprocess (``encode``) → forward (``MaskedLM.forward``) → postprocess (``Analysis``). Every page reuses the
``Analysis`` of its text; ``analyze`` memoises it per model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

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
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"The text is empty — type a sentence with [MASK] where a word is missing, e.g. '{EXAMPLE}'")
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
    if require_mask and not mask_positions:
        hint = ""
        if "<mask>" in text or "[mask]" in text.lower():
            spellings = USER_MASK if mask_token == USER_MASK else f"{USER_MASK} or {mask_token}"
            hint = f" (this model's mask is written {spellings}, in that exact spelling)"
        raise InputError(f"No [MASK] in the text{hint} — add one, e.g. '{EXAMPLE}'")
    spans = _mask_spans(text, mask_token)
    if len(spans) != len(mask_positions):  # tokenizer merged or split a marker: fall back to no spans
        spans = ()
    tokens = tuple(mlm.tokenizer.convert_ids_to_tokens(list(input_ids)))
    word_ids = tuple(encoded.word_ids()) if encoded.is_fast else tuple(range(len(input_ids)))
    return Encoding(text, model_text, input_ids, tokens, mask_positions, spans, word_ids)


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


def analyze(mlm: MaskedLM, text: str, *, require_mask: bool = False) -> Analysis:
    """The memoised single forward pass for ``text`` on ``mlm``."""
    encoding = encode(mlm, text, require_mask=require_mask)
    return mlm.analyses.get_or_compute(encoding.text, lambda: _run(mlm, encoding))


def _run(mlm: MaskedLM, encoding: Encoding) -> Analysis:
    result = mlm.forward([encoding.input_ids], [encoding.mask_positions], internals=True)
    arrays = [result.log_probs[0], result.attentions[0], result.hidden_states[0]]
    for array in arrays:
        array.setflags(write=False)
    return Analysis(mlm.name, encoding, *arrays)
