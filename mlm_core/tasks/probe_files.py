"""Probing tasks from files: uploaded CSV, TSV or JSONL, and the tasks shipped in ``mlm_core/probes``.

A file holds rows (sentence, word, label[, occurrence]): CSV or TSV with a header row naming the columns
``sentence``, ``word`` and ``label`` (``occurrence`` optional: 2 probes the word's second whole-word occurrence), or
JSONL with one ``{"sentence": …, "word": …, "label": …}`` object per line. Lines that start with ``#`` before the
data are comments (the shipped tasks describe themselves there). Every problem raises one ``InputError`` naming the
file, the line and the fix, before any model runs; ``check_rows`` adds the checks that depend on the folds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .row_files import JsonlFormat, RowFormat, read_rows

PROBES_DIR = Path(__file__).resolve().parents[1] / "probes"
MAX_ROWS = 5_000
COLUMNS = ("sentence", "word", "label")
EXAMPLE = "'We should book a table.,book,verb'"
PROBE_FILES = RowFormat(
    "rows",
    COLUMNS,
    ("occurrence",),
    MAX_ROWS,
    wanted="a CSV, TSV or JSONL file of probing rows (header 'sentence,word,label' and optionally 'occurrence')",
    no_data=f"write one row per line under a header row 'sentence,word,label', e.g. {EXAMPLE}.",
    no_rows=f"add one row per line under it, e.g. {EXAMPLE}.",
    too_many="keep a sample of each label.",
    header="start it with a header row 'sentence,word,label' (optionally ',occurrence').",
    jsonl=JsonlFormat(
        '{"sentence": "We should book a table.", "word": "book", "label": "verb"}',
        '{"sentence": "…", "word": "…", "label": "…"}',
        missing_keys="every object needs 'sentence', 'word' and 'label'.",
    ),
)


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
    return read_rows(data, PROBE_FILES, lambda line, cells: _row(cells, f"{name}, line {line}"), name=name)


def _row(cells: dict[str, str], where: str) -> ProbeRow:
    for column in COLUMNS:
        if not cells.get(column):
            raise InputError(f"{where}, has no {column} — fill it in or remove the line.")
    raw = cells.get("occurrence") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise InputError(
            f"{where}: occurrence {raw!r} is not a whole number from 1 — write 1 for the word's first "
            "occurrence in the sentence, 2 for the second, or leave it empty."
        )
    occurrence, sentence, word = int(raw), cells["sentence"], cells["word"]
    span = find_word(sentence, word, occurrence)
    if span is None:
        count = len(list(re.finditer(r"(?<!\w)" + re.escape(word) + r"(?!\w)", sentence, flags=re.IGNORECASE)))
        found = (
            f"it is not in the sentence {sentence!r} as a whole word"
            if count == 0
            else f"it occurs {count} time{'s' if count != 1 else ''} in the sentence, not {occurrence}"
        )
        raise InputError(
            f"{where}: the word {word!r} cannot be probed — {found}. Write the word exactly as it "
            "stands in its sentence (any case), or fix the occurrence."
        )
    return ProbeRow(sentence, word, cells["label"], span, where, occurrence)


def check_rows(rows: list[ProbeRow], *, folds: int, name: str = "The task") -> None:
    """The checks that depend on the folds: two labels or more, and at least ``folds`` rows of every label (each
    test fold holds rows of every label)."""
    counts = Counter(row.label for row in rows)
    if len(counts) < 2:
        label = next(iter(counts), "")
        raise InputError(
            f"{name} has one label only ({label!r} on every row) — a probe tells labels apart, so add "
            "rows with a second label."
        )
    few = [(label, count) for label, count in counts.items() if count < folds]
    if few:
        label, count = min(few, key=lambda item: item[1])
        raise InputError(
            f"{name}: label {label!r} has {count} row{'s' if count != 1 else ''}, fewer than the "
            f"{folds} folds — add rows of {label!r}, or use at most {count} folds."
        )


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
    return ProbeTask(
        path.stem, fields.get("title", path.stem), fields.get("property", "The label"), fields.get("tests", ""), path
    )
