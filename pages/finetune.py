"""Fine-tune: teach a copy of the model the user's text, watch it learn, compare before and after."""

import time

import streamlit as st

from mlm_core.training.finetune import measure_step, progress_frame
from mlm_core.training.finetune_plan import plan_finetune
from mlm_core.training.jobs import FinetuneJob, batch_note, plan_line
from pages.charts.finetune import loss_chart
from pages.frame.finetune_views import JOB_KEY, choose_settings, read_input_text, show_result, start_job
from pages.frame.links import publish_view
from pages.frame.models import FINETUNED_KEY, model_versions, shared_result
from pages.frame.routing import require_router
from pages.frame.ui import run_or_stop

require_router()


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
