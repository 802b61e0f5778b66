"""Probing tasks from files: uploaded CSV, TSV or JSONL, and the tasks shipped in ``mlm_core/probes``.

A file holds rows (sentence, word, label[, occurrence]): CSV or TSV with a header row naming the columns
``sentence``, ``word`` and ``label`` (``occurrence`` optional: 2 probes the word's second whole-word occurrence), or
JSONL with one ``{"sentence": …, "word": …, "label": …}`` object per line. Lines that start with ``#`` before the
data are comments (the shipped tasks describe themselves there). Every problem raises one ``InputError`` naming the
file, the line and the fix, before any model runs; ``check_rows`` adds the checks that depend on the folds.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import decode_upload

PROBES_DIR = Path(__file__).resolve().parents[1] / "probes"
MAX_ROWS = 5_000
COLUMNS = ("sentence", "word", "label")
WANTED = "a CSV, TSV or JSONL file of probing rows (header 'sentence,word,label' and optionally 'occurrence')"
EXAMPLE = "'We should book a table.,book,verb'"


@dataclass(frozen=True)
class ProbeRow:
    """One word in one sentence with its label; ``span`` is the (start, end) characters of the probed occurrence
    in ``sentence``, ``where`` names the row in messages ("'tags.csv', line 7")."""

    sentence: str
    word: str
    label: str
    span: tuple[int, int]
    where: str
    occurrence: int = 1


@dataclass(frozen=True)
class ProbeTask:
    """A shipped task: ``key`` is its file name without extension (links, the CLI); ``property`` names what its
    labels are, as a reading starts ("Part of speech is readable from layer 1")."""

    key: str
    title: str
    property: str
    tests: str
    path: Path


def find_word(sentence: str, word: str, occurrence: int = 1) -> tuple[int, int] | None:
    """(start, end) of the ``occurrence``-th whole-word, case-insensitive match of ``word``, or None."""
    pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)"
    matches = list(re.finditer(pattern, sentence, flags=re.IGNORECASE))
    return matches[occurrence - 1].span() if len(matches) >= occurrence else None


def read_probe_rows(data: bytes, *, name: str = "The file") -> list[ProbeRow]:
    """Rows from an uploaded file's bytes; ``InputError`` for anything that is not a usable probing file."""
    text = decode_upload(data, name=name, wanted=WANTED)
    lines = text.splitlines()
    first = next((number for number, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if first is None:
        raise InputError(f"{name} has no rows — write one row per line under a header row 'sentence,word,label', "
                         f"e.g. {EXAMPLE}.")
    reader = _jsonl_cells if lines[first].lstrip().startswith("{") else _table_cells
    rows = [_row(cells, f"{name}, line {line}") for line, cells in reader(lines, first, name)]
    if not rows:
        raise InputError(f"{name} has a header but no rows — add one row per line under it, e.g. {EXAMPLE}.")
    if len(rows) > MAX_ROWS:
        raise InputError(f"{name} has {len(rows):,} rows; the limit is {MAX_ROWS:,} — keep a sample of each label.")
    return rows


def _table_cells(lines: list[str], first: int, name: str):
    delimiter = "\t" if "\t" in lines[first] else ","
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader)]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise InputError(f"{name} has no {' or '.join(repr(c) for c in missing)} column (its header is "
                         f"{lines[first].strip()[:80]!r}) — start it with a header row 'sentence,word,label' "
                         "(optionally ',occurrence').")
    columns = {column: header.index(column) for column in (*COLUMNS, "occurrence") if column in header}
    for offset, row in enumerate(reader, start=1):
        if any(cell.strip() for cell in row):
            yield first + offset + 1, {column: row[index].strip() if index < len(row) else ""
                                       for column, index in columns.items()}


def _jsonl_cells(lines: list[str], first: int, name: str):
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{name}, line {number}, is not valid JSON ({error.msg}) — write one object per line, "
                             'e.g. {"sentence": "We should book a table.", "word": "book", "label": "verb"}') \
                from error
        if not isinstance(record, dict):
            raise InputError(f"{name}, line {number}, is not a JSON object — write "
                             '{"sentence": "…", "word": "…", "label": "…"} on each line.')
        missing = [key for key in COLUMNS if key not in record]
        if missing:
            raise InputError(f"{name}, line {number}, has no {' or '.join(repr(k) for k in missing)} key — every "
                             "object needs 'sentence', 'word' and 'label'.")
        yield number, {key: str(value).strip() for key, value in record.items()
                       if key in (*COLUMNS, "occurrence") and value is not None}


def _row(cells: dict[str, str], where: str) -> ProbeRow:
    for column in COLUMNS:
        if not cells.get(column):
            raise InputError(f"{where}, has no {column} — fill it in or remove the line.")
    raw = cells.get("occurrence") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise InputError(f"{where}: occurrence {raw!r} is not a whole number from 1 — write 1 for the word's first "
                         "occurrence in the sentence, 2 for the second, or leave it empty.")
    occurrence, sentence, word = int(raw), cells["sentence"], cells["word"]
    span = find_word(sentence, word, occurrence)
    if span is None:
        count = len(list(re.finditer(r"(?<!\w)" + re.escape(word) + r"(?!\w)", sentence, flags=re.IGNORECASE)))
        found = (f"it is not in the sentence {sentence!r} as a whole word" if count == 0 else
                 f"it occurs {count} time{'s' if count != 1 else ''} in the sentence, not {occurrence}")
        raise InputError(f"{where}: the word {word!r} cannot be probed — {found}. Write the word exactly as it "
                         "stands in its sentence (any case), or fix the occurrence.")
    return ProbeRow(sentence, word, cells["label"], span, where, occurrence)


def check_rows(rows: list[ProbeRow], *, folds: int, name: str = "The task") -> None:
    """The checks that depend on the folds: two labels or more, and at least ``folds`` rows of every label (each
    test fold holds rows of every label)."""
    counts = Counter(row.label for row in rows)
    if len(counts) < 2:
        label = next(iter(counts), "")
        raise InputError(f"{name} has one label only ({label!r} on every row) — a probe tells labels apart, so add "
                         "rows with a second label.")
    few = [(label, count) for label, count in counts.items() if count < folds]
    if few:
        label, count = min(few, key=lambda item: item[1])
        raise InputError(f"{name}: label {label!r} has {count} row{'s' if count != 1 else ''}, fewer than the "
                         f"{folds} folds — add rows of {label!r}, or use at most {count} folds.")


def list_probe_tasks() -> list[ProbeTask]:
    """The shipped tasks, by file name."""
    return [_task_header(path) for path in sorted(PROBES_DIR.glob("*.tsv"))]


def load_probe_task(key: str) -> tuple[ProbeTask, list[ProbeRow]]:
    """A shipped task and its rows; ``InputError`` naming the tasks that exist for an unknown key."""
    tasks = {task.key: task for task in list_probe_tasks()}
    if key not in tasks:
        raise InputError(f"There is no probing task '{key}' — pick one of: {', '.join(tasks)}.")
    task = tasks[key]
    return task, read_probe_rows(task.path.read_bytes(), name=f"Task '{key}'")


def _task_header(path: Path) -> ProbeTask:
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line.lstrip("# ").partition(":")
        fields[key.strip().lower()] = value.strip()
    return ProbeTask(path.stem, fields.get("title", path.stem), fields.get("property", "The label"),
                     fields.get("tests", ""), path)
