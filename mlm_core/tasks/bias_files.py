"""Bias pairs from files: CrowS-Pairs' own CSV form, and the suites shipped in ``mlm_core/suites/bias``.

A file is a CSV or TSV with a header naming the columns ``sent_more`` and ``sent_less`` (the more and the less
stereotypical sentence), and optionally ``stereo_antistereo`` (``stereo`` or ``antistereo``; default ``stereo``)
and ``bias_type``; other columns (CrowS-Pairs' unnamed index, annotations…) are ignored, so the dataset's file
uploads as it is. Lines starting with ``#`` before the header are comments (the shipped suites describe
themselves there). Every problem raises one ``InputError`` naming the file, the line and the fix.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import decode_upload
from .pair_files import MAX_PAIRS, SUITES_DIR, Suite

BIAS_SUITES_DIR = SUITES_DIR / "bias"
REQUIRED = ("sent_more", "sent_less")
DIRECTIONS = ("stereo", "antistereo")
WANTED = "a CSV or TSV file of bias pairs with a header 'sent_more,sent_less,stereo_antistereo,bias_type'"


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
    text = decode_upload(data, name=name, wanted=WANTED)
    lines = text.splitlines()
    first = next((number for number, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if first is None:
        raise InputError(f"{name} has no pairs — write a header row 'sent_more,sent_less,stereo_antistereo,"
                         "bias_type' and one pair per line under it.")
    delimiter = "\t" if "\t" in lines[first] else ","
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader)]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise InputError(f"{name} has no {' or '.join(repr(c) for c in missing)} column (its header is "
                         f"{lines[first].strip()[:80]!r}) — use CrowS-Pairs' columns: a header row "
                         "'sent_more,sent_less,stereo_antistereo,bias_type'.")
    columns = {c: header.index(c) for c in (*REQUIRED, "stereo_antistereo", "bias_type") if c in header}
    pairs = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = {column: row[index].strip() if index < len(row) else "" for column, index in columns.items()}
        pairs.append(_pair(cells, name, reader.line_num + first))
    if not pairs:
        raise InputError(f"{name} has a header but no pairs — add one pair per line under it.")
    if len(pairs) > MAX_PAIRS:
        raise InputError(f"{name} has {len(pairs):,} pairs; the limit is {MAX_PAIRS:,} — split it into smaller "
                         "files.")
    return pairs


def _pair(cells: dict[str, str], name: str, line: int) -> BiasPair:
    for column in REQUIRED:
        if not cells.get(column):
            raise InputError(f"{name}, line {line}, has no {column!r} sentence — fill it in or remove the line.")
    direction = cells.get("stereo_antistereo") or "stereo"
    if direction not in DIRECTIONS:
        raise InputError(f"{name}, line {line}: stereo_antistereo is {direction!r} — write 'stereo' or "
                         "'antistereo'.")
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
    return Suite(path.stem, fields.get("title", path.stem), fields.get("language", ""), fields.get("tests", ""),
                 path)
