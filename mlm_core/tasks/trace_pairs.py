"""Minimal pairs sent to Trace: which pairs can be traced, and the two texts a pair becomes.

A minimal pair (good, bad) changes one word and has no mask; Trace needs two texts with one [MASK] at the same place
and as many tokens. Masking the changed word itself would make both texts the same, so a pair becomes: clean = the
good sentence, corrupted = the bad one, both with the same *shared* word hidden (by default the one nearest the
change). Trace then shows where the changed word's information reaches the prediction of the hidden word. Only the
tokenizer is used here (no model call), so a page can check a pair as it is picked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..analysis import USER_MASK, encode
from ..errors import InputError
from ..model import MaskedLM

HIDE_HELP = (
    "Trace needs one [MASK] at the same place in both sentences, so a word they share is hidden; it then "
    "shows where the changed word's information reaches the prediction of that word."
)
_WORD = re.compile(r"\w+(?:['’]\w+)*")  # the word inside a whitespace chunk, without its punctuation


@dataclass(frozen=True)
class PairTrace:
    """A pair made traceable: ``clean`` (the good sentence) and ``corrupt`` (the bad one) with word ``hidden``
    (0-based, words split at spaces) replaced by [MASK]; ``changed`` = (the good word, the bad word); ``choices``
    = the shared words that can be hidden instead, as (index, word)."""

    clean: str
    corrupt: str
    hidden: int
    changed: tuple[str, str]
    choices: tuple[tuple[int, str], ...]

    @property
    def hidden_word(self) -> str:
        return dict(self.choices)[self.hidden]

    def summary(self) -> str:
        """One line (Markdown): both texts as code, and the word the pair changes."""
        return (
            f"Clean: `{self.clean}` · corrupted: `{self.corrupt}` (changed: '{self.changed[0]}' → '{self.changed[1]}')"
        )


def pair_for_trace(mlm: MaskedLM, good: str, bad: str, *, hide: int | None = None) -> PairTrace:
    """The Trace texts of the pair (``good``, ``bad``) with word ``hide`` hidden (default: the shared word nearest
    the changed one, the earlier on a tie). ``InputError`` with a one-line reason when the pair cannot be traced:
    not one word swapped for one word, different token counts, nothing shared to hide, or ``hide`` not shared."""
    words = good.split(), bad.split()
    if len(words[0]) != len(words[1]):
        raise InputError(
            f"The sentences have {len(words[0])} and {len(words[1])} words — Trace copies states "
            "position by position, so it needs a pair that swaps one word for one word."
        )
    changed = [i for i, (a, b) in enumerate(zip(*words)) if a != b]
    if len(changed) != 1:
        shown = ", ".join(f"'{words[0][i]}'/'{words[1][i]}'" for i in changed[:3])
        raise InputError(
            "The sentences are the same — there is no difference to trace."
            if not changed
            else f"The sentences differ in {len(changed)} words ({shown}) — Trace follows one changed "
            "word; pick a pair that changes one."
        )
    where = changed[0]
    lengths = [len(encode(mlm, text, require_mask=False).input_ids) for text in (good, bad)]
    if lengths[0] != lengths[1]:
        raise InputError(
            f"'{words[0][where]}' and '{words[1][where]}' are split into different numbers of tokens "
            f"by model '{mlm.name}' (the sentences have {lengths[0]} and {lengths[1]}) — Trace copies "
            "states position by position and needs as many in each."
        )
    choices = tuple(
        (i, match.group()) for i, word in enumerate(words[0]) if i != where and (match := _WORD.search(word))
    )
    if not choices:
        raise InputError("The sentences share no word that could be hidden — Trace needs a [MASK] on a word both have.")
    indices = [i for i, _ in choices]
    if hide is None:
        hide = min(indices, key=lambda i: (abs(i - where), i))
    elif hide not in indices:
        raise InputError(
            f"Word {hide} cannot be hidden (it is the changed word or has no letters) — pick one of "
            f"{', '.join(f'{i} ({w})' for i, w in choices)}."
        )
    clean, corrupt = (_hide(sentence, hide) for sentence in words)
    encodings = [encode(mlm, text) for text in (clean, corrupt)]
    if len({(len(e.input_ids), e.mask_positions) for e in encodings}) != 1:  # a tokenizer that reads across words
        raise InputError(
            f"Hiding '{dict(choices)[hide]}' gives texts whose tokens do not line up for model "
            f"'{mlm.name}' — hide another word."
        )
    return PairTrace(clean, corrupt, hide, (words[0][where], words[1][where]), choices)


def _hide(words: list[str], index: int) -> str:
    hidden = list(words)
    hidden[index] = _WORD.sub(USER_MASK, hidden[index], count=1)
    return " ".join(hidden)
