"""The Fine-tune page's parts kept outside its script: the text to learn from, the training settings, starting
this session's job, and its result."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import streamlit as st

from mlm_core.training.finetune import progress_frame
from mlm_core.training.finetune_plan import FINETUNE_PARAMS, MAX_TEXT_MB, FinetuneSettings, read_text_file
from mlm_core.training.jobs import FinetuneJob, folder_zip, new_workspace, result_lines
from pages.charts.finetune import loss_chart
from pages.frame.models import FINETUNED_KEY, USE_FINETUNED_KEY, use_finetuned
from pages.frame.ui import as_table, run_or_stop, slug

JOB_KEY = "finetune_job"
FOLDER_KEY = "finetune_folder"  # a TemporaryDirectory: removed when the session ends (or the server stops)


def session_folder() -> Path:
    if FOLDER_KEY not in st.session_state:
        st.session_state[FOLDER_KEY] = new_workspace()
    return Path(st.session_state[FOLDER_KEY].name)


def start_job(base, text: str, text_name: str, settings: FinetuneSettings) -> None:
    folder = session_folder()
    for old in folder.iterdir():  # one fine-tuned model per session on disk
        shutil.rmtree(old, ignore_errors=True)
    run_id = uuid.uuid4().hex[:6]
    name = f"{base.name} · fine-tuned on {text_name} ({run_id})"
    out_dir = folder / f"{slug(base.name, 40)}-finetuned-on-{slug(text_name, 24)}-{run_id}"
    st.session_state[JOB_KEY] = FinetuneJob(base, text, settings, out_dir=out_dir, name=name).start()
    st.session_state.pop(FINETUNED_KEY, None)
    use_finetuned(False)


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


def show_result(result) -> None:
    st.subheader("Before and after, on the validation text")
    measured, trained = result_lines(result)
    st.caption(measured)
    columns = st.columns(3)
    columns[0].metric(
        "Perplexity (lower is better)",
        f"{result.after.perplexity:.1f}",
        f"{result.after.perplexity - result.before.perplexity:+.1f} from {result.before.perplexity:.1f}",
        delta_color="inverse",
    )
    columns[1].metric(
        "Top-1 accuracy", f"{result.after.top1:.1%}", f"{100 * (result.after.top1 - result.before.top1):+.1f} points"
    )
    columns[2].metric(
        "Top-5 accuracy", f"{result.after.top5:.1%}", f"{100 * (result.after.top5 - result.before.top5):+.1f} points"
    )
    st.dataframe(
        result.comparison_frame(),
        hide_index=True,
        width="content",
        column_config={
            "before": st.column_config.NumberColumn(format="%.4f"),
            "after": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    st.caption(trained)
    curve = progress_frame(st.session_state[JOB_KEY].progress)
    st.altair_chart(loss_chart(curve), width="stretch")
    as_table(curve, "The loss curve")

    st.subheader("Use it")
    if st.session_state.get(USE_FINETUNED_KEY):
        st.success(
            f"**{result.model.name}** is in use on every page. Predict shows it next to the base model; "
            "Attention, Embeddings and Explain have a switch between the two. Switch back in the sidebar."
        )
    else:
        st.button("Use the fine-tuned model on every page", on_click=use_finetuned, type="primary", key="finetune_use")
    st.download_button(
        "Download the fine-tuned model (zip, save_pretrained format)",
        data=lambda: folder_zip(result.out_dir),
        file_name=f"{result.out_dir.name}.zip",
        mime="application/zip",
        key="finetune_download",
        on_click="ignore",
    )
    st.caption(
        "Unzip it and give the folder to MLM Explorer (sidebar → Other) or to transformers' "
        "from_pretrained(). The copy on this server is deleted when your session ends."
    )
