"""Attention: the tensor of one forward pass, labelled heads, and seed-style PIL diagrams.

Everything reads ``Analysis.attentions`` (float32[L, H, T, T], rows = queries, columns = keys); nothing here
calls the model again.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis import analyze
from ..architecture import require_view
from ..files import check_output_folder, staged_output, zip_bytes
from ..model import MaskedLM
from .vocabulary import special_token_ids

# Pattern labels in the order they are tried, after Clark et al. 2019, "What does BERT look at?".
PATTERNS = ("previous token", "next token", "self", "[CLS]", "[SEP]", "punctuation")
BROAD = "broad"
OTHER = "other"
# A head gets a pattern's label when, averaged over its query rows, at least this share of attention goes there.
PATTERN_THRESHOLD = 0.5
# Otherwise it is "broad" when its mean row entropy is at least this share of the maximum (log T).
BROAD_ENTROPY_SHARE = 0.75
LABEL_RULE = (
    f"A head is labelled with a pattern when at least {PATTERN_THRESHOLD:.0%} of its attention, averaged "
    f"over tokens, goes there (previous token, next token, itself, [CLS], [SEP] or punctuation); otherwise "
    f"**broad** when its mean row entropy is at least {BROAD_ENTROPY_SHARE:.0%} of the maximum, else "
    f"**other**. After Clark et al. (2019)."
)  # how summarise_heads labels, for readers of its table
DIAGRAMS = "the attention diagrams"  # what write_all_diagrams writes, in messages about its output folder


@dataclass(frozen=True)
class AttentionResult:
    """Attention of one text. weights: float32[L, H, T, T]; tokens: T labels matching both axes exactly
    (special tokens included); special: bool[T], True for the framing tokens ([CLS], [SEP], <s>, </s>...) —
    not for [MASK] or unknown-word tokens, which stand for words of the text."""

    model_name: str
    text: str
    tokens: tuple[str, ...]
    weights: np.ndarray
    special: np.ndarray

    @property
    def num_layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def num_heads(self) -> int:
        return int(self.weights.shape[1])


def attention(mlm: MaskedLM, text: str) -> AttentionResult:
    """The attention tensor of ``text`` from its (memoised) single forward pass; a mask is not required."""
    require_view(mlm.model, "attention", "Attention", mlm.name)
    analysis = analyze(mlm, text)
    tokenizer = mlm.tokenizer
    special_ids = special_token_ids(tokenizer, keep=(tokenizer.mask_token_id, tokenizer.unk_token_id))
    special = np.asarray([token_id in special_ids for token_id in analysis.encoding.input_ids])
    return AttentionResult(mlm.name, text, analysis.tokens, analysis.attentions, special)


def without_special(result: AttentionResult) -> AttentionResult:
    """The same attention with the framing tokens' rows and columns removed (rows then sum to less than 1)."""
    keep = ~result.special
    weights = result.weights[:, :, keep][:, :, :, keep]
    return AttentionResult(
        result.model_name,
        result.text,
        tuple(np.asarray(result.tokens, dtype=object)[keep]),
        weights,
        np.zeros(int(keep.sum()), bool),
    )


def head_average(result: AttentionResult, layer: int) -> AttentionResult:
    """A one-head result holding the mean of every head of ``layer`` (1-based)."""
    average = result.weights[layer - 1].mean(axis=0)[None, None]
    return AttentionResult(result.model_name, result.text, result.tokens, average, result.special)


def _is_punctuation(token: str) -> bool:
    stripped = token.lstrip("#▁Ġ")
    return bool(stripped) and all(unicodedata.category(ch).startswith("P") for ch in stripped)


def pattern_targets(tokens: tuple[str, ...], special: np.ndarray) -> dict[str, np.ndarray]:
    """For each pattern, a bool[T, T] mask of the (query, key) cells that count as that pattern."""
    length = len(tokens)
    rows, cols = np.indices((length, length))
    first_special = np.zeros(length, bool)
    if length and special[0]:
        first_special[0] = True
    separators = special & ~first_special
    punctuation = np.asarray([_is_punctuation(token) for token in tokens]) & ~special
    return {
        "previous token": cols == rows - 1,
        "next token": cols == rows + 1,
        "self": cols == rows,
        "[CLS]": np.broadcast_to(first_special, (length, length)),
        "[SEP]": np.broadcast_to(separators, (length, length)),
        "punctuation": np.broadcast_to(punctuation, (length, length)),
    }


