"""Sentence pairs from files: uploaded CSV, TSV or JSONL, and the suites shipped in ``mlm_core/suites``.

A file holds pairs (good, bad[, category]): CSV or TSV with a header row naming the columns ``good`` and ``bad``
(``category`` optional), or JSONL with one ``{"good": …, "bad": …, "category": …}`` object per line, read by
``row_files.read_rows`` (comments, limits, messages). Every problem raises one ``InputError`` naming the file, the
line and the fix, before anything is scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .row_files import JsonlFormat, RowFormat, read_rows

SUITES_DIR = Path(__file__).resolve().parents[1] / "suites"
MAX_PAIRS = 10_000
PAIR_FILES = RowFormat(
    "pairs",
    ("good", "bad"),
    ("category",),
    MAX_PAIRS,
    wanted="a CSV, TSV or JSONL file of sentence pairs (header 'good,bad' and optionally 'category')",
    no_data="write one pair per line under a header row 'good,bad'.",
    no_rows="add one pair per line under it.",
    too_many="split it into smaller files.",
    header="start it with a header row 'good,bad' or 'good,bad,category'.",
    jsonl=JsonlFormat(
        '{"good": "The dogs bark.", "bad": "The dogs barks."}',
        '{"good": "…", "bad": "…", "category": "…"}',
        text_only="'good', 'bad' and 'category' must be text.",
    ),
)


@dataclass(frozen=True)
class Pair:
    """Two sentences that differ in one place; a model that gets it right prefers ``good``."""

    good: str
    bad: str
    category: str = ""


@dataclass(frozen=True)
class Suite:
    """A shipped file of pairs: ``key`` is its file name without extension (used in links and by the CLI)."""

    key: str
    title: str
    language: str
    tests: str
    path: Path


def read_pairs(data: bytes, *, name: str = "The file") -> list[Pair]:
    """Pairs from an uploaded file's bytes; raises ``InputError`` for anything that is not a usable pair file."""
    return read_rows(data, PAIR_FILES, lambda line, cells: _pair(cells, name, line), name=name)


def _pair(cells: dict[str, str], name: str, line: int) -> Pair:
    for side in ("good", "bad"):
        if not cells.get(side):
            raise InputError(f"{name}, line {line}, has no {side!r} sentence — fill it in or remove the line.")
    return Pair(cells["good"], cells["bad"], cells.get("category", ""))


def list_suites() -> list[Suite]:
    """The shipped suites, English first, then by file name."""
    suites = [_suite_header(path) for path in sorted(SUITES_DIR.glob("*.tsv"))]
    return sorted(suites, key=lambda suite: (suite.language != "en", suite.key))


def load_suite(key: str) -> tuple[Suite, list[Pair]]:
    """A shipped suite and its pairs; ``InputError`` naming the suites that exist for an unknown key."""
    suites = {suite.key: suite for suite in list_suites()}
    if key not in suites:
        raise InputError(f"There is no suite '{key}' — pick one of: {', '.join(suites)}.")
    suite = suites[key]
    return suite, read_pairs(suite.path.read_bytes(), name=f"Suite '{key}'")


def _suite_header(path: Path) -> Suite:
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line.lstrip("# ").partition(":")
        fields[key.strip().lower()] = value.strip()
    return Suite(path.stem, fields.get("title", path.stem), fields.get("language", ""), fields.get("tests", ""), path)
