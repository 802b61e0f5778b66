"""How natural does the model find a sentence: pseudo-log-likelihood (PLL) scores.

PLL (Salazar et al., ACL 2020, "Masked Language Model Scoring"): PLL(W) = Σₜ log P(wₜ | W with wₜ masked), each
token predicted with only itself masked. PLL-word-l2r (Kauf & Ivanova, ACL 2023, "A Better Way to Do Masked
Language Model Scoring"): when token t is a piece of a longer word, the pieces of that word to its right are
masked too, so a word's later pieces cannot give its earlier ones away (plain PLL over-rewards long, rare
words). Words are the tokenizer's own (fast tokenizers' ``word_ids``). Special tokens ([CLS], [SEP], a typed
[MASK]) are not scored; an unknown-word token is. Pseudo-perplexity = exp(−PLL / N) over the N scored tokens.

preprocess (``masked_copies``: one copy of the sentence per scored token) → forward (every copy of every sentence
through the compiled pass in bucketed batches, the head at the copy's one masked position, only the true
token's log-probability returned) → postprocess (``SentenceScore``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis import Encoding, encode, word_groups
from ..errors import InputError
from ..model import MaskedLM
from ..params import OneOf, check_params
from .vocabulary import special_token_ids

METHODS = ("pll-word-l2r", "pll")
METHOD_HELP = {
    "pll-word-l2r": "each word piece is predicted with itself and the rest of its word to the right hidden "
    "(Kauf & Ivanova 2023) — fair to long words; the default",
    "pll": "each word piece is predicted with only itself hidden (Salazar et al. 2020) — the original method",
}
SCORE_PARAMS = {"method": OneOf(METHODS)}
EXAMPLE_SENTENCE = "The keys to the cabinet are on the table."


@dataclass(frozen=True)
class TokenScore:
    """One scored word piece: its ``position`` in the tokenised sentence, the ``token`` as the tokenizer writes it,
    the ``word`` it belongs to, and log P(token | the copy with it masked)."""

    position: int
    token: str
    word: str
    log_prob: float


@dataclass(frozen=True)
class SentenceScore:
    """A sentence's scored tokens (special tokens excluded), in order."""

    text: str
    tokens: tuple[TokenScore, ...]

    @property
    def pll(self) -> float:
        return float(sum(token.log_prob for token in self.tokens))

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def pseudo_perplexity(self) -> float:
        return math.exp(-self.pll / self.n_tokens)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "pll": self.pll,
            "pseudo_perplexity": self.pseudo_perplexity,
            "tokens": [{"token": t.token, "word": t.word, "log_prob": t.log_prob} for t in self.tokens],
        }


@dataclass(frozen=True)
class ScoreResult:
    """Scores of several sentences by one model and method, in input order."""

    model_name: str
    method: str
    sentences: tuple[SentenceScore, ...]

    def to_dict(self) -> dict:
        """The documented JSON shape (CLI ``score --json``)."""
        return {
            "model": self.model_name,
            "method": self.method,
            "sentences": [sentence.to_dict() for sentence in self.sentences],
        }

    def tokens_frame(self) -> pd.DataFrame:
        """One row per scored token: sentence (1-based), position, token, word, log_prob."""
        rows = [
            {"sentence": k, "position": t.position, "token": t.token, "word": t.word, "log_prob": t.log_prob}
            for k, sentence in enumerate(self.sentences, start=1)
            for t in sentence.tokens
        ]
        return pd.DataFrame(rows, columns=["sentence", "position", "token", "word", "log_prob"])

    def totals_frame(self) -> pd.DataFrame:
        """One row per sentence: sentence (1-based), text, pll, tokens, pseudo_perplexity."""
        rows = [
            {
                "sentence": k,
                "text": s.text,
                "pll": s.pll,
                "tokens": s.n_tokens,
                "pseudo_perplexity": s.pseudo_perplexity,
            }
            for k, s in enumerate(self.sentences, start=1)
        ]
        return pd.DataFrame(rows, columns=["sentence", "text", "pll", "tokens", "pseudo_perplexity"])

    def preference(self) -> str | None:
        """One sentence (Markdown): which sentence the model prefers to the runner-up, by how much PLL and how many
        times more likely that is in its pseudo-likelihood (exp of the margin); None for a single sentence."""
        if len(self.sentences) < 2:
            return None
        ranked = sorted(enumerate(self.sentences, start=1), key=lambda item: -item[1].pll)
        (best_number, best), (next_number, runner_up) = ranked[0], ranked[1]
        margin = best.pll - runner_up.pll
        if margin == 0:
            return f"**{self.model_name}** scores sentences {best_number} and {next_number} exactly the same."
        return (
            f"**{self.model_name}** prefers sentence {best_number} to sentence {next_number} by {margin:.2f} "
            f"(PLL {best.pll:.2f} against {runner_up.pll:.2f}: about {math.exp(min(margin, 700)):.3g} times "
            "more likely in its pseudo-likelihood)."
        )


