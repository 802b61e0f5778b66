"""What every page shares: the sidebar model picker, the model cache, and turning core errors into messages.

The only Streamlit-facing glue around ``mlm_core``; pages import from here.
"""

from __future__ import annotations

import os

import streamlit as st

import mlm_core
from mlm_core import MaskedLM, MlmExplorerError, PRESETS

CUSTOM = "custom"
MAX_MODELS_IN_MEMORY = int(os.environ.get("MLM_EXPLORER_MAX_MODELS", "2"))
MODEL_SPEC_KEY = "model_spec"
FINETUNED_KEY = "finetuned"  # this session's FinetuneResult
USE_FINETUNED_KEY = "use_finetuned"


@st.cache_resource(max_entries=MAX_MODELS_IN_MEMORY, show_spinner=False)
def get_model(spec: str) -> MaskedLM:
    """One loaded model per spec, shared read-only by every session; at most MAX_MODELS_IN_MEMORY kept."""
    return mlm_core.load_model(spec)


def _choice_label(choice: str) -> str:
    return "Other: hub id or folder…" if choice == CUSTOM else PRESETS[choice].label


def sidebar_model_picker() -> None:
    """Sidebar widgets that choose the model for every page; the choice is stored under ``MODEL_SPEC_KEY``."""
    default = mlm_core.default_model_spec()
    choices = list(PRESETS) + [CUSTOM]
    default_choice = default if default in PRESETS else CUSTOM
    with st.sidebar:
        st.header("Model")
        choice = st.selectbox("Model", choices, index=choices.index(default_choice), format_func=_choice_label,
                              key="model_choice", label_visibility="collapsed",
                              help="Presets download from the Hugging Face hub the first time (internet needed); "
                                   "'demo' works offline.")
        if choice == CUSTOM:
            custom = st.text_input("Hugging Face id or local folder", value="" if default in PRESETS else default or "",
                                   key="model_custom", placeholder="e.g. distilbert-base-uncased or /path/to/model")
            spec = custom.strip()
        else:
            spec = choice
        st.session_state[MODEL_SPEC_KEY] = spec or None
        if default is None:
            st.caption("No model is available offline yet: pick a preset (downloads once, needs internet) or give "
                       "a local folder saved with save_pretrained().")


def base_model() -> MaskedLM:
    """The model chosen in the sidebar, loaded (with a spinner) or an explanation and ``st.stop()``."""
    spec = st.session_state.get(MODEL_SPEC_KEY)
    if not spec:
        st.info("Choose a model in the sidebar: a preset, a Hugging Face id (e.g. bert-base-uncased) or a local "
                "folder saved with save_pretrained().")
        st.stop()
    with st.spinner(f"Loading model '{spec}' — the first load can take a minute…"):
        mlm = run_or_stop(get_model, spec)
    st.sidebar.caption(f"Loaded **{mlm.name}** · {mlm.num_layers} layers × {mlm.num_heads} heads · "
                       f"up to {mlm.max_tokens} tokens · mask `{mlm.mask_token}`")
    return mlm


def finetuned_version(base: MaskedLM) -> MaskedLM | None:
    """This session's fine-tuned copy of ``base``, if the Fine-tune page made one."""
    result = st.session_state.get(FINETUNED_KEY)
    return result.model if result is not None and result.base_name == base.name else None


def use_finetuned(value: bool = True) -> None:
    st.session_state[USE_FINETUNED_KEY] = value


def _sidebar_finetuned_switch(tuned: MaskedLM) -> bool:
    # The toggle mirrors a plain session key: widget state is dropped on pages that do not draw the widget.
    st.session_state.setdefault(USE_FINETUNED_KEY, False)
    st.session_state["use_finetuned_toggle"] = st.session_state[USE_FINETUNED_KEY]
    st.sidebar.toggle("Use fine-tuned model", key="use_finetuned_toggle",
                      on_change=lambda: use_finetuned(st.session_state["use_finetuned_toggle"]),
                      help=f"'{tuned.name}', made on the Fine-tune page in this session, for every page.")
    return bool(st.session_state[USE_FINETUNED_KEY])


def model_versions() -> tuple[MaskedLM, MaskedLM | None, MaskedLM]:
    """(base, fine-tuned copy or None, the one in use): the sidebar's model, this session's fine-tuned copy of
    it (made on the Fine-tune page), and whichever the sidebar switch selects."""
    base = base_model()
    tuned = finetuned_version(base)
    if tuned is None:
        return base, None, base
    active = tuned if _sidebar_finetuned_switch(tuned) else base
    st.sidebar.caption(f"In use: **{active.name}**")
    return base, tuned, active


def current_model(*, allow_switch: bool = False) -> MaskedLM:
    """The model a page works on. With ``allow_switch``, a page whose model has a fine-tuned copy shows a switch
    between the two versions on top of it (the before-vs-after view of Attention, Embeddings and Explain)."""
    base, tuned, active = model_versions()
    if tuned is None or not allow_switch:
        return active
    options = {"fine-tuned": tuned, "base": base}
    shown = st.segmented_control("Model version", list(options), default="fine-tuned" if active is tuned else "base",
                                 key=f"version_switch::{tuned.name}",
                                 help="Compare the fine-tuned copy with the model it started from.")
    return options[shown or "fine-tuned"]


def run_or_stop(function, *args, **kwargs):
    """Call a core function; show a user error as ``st.error`` and stop the page instead of a traceback."""
    try:
        return function(*args, **kwargs)
    except MlmExplorerError as error:
        st.error(str(error))
        st.stop()


def run_or_notice(function, *args, **kwargs):
    """For an optional part of a page: show a user error as ``st.info`` and return None; the page goes on."""
    try:
        return function(*args, **kwargs)
    except MlmExplorerError as error:
        st.info(str(error))
        return None
