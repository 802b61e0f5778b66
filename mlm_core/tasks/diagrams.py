"""Seed-style attention diagrams drawn with Pillow.

As in the CS50 seeds: a square grid with one cell per (query, key) token pair, the cell's brightness the
attention weight (black 0 → white 1), the tokens written down the left (queries) and, rotated, along the top
(keys). Unlike the seeds, the labels always match the matrix (special tokens included), sizes adapt to the
number of tokens (readable from 5 to 128 tokens), and CJK tokens are drawn with a CJK font.

The labels are the same for every head of a text, so ``DiagramRenderer`` draws them once and each head only
costs painting a T×T grid and encoding the PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..files import png_bytes
from ..params import Interval, check_params

BACKGROUND = 0  # black, as in the seeds
TEXT = 255
LABEL_PADDING = 8

DIAGRAM_PARAMS = {"cell_size": Interval(int, 4, 80), "font_size": Interval(int, 6, 48)}


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """Noto Sans CJK JP (OFL-1.1, from the ``noto-cjk-sans-jp-regular`` package): Latin, kana and CJK ideographs."""
    try:
        from importlib.resources import files

        path = Path(str(files("noto_cjk_sans_jp_regular") / "NotoSansCJKjp-Regular.otf"))
    except (ImportError, ModuleNotFoundError):
        return None
    return path if path.is_file() else None


@lru_cache(maxsize=4)
def _coverage(path: Path | None) -> frozenset[int]:
    if path is None:
        return frozenset()
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(path), lazy=True, fontNumber=0).getBestCmap())


@lru_cache(maxsize=32)
def _fonts(size: int, path: Path | None) -> tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont]:
    fallback = ImageFont.load_default(size=size)
    primary = ImageFont.truetype(str(path), size=size) if path else fallback
    return primary, fallback


def font_for(token: str, size: int, font_path: str | Path | None = None):
    """The label font (``font_path``, else the CJK-capable font) when it has every character of ``token``,
    else Pillow's default font (per-token fallback)."""
    path = Path(font_path) if font_path else cjk_font_path()
    primary, fallback = _fonts(size, path)
    coverage = _coverage(path)
    if coverage and all(ord(ch) in coverage for ch in token):
        return primary
    return fallback


def auto_cell_size(n_tokens: int) -> int:
    """40 px cells (the seeds' size) for short texts, shrinking so 128 tokens still fit in ~1,600 px."""
    return int(np.clip(round(1600 / max(n_tokens, 1)), 12, 40))


@dataclass(frozen=True)
class DiagramStyle:
    cell_size: int
    font_size: int
    label_width: int


class DiagramRenderer:
    """Draws every head's diagram for one token sequence; labels are drawn once."""

    def __init__(
        self,
        tokens: Sequence[str],
        *,
        cell_size: int | None = None,
        font_size: int | None = None,
        label_width: int | None = None,
        font_path: str | Path | None = None,
    ):
        """``cell_size`` px per cell, ``label_width`` px for the labels (the seeds' PIXELS_PER_WORD), ``font_size``
        and ``font_path`` (a TrueType/OpenType file) for the labels; each has an automatic default."""
        cell_size = cell_size or auto_cell_size(len(tokens))
        font_size = font_size or max(8, min(20, int(cell_size * 0.55)))
        check_params("attention diagrams", {"cell_size": cell_size, "font_size": font_size}, DIAGRAM_PARAMS)
        self.tokens = list(tokens)
        self.font_path = font_path
        widths = [self._text_width(token, font_size) for token in self.tokens] or [0]
        label_width = label_width or max(widths) + 2 * LABEL_PADDING
        self.style = DiagramStyle(cell_size, font_size, label_width)
        self._frame = self._draw_frame()

    @property
    def size(self) -> int:
        return self.style.label_width + self.style.cell_size * len(self.tokens)

    def _draw_frame(self) -> Image.Image:
        style = self.style
        frame = Image.new("L", (self.size, self.size), BACKGROUND)
        draw = ImageDraw.Draw(frame)
        # Key labels are written left to right on a strip that is then turned 90° counter-clockwise, so they
        # start just above their column and read upwards.
        strip = Image.new("L", (style.label_width, self.size), BACKGROUND)
        strip_draw = ImageDraw.Draw(strip)
        for i, token in enumerate(self.tokens):
            font = font_for(token, style.font_size, self.font_path)
            y = style.label_width + i * style.cell_size + (style.cell_size - style.font_size) // 2
            width = self._text_width(token, style.font_size)
            draw.text((style.label_width - LABEL_PADDING - width, y), token, fill=TEXT, font=font)
            strip_draw.text((LABEL_PADDING, y), token, fill=TEXT, font=font)
        frame.paste(strip.transpose(Image.Transpose.ROTATE_90), (0, 0))
        return frame

    def _text_width(self, token: str, size: int) -> int:
        left, _, right, _ = font_for(token, size, self.font_path).getbbox(token)
        return int(right - left)

    def render(self, weights: np.ndarray, *, stretch: bool = False) -> Image.Image:
        """The diagram of one head: ``weights`` float[T, T] (queries × keys) in [0, 1]. With ``stretch`` the
        brightest cell is drawn white (contrast for heads that spread their attention thinly)."""
        n = len(self.tokens)
        if weights.shape != (n, n):
            raise ValueError(f"attention matrix is {weights.shape}, but there are {n} tokens: {self.tokens}")
        image = self._frame.copy()
        cells = Image.fromarray(brightness(weights, stretch=stretch), mode="L")
        grid = cells.resize((n * self.style.cell_size,) * 2, Image.Resampling.NEAREST)
        image.paste(grid, (self.style.label_width, self.style.label_width))
        return image

    def png(self, weights: np.ndarray, *, stretch: bool = False) -> bytes:
        return png_bytes(self.render(weights, stretch=stretch))


def brightness(weights: np.ndarray, *, stretch: bool = False) -> np.ndarray:
    """uint8 grey levels of attention weights: 255 × weight, or 255 × weight / max with ``stretch``."""
    scale = 255.0 / max(float(weights.max()), 1e-12) if stretch else 255.0
    return np.rint(np.clip(weights * scale, 0, 255)).astype(np.uint8)


def overview_png(
    weights: np.ndarray, labels: Sequence[str], *, thumb: int = 72, gap: int = 14, stretch: bool = False
) -> bytes:
    """All heads at once: a grid of small diagrams, layers as rows and heads as columns, each captioned with
    ``labels`` (one per head, layer-major). weights: float[L, H, T, T]."""
    layers, heads, n, _ = weights.shape
    caption = max(10, thumb // 7)
    font = ImageFont.load_default(size=caption)
    margin = caption * 4
    cell_w, cell_h = thumb + gap, thumb + gap + caption
    image = Image.new("L", (margin + heads * cell_w, caption * 2 + layers * cell_h), 255)
    draw = ImageDraw.Draw(image)
    for head in range(heads):
        draw.text((margin + head * cell_w, 2), f"H{head + 1}", fill=0, font=font)
    for layer in range(layers):
        top = caption * 2 + layer * cell_h
        draw.text((2, top + thumb // 2 - caption // 2), f"L{layer + 1}", fill=0, font=font)
        for head in range(heads):
            left = margin + head * cell_w
            matrix = brightness(weights[layer, head], stretch=stretch)
            image.paste(Image.fromarray(matrix, mode="L").resize((thumb, thumb), Image.Resampling.NEAREST), (left, top))
            draw.text((left, top + thumb + 1), labels[layer * heads + head][:14], fill=0, font=font)
    return png_bytes(image)