@dataclass(frozen=True)
class MaskedCopies:
    """What the model is asked, for every scored token of every sentence (N copies in all).

    rows: N token-id tuples (lengths differ between sentences), each with the masks of its method;
    positions, targets, sentence: int[N] — the one position scored, the true token id there, the sentence index.
    """

    rows: tuple[tuple[int, ...], ...]
    positions: np.ndarray
    targets: np.ndarray
    sentence: np.ndarray


def scored_groups(mlm: MaskedLM, encoding: Encoding) -> tuple[tuple[int, ...], ...]:
    """The sentence's words as token positions, special tokens left out (an unknown-word token stays: it stands
    for a word of the text)."""
    tokenizer = mlm.tokenizer
    special = special_token_ids(tokenizer, keep=(tokenizer.unk_token_id,))
    skip = {position for position, token_id in enumerate(encoding.input_ids) if token_id in special}
    return word_groups(encoding.word_ids, skip=skip)


def masked_copies(mlm: MaskedLM, encodings: Sequence[Encoding], *, method: str) -> MaskedCopies:
    """One copy per scored token: the token masked and, with ``pll-word-l2r``, the later pieces of its word too."""
    mask_id = mlm.tokenizer.mask_token_id
    rows, positions, targets, sentence = [], [], [], []
    for index, encoding in enumerate(encodings):
        for group in scored_groups(mlm, encoding):
            for position in group:
                ids = list(encoding.input_ids)
                hidden = [p for p in group if p >= position] if method == "pll-word-l2r" else [position]
                for p in hidden:
                    ids[p] = mask_id
                rows.append(tuple(ids))
                positions.append(position)
                targets.append(encoding.input_ids[position])
                sentence.append(index)
    as_array = lambda values: np.asarray(values, dtype=np.int32)  # noqa: E731
    return MaskedCopies(tuple(rows), as_array(positions), as_array(targets), as_array(sentence))


def encode_sentences(mlm: MaskedLM, sentences: Sequence[str], *, names: Sequence[str] | None = None) -> list[Encoding]:
    """Tokenise every sentence; an empty one, one too long for the model or one with nothing to score raises
    ``InputError`` naming it (``names[k]``, by default 'Sentence k+1')."""
    if not sentences:
        raise InputError(f"No sentences to score — write one or more, one per line, e.g. '{EXAMPLE_SENTENCE}'")
    names = names or [f"Sentence {number}" for number in range(1, len(sentences) + 1)]
    encodings = []
    for name, text in zip(names, sentences):
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{name} is empty — write a sentence, e.g. '{EXAMPLE_SENTENCE}'")
        try:
            encoding = encode(mlm, text, require_mask=False)
        except InputError as error:
            raise InputError(f"{name}: {error}") from error
        if not scored_groups(mlm, encoding):
            raise InputError(
                f"{name} ('{_short(text)}') has only special tokens, nothing to score — write a sentence in words."
            )
        encodings.append(encoding)
    return encodings


def score(mlm: MaskedLM, sentences: Sequence[str], *, method: str = "pll-word-l2r") -> ScoreResult:
    """Pseudo-log-likelihood of each sentence, token by token; all masked copies run in a few batched calls."""
    check_params("score", {"method": method}, SCORE_PARAMS)
    encodings = encode_sentences(mlm, list(sentences))
    return ScoreResult(mlm.name, method, score_encodings(mlm, encodings, method=method))


def score_encodings(mlm: MaskedLM, encodings: Sequence[Encoding], *, method: str) -> tuple[SentenceScore, ...]:
    """``score`` for sentences already tokenised and checked by ``encode_sentences``."""
    copies = masked_copies(mlm, encodings, method=method)
    log_probs = mlm.forward.target_log_probs(copies.rows, copies.positions, copies.targets)
    return tuple(_sentence_score(mlm, encoding, copies, log_probs, index) for index, encoding in enumerate(encodings))


def _sentence_score(
    mlm: MaskedLM, encoding: Encoding, copies: MaskedCopies, log_probs: np.ndarray, index: int
) -> SentenceScore:
    mine = copies.sentence == index
    by_position = dict(zip(copies.positions[mine].tolist(), log_probs[mine].tolist()))
    tokens = []
    for group in scored_groups(mlm, encoding):
        word = mlm.tokenizer.convert_tokens_to_string([encoding.tokens[p] for p in group]).strip()
        tokens.extend(TokenScore(p, encoding.tokens[p], word, float(by_position[p])) for p in group)
    return SentenceScore(encoding.text, tuple(tokens))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
