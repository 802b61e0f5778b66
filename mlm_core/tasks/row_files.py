"""One reader for the row files users upload (sentence pairs, bias pairs, probing rows): CSV or TSV with a header,
or JSONL; what differs between the kinds of file is data (``RowFormat``), the reading and its checks are written once.

Lines that start with ``#`` before the data are comments (the shipped files describe themselves there). A table's
delimiter is a tab when its header holds one, else a comma; its other columns are ignored. Every problem raises one
``InputError`` naming the file, the line and the fix, before anything is computed. The row's own checks (a missing
sentence, a bad value) stay with each kind of file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ..errors import InputError
from ..files import decode_upload

T = TypeVar("T")


@dataclass(frozen=True)
class JsonlFormat:
    """How a kind of file reads as JSONL. ``example`` and ``template`` go into the messages for a line that is not
    JSON or not an object; ``missing_keys``, when set, is the fix for an object without every required key;
    ``text_only``, when set, refuses values that are not text (else they are turned into text)."""

    example: str
    template: str
    missing_keys: str | None = None
    text_only: str | None = None


@dataclass(frozen=True)
class RowFormat:
    """A kind of row file: its columns, its limit, and the fix each message gives.

    ``noun`` names the rows ("pairs"); ``wanted`` describes a usable file (for a binary or mis-encoded upload);
    ``no_data``, ``no_rows``, ``too_many`` and ``header`` are the fixes for a file without data, a header without
    rows, too many rows, and a header without a required column; ``jsonl`` is None for a table-only kind."""

    noun: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    limit: int
    wanted: str
    no_data: str
    no_rows: str
    too_many: str
    header: str
    jsonl: JsonlFormat | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


def read_rows(
    data: bytes, form: RowFormat, build: Callable[[int, dict[str, str]], T], *, name: str = "The file"
) -> list[T]:
    """Every non-blank row of an uploaded file, made by ``build(line number, cells)`` (the format's columns, stripped
    text) as it is read, so a bad row is reported where it stands; ``InputError`` for a file that is not text, has no
    data, lacks a column, or has too many rows."""
    text = decode_upload(data, name=name, wanted=form.wanted)
    lines = text.splitlines()
    first = next((number for number, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if first is None:
        raise InputError(f"{name} has no {form.noun} — {form.no_data}")
    jsonl = form.jsonl is not None and lines[first].lstrip().startswith("{")
    cells = (_jsonl_cells if jsonl else _table_cells)(lines, first, name, form)
    rows = [build(line, row) for line, row in cells]
    if not rows:
        raise InputError(f"{name} has a header but no {form.noun} — {form.no_rows}")
    if len(rows) > form.limit:
        raise InputError(f"{name} has {len(rows):,} {form.noun}; the limit is {form.limit:,} — {form.too_many}")
    return rows


def _table_cells(lines: list[str], first: int, name: str, form: RowFormat) -> Iterator[tuple[int, dict[str, str]]]:
    delimiter = "\t" if "\t" in lines[first] else ","
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader)]
    missing = [column for column in form.required if column not in header]
    if missing:
        raise InputError(
            f"{name} has no {' or '.join(repr(c) for c in missing)} column (its header is "
            f"{lines[first].strip()[:80]!r}) — {form.header}"
        )
    columns = {column: header.index(column) for column in form.columns if column in header}
    for row in reader:
        if any(cell.strip() for cell in row):
            yield (
                first + reader.line_num,
                {column: row[index].strip() if index < len(row) else "" for column, index in columns.items()},
            )


def _jsonl_cells(lines: list[str], first: int, name: str, form: RowFormat) -> Iterator[tuple[int, dict[str, str]]]:
    jsonl = form.jsonl
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(
                f"{name}, line {number}, is not valid JSON ({error.msg}) — write one object per line, "
                f"e.g. {jsonl.example}"
            ) from error
        if not isinstance(record, dict):
            raise InputError(f"{name}, line {number}, is not a JSON object — write {jsonl.template} on each line.")
        missing = [key for key in form.required if key not in record]
        if jsonl.missing_keys and missing:
            raise InputError(
                f"{name}, line {number}, has no {' or '.join(repr(k) for k in missing)} key — {jsonl.missing_keys}"
            )
        cells = {key: record[key] for key in form.columns if key in record and record[key] is not None}
        if jsonl.text_only and any(not isinstance(value, str) for value in cells.values()):
            raise InputError(f"{name}, line {number}: {jsonl.text_only}")
        yield number, {key: str(value).strip() for key, value in cells.items()}