@dataclass(frozen=True)
class HeadSummary:
    """One head: 1-based ``layer`` and ``head``, its label, the share of attention the label's pattern gets,
    and the mean entropy of its rows in bits (0 = each token looks at one token; log2 T = uniform)."""

    layer: int
    head: int
    label: str
    pattern_share: float
    entropy: float

    @property
    def reading(self) -> str:
        """The head in one line (Markdown): its label, its pattern's share and its entropy."""
        return (
            f"Layer {self.layer}, head {self.head}: **{self.label}** — {self.pattern_share:.0%} of attention on "
            f"its pattern, mean entropy {self.entropy:.2f} bits."
        )


def summarise_heads(result: AttentionResult) -> list[HeadSummary]:
    """Label every head with its dominant pattern (thresholds: ``PATTERN_THRESHOLD``, ``BROAD_ENTROPY_SHARE``)."""
    targets = pattern_targets(result.tokens, result.special)
    weights = result.weights.astype(np.float64)
    length = weights.shape[-1]
    # Shares per pattern: [P, L, H], mean over query rows of the attention mass on the pattern's cells.
    shares = np.stack([(weights * mask).sum(-1).mean(-1) for mask in targets.values()])
    entropy = -(weights * np.log2(np.clip(weights, 1e-12, 1.0))).sum(-1).mean(-1)  # [L, H]
    max_entropy = np.log2(length) if length > 1 else 1.0
    summaries = []
    for layer in range(weights.shape[0]):
        for head in range(weights.shape[1]):
            best = int(np.argmax(shares[:, layer, head]))
            share = float(shares[best, layer, head])
            if share >= PATTERN_THRESHOLD:
                label = PATTERNS[best]
            elif entropy[layer, head] >= BROAD_ENTROPY_SHARE * max_entropy:
                label = BROAD
            else:
                label = OTHER
            summaries.append(HeadSummary(layer + 1, head + 1, label, share, float(entropy[layer, head])))
    return summaries


def heads_frame(summaries: Iterable[HeadSummary]) -> pd.DataFrame:
    return pd.DataFrame([vars(s) for s in summaries], columns=["layer", "head", "label", "pattern_share", "entropy"])


def patterns_reading(summaries: Iterable[HeadSummary]) -> str:
    """How many heads carry each label, most common first: 'Heads per pattern: broad 40, [SEP] 20, …'."""
    counts = heads_frame(summaries)["label"].value_counts()
    return "Heads per pattern: " + ", ".join(f"{label} {count}" for label, count in counts.items())


def matrix_frame(result: AttentionResult, layer: int, head: int) -> pd.DataFrame:
    """Long table of one head (1-based): query/key position and token, weight. For heatmaps and CSV."""
    matrix = result.weights[layer - 1, head - 1]
    queries, keys = np.indices(matrix.shape)
    return pd.DataFrame(
        {
            "query_position": queries.ravel(),
            "query_token": np.asarray(result.tokens, dtype=object)[queries.ravel()],
            "key_position": keys.ravel(),
            "key_token": np.asarray(result.tokens, dtype=object)[keys.ravel()],
            "weight": matrix.ravel(),
        }
    )


def npz_bytes(result: AttentionResult) -> bytes:
    """All matrices as .npz: ``attentions`` float32[L, H, T, T] and ``tokens``."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, attentions=result.weights, tokens=np.asarray(result.tokens))
    return buffer.getvalue()


def diagram_filename(layer: int, head: int, *, extension: str = ".png") -> str:
    """The seeds' file name, 1-based (``extension=""`` for the stem)."""
    return f"Attention_Layer{layer}_Head{head}{extension}"


def all_diagrams(result: AttentionResult, *, stretch: bool = False, **style) -> Iterator[tuple[str, bytes]]:
    """(file name, PNG bytes) for every head, layer by layer; the labels are drawn once for all of them."""
    from .diagrams import DiagramRenderer

    renderer = DiagramRenderer(result.tokens, **style)
    for layer in range(1, result.num_layers + 1):
        for head in range(1, result.num_heads + 1):
            yield diagram_filename(layer, head), renderer.png(result.weights[layer - 1, head - 1], stretch=stretch)


def zip_all_diagrams(result: AttentionResult, *, stretch: bool = False, **style) -> bytes:
    """Every head's diagram in one zip."""
    return zip_bytes(all_diagrams(result, stretch=stretch, **style))


def write_all_diagrams(result: AttentionResult, out: str | Path, **style) -> list[Path]:
    """Write ``Attention_Layer{L}_Head{H}.png`` for every head into ``out`` (created if missing; other files in it
    are kept). The set arrives whole or not at all: the PNGs go to a staging folder and are moved in at the end; a
    failure (full disk, read-only place…) removes them and raises ``InputError`` (``files.staged_output``)."""
    folder = check_output_folder(out, what=DIAGRAMS)
    names = []
    with staged_output(folder, what=DIAGRAMS) as staging:
        for name, png in all_diagrams(result, **style):
            (staging / name).write_bytes(png)
            names.append(name)
    return [folder / name for name in names]
