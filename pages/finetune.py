"""Fine-tune: teach a copy of the model the user's text, watch it learn, compare before and after."""

import shutil
import time
import uuid
from pathlib import Path

import streamlit as st

from mlm_core.training.finetune import FinetuneSettings, measure_step, plan_finetune, progress_frame
from mlm_core.training.jobs import FinetuneJob, batch_note, folder_zip, new_workspace, plan_line, result_lines
from pages.charts.finetune import loss_chart
from pages.frame.finetune_views import choose_settings, read_input_text
from pages.frame.links import publish_view
from pages.frame.models import FINETUNED_KEY, USE_FINETUNED_KEY, model_versions, shared_result, use_finetuned
from pages.frame.routing import require_router
from pages.frame.ui import as_table, run_or_stop, slug

require_router()

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


def follow_job(job: FinetuneJob) -> None:
    """Redraw the progress until the job ends (a click elsewhere interrupts this loop, not the training)."""
    st.button(
        "Stop — keep what is trained so far",
        key="finetune_stop",
        on_click=job.stop,
        type="primary",
        disabled=job.stopping,
    )
    bar, status, chart = st.progress(0.0), st.empty(), st.empty()
    while True:
        progress = job.status()
        bar.progress(progress.fraction, text=progress.line)
        if progress.detail is not None:
            status.caption(progress.detail)
            chart.altair_chart(loss_chart(progress_frame(job.progress)), width="stretch")
        if job.done:
            break
        time.sleep(0.4)
    st.rerun()


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


st.title("Fine-tune the model on your text")
st.write(
    "Teach a **copy** of the model your own text with masked-word training, watch it learn, and see what "
    "changed. The model everyone else uses stays as it is."
)

job = st.session_state.get(JOB_KEY)
running = job is not None and not job.done
if job is not None and job.done and job.result is not None and st.session_state.get(FINETUNED_KEY) is not job.result:
    st.session_state[FINETUNED_KEY] = job.result  # before the sidebar is drawn, so its switch appears at once
base, _, _ = model_versions()
publish_view("finetune")
text, text_name = read_input_text()
settings = choose_settings(base.max_tokens)
if text is not None:
    plan = run_or_stop(plan_finetune, base, text, settings)
    with st.spinner("Timing one training step on this machine…"):
        timing = shared_result(
            ("finetune-step", base.name, plan.batch_size, settings.block_length), lambda: measure_step(base, plan)
        )
    st.write(plan_line(base.name, plan, timing))
    if batch_note(plan, settings) is not None:
        st.caption(batch_note(plan, settings))
    st.button(
        "Start fine-tuning",
        type="primary",
        key="finetune_start",
        disabled=running,
        on_click=start_job,
        args=(base, text, text_name, settings),
    )
elif not running:
    st.info("Upload a .txt file or paste text to start.")

if running:
    st.subheader(f"Fine-tuning a copy of {job.mlm.name}")
    follow_job(job)
elif job is not None:
    if job.error is not None:
        st.error(job.error_message)
    elif job.result.base_name != base.name:
        st.warning(f"Your last fine-tune started from {job.result.base_name}; choose it in the sidebar to see it.")
    else:
        show_result(job.result)
