"""Choices several pages make the same way: rows from a shipped file or an upload (Score, Bias, Probe), and a
second model to compare with (Score, Bias)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from pages.frame.models import get_model
from pages.frame.ui import run_or_stop


@dataclass(frozen=True)
class FileChoice:
    """How a page offers its shipped files (suites, tasks) and uploads: widget keys and labels as data.
    ``options`` labels the radio's two values (the shipped one first, then "upload")."""

    prefix: str  # widget keys: <prefix>_source, <prefix>_file, <prefix>_<shipped>
    label: str  # the radio's label, e.g. "Pairs from"
    options: dict[str, str]
    upload_label: str
    upload_types: tuple[str, ...]
    upload_notice: str  # shown while nothing is uploaded
    read: Callable[..., list]  # read(data, name=...) → rows
    shipped_label: str  # the selectbox's label, e.g. "Suite"
    listing: Callable[[], list]  # shipped files, each with .key, .title, .tests
    load: Callable[[str], tuple[Any, list]]  # key → (the file's header, its rows)
    title: Callable[[Any], str]  # a shipped file's label in the selectbox
    noun: str  # what the rows are, e.g. "pairs"


@dataclass(frozen=True)
class Chosen:
    """The rows a user chose: ``source`` identifies them (for caches), ``name`` names them (for downloads);
    ``header`` is the shipped file's header, None for an upload."""

    source: str
    name: str
    rows: list
    header: Any = None


def chosen_rows(choice: FileChoice) -> Chosen:
    """The radio between a shipped file and an upload, then the selectbox or the uploader; a file the reader
    refuses is shown as an error and stops the page, as is an upload not made yet (with a notice)."""
    shipped = next(iter(choice.options))
    source = st.radio(
        choice.label,
        list(choice.options),
        horizontal=True,
        key=f"{choice.prefix}_source",
        format_func=choice.options.get,
    )
    if source == "upload":
        uploaded = st.file_uploader(choice.upload_label, type=list(choice.upload_types), key=f"{choice.prefix}_file")
        if uploaded is None:
            st.info(choice.upload_notice)
            st.stop()
        data = uploaded.getvalue()
        rows = run_or_stop(choice.read, data, name=f"'{uploaded.name}'")
        return Chosen(f"upload:{hashlib.sha256(data).hexdigest()}", uploaded.name, rows)
    files = {entry.key: entry for entry in choice.listing()}
    key = st.selectbox(
        choice.shipped_label,
        list(files),
        key=f"{choice.prefix}_{shipped}",
        format_func=lambda k: choice.title(files[k]),
    )
    header, rows = run_or_stop(choice.load, key)
    st.caption(f"{header.tests} {len(rows)} {choice.noun}, written for MLM Explorer.")
    return Chosen(f"{shipped}:{key}", key, rows, header)


def second_model(base, tuned, active, *, prefix: str, help: str, options: dict[str, str] | None = None):
    """The optional model to compare with: the other version of this model (base or fine-tuned), or any model spec.
    Without ``options`` the other version is offered only when there is one, named; with them (fixed choices, for a
    deep link) choosing it while there is none says how to make one."""
    other = base if active is tuned else tuned
    if options is None:
        options = {"none": "Nothing"}
        if other is not None:
            options["other"] = f"{'the base model' if other is base else 'your fine-tuned copy'} ({other.name})"
        options["spec"] = "Another model…"
    choice = st.selectbox("Compare with", list(options), format_func=options.get, key=f"{prefix}_compare", help=help)
    if choice == "other":
        if other is None:
            st.caption("There is no other version yet: fine-tune a copy on the Fine-tune page.")
        return other
    if choice == "spec":
        spec = st.text_input(
            "Model to compare with",
            key=f"{prefix}_compare_spec",
            placeholder="a preset (e.g. demo), a Hugging Face id or an allowed folder",
        ).strip()
        if spec:
            with st.spinner(f"Loading '{spec}'…"):
                return run_or_stop(get_model, spec)
    return None
