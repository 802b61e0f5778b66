"""Sentence pairs from files: uploaded CSV, TSV or JSONL, and the suites shipped in ``mlm_core/suites``.

A file holds pairs (good, bad[, category]): CSV or TSV with a header row naming the columns ``good`` and ``bad``
(``category`` optional), or JSONL with one ``{"good": …, "bad": …, "category": …}`` object per line. Lines that
start with ``#`` before the data are comments (the shipped suites describe themselves there). Every problem
raises one ``InputError`` naming the file, the line and the fix, before anything is scored.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import decode_upload

SUITES_DIR = Path(__file__).resolve().parents[1] / "suites"
MAX_PAIRS = 10_000
WANTED = "a CSV, TSV or JSONL file of sentence pairs (header 'good,bad' and optionally 'category')"


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
    text = decode_upload(data, name=name, wanted=WANTED)
    lines = text.splitlines()
    first = next((number for number, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if first is None:
        raise InputError(f"{name} has no pairs — write one pair per line under a header row 'good,bad'.")
    pairs = (_jsonl_pairs if lines[first].lstrip().startswith("{") else _table_pairs)(lines, first, name)
    if not pairs:
        raise InputError(f"{name} has a header but no pairs — add one pair per line under it.")
    if len(pairs) > MAX_PAIRS:
        raise InputError(f"{name} has {len(pairs):,} pairs; the limit is {MAX_PAIRS:,} — split it into smaller "
                         "files.")
    return pairs


def _table_pairs(lines: list[str], first: int, name: str) -> list[Pair]:
    delimiter = "\t" if "\t" in lines[first] else ","
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader)]
    missing = [column for column in ("good", "bad") if column not in header]
    if missing:
        raise InputError(f"{name} has no {' or '.join(repr(c) for c in missing)} column (its header is "
                         f"{lines[first].strip()[:80]!r}) — start it with a header row 'good,bad' or "
                         "'good,bad,category'.")
    columns = {column: header.index(column) for column in ("good", "bad", "category") if column in header}
    pairs = []
    for offset, row in enumerate(reader, start=1):
        if not any(cell.strip() for cell in row):
            continue
        cells = {column: row[index].strip() if index < len(row) else "" for column, index in columns.items()}
        pairs.append(_pair(cells, name, first + offset + 1))
    return pairs


def _jsonl_pairs(lines: list[str], first: int, name: str) -> list[Pair]:
    pairs = []
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{name}, line {number}, is not valid JSON ({error.msg}) — write one object per line, "
                             'e.g. {"good": "The dogs bark.", "bad": "The dogs barks."}') from error
        if not isinstance(record, dict):
            raise InputError(f"{name}, line {number}, is not a JSON object — write "
                             '{"good": "…", "bad": "…", "category": "…"} on each line.')
        cells = {key: record.get(key) for key in ("good", "bad", "category") if key in record}
        if any(value is not None and not isinstance(value, str) for value in cells.values()):
            raise InputError(f"{name}, line {number}: 'good', 'bad' and 'category' must be text.")
        pairs.append(_pair({key: (value or "").strip() for key, value in cells.items()}, name, number))
    return pairs


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
    return Suite(path.stem, fields.get("title", path.stem), fields.get("language", ""), fields.get("tests", ""),
                 path)
