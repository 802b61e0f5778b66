"""Contextual token embeddings at any layer, across sentences, projected to 2-D (PCA or t-SNE).

Vectors come from each sentence's memoised forward pass (``Analysis.hidden_states``), so moving between layers
or methods never re-runs the model; only the projection is recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from ..analysis import analyze, word_groups
from ..errors import InputError, ParameterError
from ..model import MaskedLM
from ..params import Interval, OneOf, check_params

METHODS = ("pca", "tsne")
MAX_SENTENCES = 20
TSNE_SEED = 0


@dataclass(frozen=True)
class TokenVectors:
    """Vectors of the tokens (or merged words) of several sentences at one layer.

    vectors: float32[N, D]; points: DataFrame with one row per vector — sentence (0-based, input order),
    position (token index, or first token index of a merged word), token (text shown).
    """

    layer: int
    vectors: np.ndarray
    points: pd.DataFrame


def _check_sentences(sentences: Sequence[str]) -> list[str]:
    cleaned = [s.strip() for s in sentences if s and s.strip()]
    if not cleaned:
        raise InputError("No sentences — write one or more sentences, one per line, e.g. 'I sat by the river bank.'")
    if len(cleaned) > MAX_SENTENCES:
        raise InputError(f"There are {len(cleaned)} sentences; the embeddings view takes at most {MAX_SENTENCES} "
                         "— remove some lines.")
    return cleaned


def token_vectors(mlm: MaskedLM, sentences: Sequence[str], *, layer: int, hide_special: bool = True,
                  merge_pieces: bool = False) -> TokenVectors:
    """Every token's vector at ``layer`` (0 = the embedding layer's output, L = the last layer)."""
    check_params("token_vectors", {"layer": layer}, {"layer": Interval(int, 0, mlm.num_layers)})
    rows, vectors = [], []
    for sentence_index, sentence in enumerate(_check_sentences(sentences)):
        analysis = analyze(mlm, sentence)
        hidden = analysis.hidden_states[layer]
        groups = _groups(analysis.encoding.word_ids, merge_pieces, hide_special)
        for positions in groups:
            pieces = [analysis.tokens[p] for p in positions]
            label = mlm.tokenizer.convert_tokens_to_string(pieces).strip() if merge_pieces else pieces[0]
            rows.append({"sentence": sentence_index, "position": positions[0], "token": label or pieces[0]})
            vectors.append(hidden[list(positions)].mean(axis=0))
    points = pd.DataFrame(rows, columns=["sentence", "position", "token"])
    return TokenVectors(layer, np.asarray(vectors, dtype=np.float32).reshape(len(rows), -1), points)


def _groups(word_ids: Sequence[int | None], merge_pieces: bool, hide_special: bool) -> tuple[tuple[int, ...], ...]:
    """Token positions to average: one per token, or one per word when merging (special tokens alone)."""
    if not merge_pieces:  # every token a word of its own
        word_ids = [None if word_id is None else position for position, word_id in enumerate(word_ids)]
    return word_groups(word_ids, specials=not hide_special)


@dataclass(frozen=True)
class Projection:
    """coordinates: float[N, 2]; explained_variance: share of variance on each PCA axis (None for t-SNE);
    perplexity: the t-SNE perplexity used (None for PCA)."""

    method: str
    coordinates: np.ndarray
    explained_variance: tuple[float, float] | None = None
    perplexity: float | None = None


def tsne_perplexity(n_points: int) -> float:
    """scikit-learn's default 30, lowered for few points so it stays below the number of points."""
    return float(min(30.0, max(1.0, (n_points - 1) / 3)))


def project(vectors: np.ndarray, *, method: str = "pca", seed: int = TSNE_SEED) -> Projection:
    """2-D coordinates of ``vectors`` float[N, D]; same input and seed → same coordinates."""
    check_params("project", {"method": method}, {"method": OneOf(METHODS)})
    n_points = len(vectors)
    needed = 2 if method == "pca" else 4
    if n_points < needed:
        raise ParameterError(f"{'PCA' if method == 'pca' else 't-SNE'} needs at least {needed} points; there "
                             f"{'is' if n_points == 1 else 'are'} {n_points} — add words or sentences, or show "
                             "special tokens.")
    data = np.asarray(vectors, dtype=np.float64)
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        coordinates = pca.fit_transform(data)
        return Projection("pca", coordinates, tuple(float(v) for v in pca.explained_variance_ratio_))
    from sklearn.manifold import TSNE

    perplexity = tsne_perplexity(n_points)
    coordinates = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                       max_iter=1000).fit_transform(data)
    return Projection("tsne", coordinates, None, perplexity)


def projected_points(mlm: MaskedLM, sentences: Sequence[str], *, layer: int, method: str = "pca",
                     hide_special: bool = True, merge_pieces: bool = False) -> tuple[pd.DataFrame, Projection]:
    """``token_vectors`` + ``project``: the points table with x and y columns added."""
    vectors = token_vectors(mlm, sentences, layer=layer, hide_special=hide_special, merge_pieces=merge_pieces)
    projection = project(vectors.vectors, method=method)
    points = vectors.points.assign(layer=layer, x=projection.coordinates[:, 0], y=projection.coordinates[:, 1])
    return points, projection


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def _occurrence_labels(sentence_of_hit: np.ndarray) -> list[str]:
    """'sentence k' (1-based), with '(#n)' when the word occurs more than once in that sentence."""
    labels, seen = [], {}
    for sentence in sentence_of_hit.tolist():
        seen[sentence] = seen.get(sentence, 0) + 1
        repeated = (sentence_of_hit == sentence).sum() > 1
        labels.append(f"sentence {sentence + 1}" + (f" (#{seen[sentence]})" if repeated else ""))
    return labels


def word_similarity(mlm: MaskedLM, sentences: Sequence[str], word: str) -> pd.DataFrame:
    """Cosine similarity between every pair of occurrences of ``word`` (merged word pieces, case-insensitive),
    at every layer: columns layer, a, b (occurrence labels such as 'sentence 2' or 'sentence 2 (#2)'), cosine."""
    target = word.strip().lower()
    if not target:
        raise InputError("No word to compare — type a word that occurs in two or more sentences, e.g. 'bank'.")
    per_layer = [token_vectors(mlm, sentences, layer=layer, merge_pieces=True)
                 for layer in range(mlm.num_layers + 1)]
    points = per_layer[0].points
    hits = np.flatnonzero(points["token"].str.lower().to_numpy() == target)
    if len(hits) < 2:
        raise InputError(f"'{word}' occurs {len(hits)} time{'' if len(hits) == 1 else 's'} in the sentences — "
                         "it must occur at least twice to compare its meanings.")
    labels = _occurrence_labels(points["sentence"].to_numpy()[hits])
    rows = [{"layer": vectors.layer, "a": labels[i], "b": labels[j],
             "cosine": _cosine(vectors.vectors[hits[i]], vectors.vectors[hits[j]])}
            for vectors in per_layer for i, j in combinations(range(len(hits)), 2)]
    return pd.DataFrame(rows, columns=["layer", "a", "b", "cosine"])
