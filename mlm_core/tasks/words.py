"""Chosen words at a mask: any word's log-probability, the pieces the vocabulary splits it into, and its rank.

A word of k pieces replaces the mask by k masks filled left to right (the chain rule, as the joint fillings of
``predict`` do across masks): log P(word) = Σᵢ log P(wᵢ | pieces before it filled, pieces after it still masked),
the text's other masks left as they are. A one-piece word's log-probability is read from the text's own pass,
and its rank counts from 1 among the vocabulary with special tokens left out (as the top-k lists do).

preprocess (``word_copies``: each word's pieces as the tokenizer writes it in place of the mask, and one copy of
the text per piece of every longer word) → forward (every copy of every word, mask and variant in one
``CompiledForward.target_log_probs`` call: a step per piece position, all words at once) → postprocess
(``WordScore``). ``predict_words`` puts them beside the top-k of each sentence variant (``tasks.variants``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..analysis import Encoding, analyze, encode, fill_text
from ..errors import InputError
from ..model import MaskedLM
from ..params import check_params
from .predict import PREDICT_PARAMS, predict
from .variants import encode_variants, expand_variants, has_braces, variant_log_probs, variant_prediction
from .vocabulary import display_token, special_ids, special_token_ids, vocabulary_rank
from .words_result import VariantWords, WordScore, WordsPrediction

MAX_WORDS = 20
EXAMPLE_WORDS = "nurse, doctor, engineer"


def parse_words(words: str | Sequence[str]) -> tuple[str, ...]:
    """Words from a comma-separated string (or a list), stripped, repeats dropped; an empty one is an
    ``InputError`` naming its place."""
    items = words.split(",") if isinstance(words, str) else list(words)
    if isinstance(words, str) and not words.strip():
        return ()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, str) or not item.strip():
            raise InputError(
                f"Word {number} of {len(items)} is empty — separate words with single commas, e.g. '{EXAMPLE_WORDS}'."
            )
    chosen = tuple(dict.fromkeys(item.strip() for item in items))
    if len(chosen) > MAX_WORDS:
        raise InputError(f"{len(chosen)} words were given; the limit is {MAX_WORDS} — keep the ones you compare.")
    return chosen


def word_pieces(mlm: MaskedLM, encoding: Encoding, mask_index: int, word: str) -> tuple[int, ...]:
    """The token ids ``word`` becomes in place of mask ``mask_index``: the text is tokenised with the word written
    in, so the pieces are those of the word in context (a leading-space marker included for BPE vocabularies).
    If the word merges with its neighbours, it is tokenised on its own instead. ``InputError`` when the word is
    empty for the tokenizer or contains a special or unknown token."""
    if mlm.mask_token in word or "[MASK]" in word:
        raise InputError(f"The word '{word}' contains a mask — type the word itself, e.g. '{EXAMPLE_WORDS}'.")
    ids, position = encoding.input_ids, encoding.mask_positions[mask_index]
    prefix, suffix = ids[:position], ids[position + 1 :]
    pieces: tuple[int, ...] = ()
    if encoding.mask_spans:
        filled = encode(mlm, fill_text(encoding, {mask_index: word}), require_mask=False).input_ids
        n_pieces = len(filled) - len(prefix) - len(suffix)
        if n_pieces > 0 and filled[:position] == prefix and filled[position + n_pieces :] == suffix:
            pieces = filled[position : position + n_pieces]
    if not pieces:
        pieces = tuple(mlm.tokenizer(word, add_special_tokens=False)["input_ids"])
    if not pieces:
        raise InputError(
            f"The word '{word}' is empty for this model's tokenizer — type letters, e.g. '{EXAMPLE_WORDS}'."
        )
    special = special_token_ids(mlm.tokenizer)
    if any(piece in special for piece in pieces):
        written = " ".join(mlm.tokenizer.convert_ids_to_tokens(list(pieces)))
        raise InputError(
            f"The word '{word}' becomes {written} for model '{mlm.name}': a special or unknown token "
            "has no meaningful probability — type a word in the model's language and alphabet."
        )
    return tuple(int(piece) for piece in pieces)


ONE_TOKEN_FIX = (
    "this view follows one token: pick a word from the list or one the vocabulary keeps whole; "
    "Predict's 'Your words' (predict --words) gives a split word's probability, its pieces chained"
)


def one_token_word(
    mlm: MaskedLM, encoding: Encoding, mask_index: int, word: str | int, *, role: str = "Target"
) -> tuple[int, str]:
    """(token id, display name) of a word to follow at mask ``mask_index``: a token id as it is; a typed word as the
    one token the tokenizer writes in place of the mask (``word_pieces``, as Predict's chosen words), else a
    vocabulary entry as the top-k lists show it (e.g. '##s'). A word of several pieces has no single token whose
    probability a layer, a head or a patch could be read for: ``InputError`` naming its pieces and the fix."""
    if isinstance(word, (int, np.integer)):
        if not 0 <= int(word) < len(mlm.tokenizer) or int(word) in mlm.tokenizer.all_special_ids:
            raise InputError(
                f"{role} token id {word} is not a word of this model's vocabulary"
                f" (0…{len(mlm.tokenizer) - 1}, special tokens left out) — pick a word from the list."
            )
        return int(word), display_token(mlm, int(word))
    try:
        pieces, problem = word_pieces(mlm, encoding, mask_index, word.strip()), None
    except InputError as error:
        pieces, problem = (), error
    if len(pieces) == 1:
        return pieces[0], display_token(mlm, pieces[0])
    entry = mlm.tokenizer.get_vocab().get(word)
    if entry is not None and entry not in mlm.tokenizer.all_special_ids:
        return int(entry), word
    if problem is not None:
        raise problem
    written = " ".join(mlm.tokenizer.convert_ids_to_tokens(list(pieces)))
    raise InputError(f"{role} '{word}' is not one token for this model (it becomes: {written}) — {ONE_TOKEN_FIX}.")


@dataclass(frozen=True)
class WordCopies:
    """The copies of the text the model is asked about, for every piece of every word longer than one piece.

    rows: N token-id tuples (lengths differ); positions, targets: int[N] — the piece's position and id;
    keys: N tuples (variant, mask, word, piece) saying which piece each copy scores.
    """

    rows: tuple[tuple[int, ...], ...]
    positions: np.ndarray
    targets: np.ndarray
    keys: tuple[tuple[int, int, int, int], ...]


def word_copies(mlm: MaskedLM, encodings: Sequence[Encoding], words: Sequence[str]):
    """(pieces[variant][mask][word], ``WordCopies``): piece i of a k-piece word is asked with the mask replaced by
    its pieces 1…i−1 followed by k − i + 1 masks."""
    mask_id = mlm.tokenizer.mask_token_id
    pieces, rows, positions, targets, keys = [], [], [], [], []
    for v, encoding in enumerate(encodings):
        per_mask = []
        for k, position in enumerate(encoding.mask_positions):
            per_word = [word_pieces(mlm, encoding, k, word) for word in words]
            per_mask.append(per_word)
            ids = encoding.input_ids
            for w, word_ids in enumerate(per_word):
                for i in range(len(word_ids) if len(word_ids) > 1 else 0):
                    middle = word_ids[:i] + (mask_id,) * (len(word_ids) - i)
                    rows.append(ids[:position] + middle + ids[position + 1 :])
                    positions.append(position + i)
                    targets.append(word_ids[i])
                    keys.append((v, k, w, i))
        pieces.append(per_mask)
    as_array = lambda values: np.asarray(values, dtype=np.int32)  # noqa: E731
    return pieces, WordCopies(tuple(rows), as_array(positions), as_array(targets), tuple(keys))


def score_words(
    mlm: MaskedLM, encodings: Sequence[Encoding], mask_log_probs: Sequence[np.ndarray], words: Sequence[str]
) -> list[tuple[tuple[WordScore, ...], ...]]:
    """Every word at every mask of every encoding (given each one's mask log-probs float[M, V]):
    result[variant][mask][word]. All longer words' copies run in one batched call."""
    pieces, copies = word_copies(mlm, encodings, words)
    piece_log_probs = (
        mlm.forward.target_log_probs(copies.rows, copies.positions, copies.targets)
        if copies.rows
        else np.empty(0, dtype=np.float32)
    )
    by_key = dict(zip(copies.keys, piece_log_probs.tolist()))
    banned = special_ids(mlm)
    result = []
    for v, per_mask in enumerate(pieces):
        variant_scores = []
        for k, per_word in enumerate(per_mask):
            scores = []
            for w, word_ids in enumerate(per_word):
                tokens = tuple(mlm.tokenizer.convert_ids_to_tokens(list(word_ids)))
                if len(word_ids) == 1:
                    log_probs = mask_log_probs[v][k]
                    logs = (float(log_probs[word_ids[0]]),)
                    rank = vocabulary_rank(log_probs, word_ids[0], banned)
                else:
                    logs, rank = tuple(by_key[(v, k, w, i)] for i in range(len(word_ids))), None
                scores.append(WordScore(words[w], tokens, word_ids, logs, rank))
            variant_scores.append(tuple(scores))
        result.append(tuple(variant_scores))
    return result


def predict_words(
    mlm: MaskedLM, text: str, words: str | Sequence[str] = (), *, top_k: int = 5, joint_k: int = 5
) -> WordsPrediction:
    """The top-``top_k`` per mask and the chosen ``words``' scores, for ``text`` or, when it has braces, for each
    of its variants (every variant in a few batched calls). Without braces the prediction is ``predict``'s own."""
    chosen = parse_words(words)
    check_params("predict", {"top_k": top_k, "joint_k": joint_k, "max_joint_masks": 8}, PREDICT_PARAMS)
    if has_braces(text):
        variants = expand_variants(text)
        encodings = encode_variants(mlm, variants)
        log_probs = variant_log_probs(mlm, encodings)
        predictions = [variant_prediction(mlm, e, lp, top_k=top_k) for e, lp in zip(encodings, log_probs)]
        fills = [variant.fill for variant in variants]
    else:
        predictions = [predict(mlm, text, top_k=top_k, joint_k=joint_k)]
        analysis = analyze(mlm, text, require_mask=True)  # the memoised pass predict just used
        encodings, log_probs, fills = [analysis.encoding], [analysis.mask_log_probs], [()]
    scores = score_words(mlm, encodings, log_probs, chosen)
    return WordsPrediction(
        mlm.name,
        text,
        chosen,
        tuple(
            VariantWords(fill, prediction, variant_scores)
            for fill, prediction, variant_scores in zip(fills, predictions, scores)
        ),
    )
