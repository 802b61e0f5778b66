"""Sentence variants: braces in a text, e.g. "The {man|woman|person} worked as a [MASK].", give one text per filling.

preprocess (``expand_variants``: the braces parsed into every combination of choices, each text tokenised) →
forward (``variant_log_probs``: every variant through the compiled pass, variants of one length in one batched
call, log-probabilities at the masks only) → postprocess (``variant_prediction``: each variant's top-k exactly as
``predict`` reads it from a text's own pass).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..analysis import Encoding, encode
from ..errors import InputError
from ..model import MaskedLM
from .predict import Prediction, mask_prediction

MAX_COMBINATIONS = 24
EXAMPLE_VARIANTS = "The {man|woman} worked as a [MASK]."
_GROUP = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Variant:
    """One filling of the brace groups: ``fill`` holds the choice made in each group (in text order), ``text`` the
    resulting sentence (no braces left)."""

    fill: tuple[str, ...]
    text: str


def has_braces(text: str) -> bool:
    """True when ``text`` asks for variants (or has a stray brace, which ``expand_variants`` reports)."""
    return isinstance(text, str) and ("{" in text or "}" in text)


def expand_variants(text: str) -> tuple[Variant, ...]:
    """Every combination of the brace groups' choices, the first group varying slowest; a text without braces is
    one variant with an empty ``fill``. ``InputError`` for unbalanced or nested braces, an empty choice or more
    than ``MAX_COMBINATIONS`` combinations."""
    if not has_braces(text):
        return (Variant((), text),)
    _check_braces(text)
    groups = [match.group(1).split("|") for match in _GROUP.finditer(text)]
    for number, choices in enumerate(groups, start=1):
        if any(not choice.strip() for choice in choices):
            raise InputError(
                f"Brace group {number} ('{{{'|'.join(choices)}}}') has an empty choice — write a word "
                f"between every pair of '|', e.g. '{EXAMPLE_VARIANTS}'"
            )
    n_combinations = int(np.prod([len(choices) for choices in groups]))
    if n_combinations > MAX_COMBINATIONS:
        sizes = " × ".join(str(len(choices)) for choices in groups)
        raise InputError(
            f"The braces make {sizes} = {n_combinations} sentence variants; the limit is "
            f"{MAX_COMBINATIONS} — remove some choices or a brace group."
        )
    pieces = _GROUP.split(text)  # literal text at even indices, group contents at odd ones
    variants = []
    for fill in itertools.product(*[[choice.strip() for choice in choices] for choices in groups]):
        filled = "".join(piece if index % 2 == 0 else fill[index // 2] for index, piece in enumerate(pieces))
        variants.append(Variant(tuple(fill), filled))
    return tuple(variants)


def _check_braces(text: str) -> None:
    depth = 0
    for offset, character in enumerate(text):
        if character == "{":
            depth += 1
            if depth > 1:
                raise InputError(
                    f"Braces cannot be nested (a '{{' at character {offset + 1} is inside another "
                    f"group) — write one level of choices, e.g. '{EXAMPLE_VARIANTS}'"
                )
        elif character == "}":
            depth -= 1
            if depth < 0:
                raise InputError(
                    f"Unbalanced braces: a '}}' at character {offset + 1} closes no '{{' — write "
                    f"choices as {{a|b}}, e.g. '{EXAMPLE_VARIANTS}'"
                )
    if depth:
        raise InputError(
            f"Unbalanced braces: a '{{' is never closed — end each group of choices with '}}', e.g. "
            f"'{EXAMPLE_VARIANTS}'"
        )


def encode_variants(mlm: MaskedLM, variants: Sequence[Variant]) -> list[Encoding]:
    """Each variant tokenised and checked (a mask, the length); every variant must have as many masks as the
    first, so that mask k means the same place in all of them."""
    encodings = []
    for variant in variants:
        try:
            encodings.append(encode(mlm, variant.text, require_mask=True))
        except InputError as error:
            raise InputError(f"Variant '{variant.text}': {error}") from error
    counts = {len(encoding.mask_positions) for encoding in encodings}
    if len(counts) > 1:
        raise InputError(
            "The variants have different numbers of [MASK] — keep [MASK] outside the braces so "
            "every variant has the same masks."
        )
    return encodings


def variant_log_probs(mlm: MaskedLM, encodings: Sequence[Encoding]) -> list[np.ndarray]:
    """log-probabilities float32[M, V] at each variant's M masks: variants of one token length run as one batched
    compiled call (a handful of calls in all, never one per variant)."""
    by_length: dict[int, list[int]] = {}
    for index, encoding in enumerate(encodings):
        by_length.setdefault(len(encoding.input_ids), []).append(index)
    result: list[np.ndarray] = [np.empty(0)] * len(encodings)
    for indices in by_length.values():
        forward = mlm.forward([encodings[n].input_ids for n in indices], [encodings[n].mask_positions for n in indices])
        for row, n in enumerate(indices):
            result[n] = forward.log_probs[row]
    return result


@dataclass(frozen=True)
class _MaskLogProbs:
    """What ``predict.mask_prediction`` reads from an ``Analysis``: the encoding and the masks' log-probs."""

    encoding: Encoding
    mask_log_probs: np.ndarray

    @property
    def mask_positions(self) -> tuple[int, ...]:
        return self.encoding.mask_positions


def variant_prediction(mlm: MaskedLM, encoding: Encoding, log_probs: np.ndarray, *, top_k: int) -> Prediction:
    """A variant's top-``top_k`` per mask, read as ``predict`` reads a text's pass. Joint fillings are not
    computed for variants (they need further passes per variant); ``joint_skipped_reason`` says so."""
    source = _MaskLogProbs(encoding, log_probs)
    masks = tuple(mask_prediction(mlm, source, k, top_k=top_k) for k in range(len(encoding.mask_positions)))
    skipped = (
        "Joint fillings are not computed for sentence variants — predict one variant on its own for them."
        if len(masks) > 1
        else None
    )
    return Prediction(mlm.name, encoding.text, encoding.tokens, masks, (), skipped)
