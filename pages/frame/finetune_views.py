"""The Fine-tune page's inputs kept outside its script: the text to learn from and the training settings."""

from __future__ import annotations

import streamlit as st

from mlm_core.training.finetune_plan import FINETUNE_PARAMS, MAX_TEXT_MB, FinetuneSettings, read_text_file
from pages.frame.ui import run_or_stop

LEARNING_RATES = [1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2e-4, 5e-4]
EXAMPLE = (
    "Paste a few paragraphs here — the more text, the better the model learns its words and habits. "
    "A page of notes, a chapter of a book or a set of reports all work."
)


def read_input_text() -> tuple[str | None, str]:
    """The text to train on and a short name for it, or (None, "") while there is none."""
    source = st.radio(
        "Text to learn from", ["Upload a .txt file", "Paste text"], horizontal=True, key="finetune_source"
    )
    if source == "Paste text":
        pasted = st.text_area("Text", key="finetune_text", height=180, placeholder=EXAMPLE)
        return (pasted, "pasted text") if pasted.strip() else (None, "")
    uploaded = st.file_uploader(f"Plain-text file (UTF-8, at most {MAX_TEXT_MB} MB)", type=["txt"], key="finetune_file")
    if uploaded is None:
        return None, ""
    return run_or_stop(read_text_file, uploaded.getvalue(), name=f"'{uploaded.name}'"), uploaded.name


def widget_range(name: str) -> tuple:
    return FINETUNE_PARAMS[name].widget_range


def choose_settings(max_tokens: int) -> FinetuneSettings:
    with st.expander("Training settings", expanded=False):
        left, middle, right = st.columns(3)
        epochs = left.number_input("Epochs (passes over the text)", *widget_range("epochs"), 2, key="finetune_epochs")
        max_steps = left.number_input(
            "At most this many steps",
            *widget_range("max_steps"),
            300,
            step=50,
            key="finetune_max_steps",
            help="Caps the run whatever the number of epochs.",
        )
        learning_rate = middle.select_slider(
            "Learning rate", LEARNING_RATES, value=5e-5, key="finetune_lr", format_func=lambda v: f"{v:g}"
        )
        batch_size = middle.select_slider(
            "Batch size (blocks per step)", [1, 2, 4, 8, 16, 32], value=8, key="finetune_batch"
        )
        lengths = [n for n in (32, 64, 128, 256, 512) if n <= max_tokens]
        block_length = right.select_slider(
            "Block length (tokens)", lengths, value=min(64, lengths[-1]), key="finetune_block"
        )
        mask_probability = right.slider(
            "Share of words masked", *widget_range("mask_probability"), 0.15, 0.01, key="finetune_mask"
        )
        validation_share = right.slider(
            "Share kept for validation",
            *widget_range("validation_share"),
            0.1,
            0.05,
            key="finetune_val",
            help="Taken from the end of the text and never trained on.",
        )
    return FinetuneSettings(
        epochs=int(epochs),
        learning_rate=float(learning_rate),
        batch_size=int(batch_size),
        block_length=int(block_length),
        mask_probability=float(mask_probability),
        validation_share=float(validation_share),
        max_steps=int(max_steps),
    )
