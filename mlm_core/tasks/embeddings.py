"""Contextual token embeddings at any layer, across sentences, projected to 2-D (PCA or t-SNE).

Vectors come from each sentence's memoised forward pass (``Analysis.hidden_states``), so moving between layers
or methods never re-runs the model; only the projection is recomputed.

By default the projection is fitted on content tokens only (punctuation and [CLS]/[SEP] sit far from the
words and squeezed them into a corner, issue 19) and on standardised dimensions, because a few "rogue"
dimensions of huge variance dominate distances in BERT-like models (Timkey & van Schijndel 2021, "All Bark and
No Bite"). Both are options (``all_tokens``, ``standardize``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ..analysis import analyze, word_groups
from ..architecture import require_view
from ..errors import InputError, ParameterError
from ..model import MaskedLM
from ..params import Interval, OneOf, check_params

METHODS = ("pca", "tsne")
FLAG = OneOf((False, True))
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
        raise InputError(
            f"There are {len(cleaned)} sentences; the embeddings view takes at most {MAX_SENTENCES} "
            "— remove some lines."
        )
    return cleaned


def token_vectors(
    mlm: MaskedLM,
    sentences: Sequence[str],
    *,
    layer: int,
    hide_special: bool | None = None,
    merge_pieces: bool = False,
    all_tokens: bool = False,
) -> TokenVectors:
    """Every token's vector at ``layer`` (0 = the embedding layer's output, L = the last layer).

    Content tokens only unless ``all_tokens``: punctuation (tokens with no letter, digit or symbol) and special
    tokens ([CLS], [SEP]) are left out. ``hide_special`` True/False hides/shows the special tokens whatever
    ``all_tokens`` says; None follows it. [MASK] and [UNK] stand for words and always count as content.
    """
    check_params(
        "token_vectors",
        {"layer": layer, "hide_special": hide_special, "merge_pieces": merge_pieces, "all_tokens": all_tokens},
        {
            "layer": Interval(int, 0, mlm.num_layers),
            "hide_special": OneOf((None, False, True)),
            "merge_pieces": FLAG,
            "all_tokens": FLAG,
        },
    )
    require_view(mlm.model, "embeddings", "The embeddings view", mlm.name)
    show_special = all_tokens if hide_special is None else not hide_special
    rows, vectors = [], []
    for sentence_index, sentence in enumerate(_check_sentences(sentences)):
        analysis = analyze(mlm, sentence)
        hidden = analysis.hidden_states[layer]
        for positions in _groups(analysis.encoding.word_ids, merge_pieces, show_special):
            pieces = [analysis.tokens[p] for p in positions]
            text = mlm.tokenizer.convert_tokens_to_string(pieces).strip()
            special = analysis.encoding.word_ids[positions[0]] is None
            if not (all_tokens or special or is_content(text)):
                continue
            label = text if merge_pieces else pieces[0]
            rows.append({"sentence": sentence_index, "position": positions[0], "token": label or pieces[0]})
            vectors.append(hidden[list(positions)].mean(axis=0))
    points = pd.DataFrame(rows, columns=["sentence", "position", "token"])
    return TokenVectors(layer, np.asarray(vectors, dtype=np.float32).reshape(len(rows), -1), points)


def is_content(text: str) -> bool:
    """True when ``text`` has a letter, digit, symbol or mark: not punctuation, spaces or control characters."""
    return any(unicodedata.category(character)[0] in "LNSM" for character in text)


def _groups(word_ids: Sequence[int | None], merge_pieces: bool, show_special: bool) -> tuple[tuple[int, ...], ...]:
    """Token positions to average: one per token, or one per word when merging (special tokens alone)."""
    if not merge_pieces:  # every token a word of its own
        word_ids = [None if word_id is None else position for position, word_id in enumerate(word_ids)]
    return word_groups(word_ids, specials=show_special)


@dataclass(frozen=True)
class Projection:
    """coordinates: float[N, 2]; explained_variance: share of variance on each PCA axis (None for t-SNE);
    perplexity: the t-SNE perplexity used (None for PCA); standardized: whether each dimension was z-scored."""

    method: str
    coordinates: np.ndarray
    explained_variance: tuple[float, float] | None = None
    perplexity: float | None = None
    standardized: bool = False

    @property
    def note(self) -> str:
        """What the axes mean, in one sentence (PCA's explained variance, or how far to trust t-SNE)."""
        if self.explained_variance:
            first, second = self.explained_variance
            return f"PCA axes explain {first:.0%} and {second:.0%} of the variance (each dimension standardised first)."
        return f"t-SNE, perplexity {self.perplexity:g}, seed 0: distances between far-apart groups mean little."


def tsne_perplexity(n_points: int) -> float:
    """scikit-learn's default 30, lowered for few points so it stays below the number of points."""
    return float(min(30.0, max(1.0, (n_points - 1) / 3)))


def project(vectors: np.ndarray, *, method: str = "pca", seed: int = TSNE_SEED, standardize: bool = True) -> Projection:
    """2-D coordinates of ``vectors`` float[N, D]; same input and seed → same coordinates.

    With ``standardize`` each dimension is z-scored over these N points first (StandardScaler), for PCA and
    t-SNE alike: rogue dimensions otherwise decide the picture (Timkey & van Schijndel 2021).
    """
    check_params(
        "project", {"method": method, "standardize": standardize}, {"method": OneOf(METHODS), "standardize": FLAG}
    )
    n_points = len(vectors)
    needed = 2 if method == "pca" else 4
    if n_points < needed:
        raise ParameterError(
            f"{'PCA' if method == 'pca' else 't-SNE'} needs at least {needed} points; there "
            f"{'is' if n_points == 1 else 'are'} {n_points} — add words or sentences, or include "
            "punctuation and special tokens."
        )
    data = np.asarray(vectors, dtype=np.float64)
    if standardize:
        from sklearn.preprocessing import StandardScaler

        data = StandardScaler().fit_transform(data)
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        coordinates = pca.fit_transform(data)
        return Projection(
            "pca", coordinates, tuple(float(v) for v in pca.explained_variance_ratio_), standardized=standardize
        )
    from sklearn.manifold import TSNE

    perplexity = tsne_perplexity(n_points)
    coordinates = TSNE(
        n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=1000
    ).fit_transform(data)
    return Projection("tsne", coordinates, None, perplexity, standardize)


def projected_points(
    mlm: MaskedLM,
    sentences: Sequence[str],
    *,
    layer: int,
    method: str = "pca",
    hide_special: bool | None = None,
    merge_pieces: bool = False,
    all_tokens: bool = False,
    standardize: bool = True,
) -> tuple[pd.DataFrame, Projection]:
    """``token_vectors`` + ``project``: the points table with layer, x and y columns added. The projection is
    fitted on exactly the points returned (content tokens only by default)."""
    vectors = token_vectors(
        mlm, sentences, layer=layer, hide_special=hide_special, merge_pieces=merge_pieces, all_tokens=all_tokens
    )
    projection = project(vectors.vectors, method=method, standardize=standardize)
    points = vectors.points.assign(layer=layer, x=projection.coordinates[:, 0], y=projection.coordinates[:, 1])
    return points, projection


def neighbour_roles(points: pd.DataFrame, word: str, *, k: int = 2) -> pd.Series:
    """Which points to label in the plot: 'word' for each occurrence of ``word`` (case-insensitive), 'neighbour'
    for the ``k`` points nearest to one of them in the 2-D coordinates (x, y), '' for the rest."""
    check_params("neighbour_roles", {"k": k}, {"k": Interval(int, 0, 20)})
    roles = np.full(len(points), "", dtype=object)
    hits = np.flatnonzero(points["token"].str.lower().to_numpy() == word.strip().lower())
    others = np.setdiff1d(np.arange(len(points)), hits)
    if len(hits) and len(others) and k:
        from sklearn.metrics import pairwise_distances

        xy = points[["x", "y"]].to_numpy(dtype=np.float64)
        nearest = np.argsort(pairwise_distances(xy[hits], xy[others]), axis=1, kind="stable")[:, :k]
        roles[others[np.unique(nearest)]] = "neighbour"
    roles[hits] = "word"
    return pd.Series(roles, index=points.index, name="role")


def focus_ranges(points: pd.DataFrame, roles: pd.Series, *, margin: float = 0.25):
    """((x low, x high), (y low, y high)) around the points ``neighbour_roles`` labels, widened by ``margin`` of
    their extent (at least 5 % of the whole picture's): where a plot opens so the word's occurrences can be told
    apart even when other words spread the picture far wider. None when the word occurs fewer than twice."""
    if (roles == "word").sum() < 2:
        return None
    every, labelled = points[["x", "y"]], points.loc[roles != "", ["x", "y"]]
    low, high = labelled.min(), labelled.max()
    pad = ((high - low) * margin).clip(lower=0.05 * (every.max() - every.min()).max())
    return tuple((float(low[axis] - pad[axis]), float(high[axis] + pad[axis])) for axis in ("x", "y"))


def chart_reading(points: pd.DataFrame, projection: Projection, ranges, *, neighbours: int) -> str:
    """The scatter's caption: the projection's ``note``, where the chart opens (``focus_ranges`` or the whole
    picture: how many of the points lie outside), which points carry labels (``neighbours`` per occurrence)."""
    if ranges is None:
        view = "Scroll to zoom, drag to pan."
    else:
        outside = (~points["x"].between(*ranges[0]) | ~points["y"].between(*ranges[1])).sum()
        view = (
            f"The chart opens around the word you follow ({outside} of {len(points)} points lie outside): scroll "
            "to zoom out, drag to pan, double-click to come back."
        )
    return (
        f"{projection.note} {view} Labelled: the word you follow and the {neighbours} points nearest to each "
        "occurrence; hover over any point for its word. Axes have no units."
    )


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
    per_layer = [
        token_vectors(mlm, sentences, layer=layer, merge_pieces=True, hide_special=True, all_tokens=True)
        for layer in range(mlm.num_layers + 1)
    ]
    points = per_layer[0].points
    hits = np.flatnonzero(points["token"].str.lower().to_numpy() == target)
    if len(hits) < 2:
        raise InputError(
            f"'{word}' occurs {len(hits)} time{'' if len(hits) == 1 else 's'} in the sentences — "
            "it must occur at least twice to compare its meanings."
        )
    labels = _occurrence_labels(points["sentence"].to_numpy()[hits])
    rows = [
        {
            "layer": vectors.layer,
            "a": labels[i],
            "b": labels[j],
            "cosine": _cosine(vectors.vectors[hits[i]], vectors.vectors[hits[j]]),
        }
        for vectors in per_layer
        for i, j in combinations(range(len(hits)), 2)
    ]
    return pd.DataFrame(rows, columns=["layer", "a", "b", "cosine"])
