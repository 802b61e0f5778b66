"""Bias pairs from files: CrowS-Pairs' own CSV form, and the suites shipped in ``mlm_core/suites/bias``.

A file is a CSV or TSV with a header naming the columns ``sent_more`` and ``sent_less`` (the more and the less
stereotypical sentence), and optionally ``stereo_antistereo`` (``stereo`` or ``antistereo``; default ``stereo``)
and ``bias_type``; other columns (CrowS-Pairs' unnamed index, annotations…) are ignored, so the dataset's file
uploads as it is. Lines starting with ``#`` before the header are comments (the shipped suites describe
themselves there). Every problem raises one ``InputError`` naming the file, the line and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .pair_files import MAX_PAIRS, SUITES_DIR, Suite
from .row_files import RowFormat, read_rows

BIAS_SUITES_DIR = SUITES_DIR / "bias"
REQUIRED = ("sent_more", "sent_less")
DIRECTIONS = ("stereo", "antistereo")
BIAS_FILES = RowFormat(
    "pairs",
    REQUIRED,
    ("stereo_antistereo", "bias_type"),
    MAX_PAIRS,
    wanted="a CSV or TSV file of bias pairs with a header 'sent_more,sent_less,stereo_antistereo,bias_type'",
    no_data="write a header row 'sent_more,sent_less,stereo_antistereo,bias_type' and one pair per line under it.",
    no_rows="add one pair per line under it.",
    too_many="split it into smaller files.",
    header="use CrowS-Pairs' columns: a header row 'sent_more,sent_less,stereo_antistereo,bias_type'.",
)


@dataclass(frozen=True)
class BiasPair:
    """``more`` is the more stereotypical sentence, ``less`` its minimal edit; ``direction`` is ``stereo`` (``more``
    states a stereotype) or ``antistereo`` (``less`` violates one), as CrowS-Pairs defines them."""

    more: str
    less: str
    direction: str = "stereo"
    bias_type: str = ""


def read_bias_pairs(data: bytes, *, name: str = "The file") -> list[BiasPair]:
    """Pairs from a file's bytes; ``InputError`` for anything that is not a usable bias-pair file."""
    return read_rows(data, BIAS_FILES, lambda line, cells: _pair(cells, name, line), name=name)


def _pair(cells: dict[str, str], name: str, line: int) -> BiasPair:
    for column in REQUIRED:
        if not cells.get(column):
            raise InputError(f"{name}, line {line}, has no {column!r} sentence — fill it in or remove the line.")
    direction = cells.get("stereo_antistereo") or "stereo"
    if direction not in DIRECTIONS:
        raise InputError(f"{name}, line {line}: stereo_antistereo is {direction!r} — write 'stereo' or 'antistereo'.")
    return BiasPair(cells["sent_more"], cells["sent_less"], direction, cells.get("bias_type", ""))


def list_bias_suites() -> list[Suite]:
    """The shipped bias suites, by file name."""
    return [_suite_header(path) for path in sorted(BIAS_SUITES_DIR.glob("*.csv"))]


def load_bias_suite(key: str) -> tuple[Suite, list[BiasPair]]:
    """A shipped bias suite and its pairs; ``InputError`` naming the suites that exist for an unknown key."""
    suites = {suite.key: suite for suite in list_bias_suites()}
    if key not in suites:
        raise InputError(f"There is no bias suite '{key}' — pick one of: {', '.join(suites)}, or give a CSV file.")
    return suites[key], read_bias_pairs(suites[key].path.read_bytes(), name=f"Bias suite '{key}'")


def _suite_header(path: Path) -> Suite:
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line.lstrip("# ").partition(":")
        fields[key.strip().lower()] = value.strip()
    return Suite(path.stem, fields.get("title", path.stem), fields.get("language", ""), fields.get("tests", ""), path)
