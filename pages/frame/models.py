"""Which model a page works on: the sidebar picker, the cache of loaded models shared by every session, this
session's fine-tuned copy and the switch between the two, and results shared across sessions."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

import mlm_core
from mlm_core import PRESETS, MaskedLM, MlmExplorerError
from mlm_core.cache import LruCache
from mlm_core.catalog import model_roots_from_environment
from pages.frame.ui import run_or_stop

CUSTOM = "custom"
MAX_MODELS_IN_MEMORY = int(os.environ.get("MLM_EXPLORER_MAX_MODELS", "2"))
BACKGROUND_COMPILE = os.environ.get("MLM_EXPLORER_BACKGROUND_COMPILE", "1") != "0"
MODEL_SPEC_KEY = "model_spec"
FINETUNED_KEY = "finetuned"  # this session's FinetuneResult
USE_FINETUNED_KEY = "use_finetuned"


def freeze_long_lived() -> None:
    """Move every object alive now (TensorFlow, the loaded models, the imported modules) out of the garbage
    collector's reach. Streamlit runs a full ``gc.collect()`` after every script run (``runner.postScriptGC``);
    with TensorFlow and a model loaded it walks ~550,000 objects holding the GIL (hundreds of ms), which
    serialises every user's page; frozen objects are skipped, so it only walks what pages made since."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _released(_mlm: MaskedLM) -> None:
    """An evicted model is frozen with the rest: unfreeze, and freeze again a moment later, when the cache no
    longer holds it, so that its reference cycles are collected first."""
    gc.unfreeze()
    threading.Timer(2.0, freeze_long_lived).start()


@st.cache_resource(max_entries=MAX_MODELS_IN_MEMORY, show_spinner=False, on_release=_released)
def _load_shared(spec: str) -> MaskedLM:
    mlm = mlm_core.load_model(spec, allowed_roots=model_roots())
    # Answer a shape's first request eagerly while it compiles (first prediction after a start ≈ 4 s sooner).
    mlm.forward.programs.compile_in_background = BACKGROUND_COMPILE
    freeze_long_lived()
    return mlm


def get_model(spec: str) -> MaskedLM:
    """One loaded model per spec, shared read-only by every session; at most MAX_MODELS_IN_MEMORY kept.
    Local folders only under the allowed roots, checked before the cache so a refused path is never served."""
    mlm_core.resolve_spec(spec, allowed_roots=model_roots())
    return _load_shared(spec)


def model_roots():
    """Where this server may load local model folders from (see SECURITY.md)."""
    return model_roots_from_environment(headless=bool(st.get_option("server.headless")))


_PRELOADED: set[str] = set()
_PRELOAD_LOCK = threading.Lock()


def preload(spec: str | None) -> None:
    """Start loading ``spec`` in the background the first time a page names it (the Home page too), so the next
    page finds it in the shared cache: the first visit after a server start no longer waits ~2 s for it. A page
    that needs the model meanwhile waits for the same load (Streamlit computes a cached value once). Only the
    server's default model is preloaded: a failed load is not cached, so a page would try a failing one twice."""
    with _PRELOAD_LOCK:
        if not spec or spec in _PRELOADED:
            return
        _PRELOADED.add(spec)

    def load() -> None:
        try:
            get_model(spec)
        except Exception:  # noqa: BLE001 — the page that uses the model loads it again and shows the error
            pass

    thread = threading.Thread(target=load, name="mlm-explorer-preload", daemon=True)
    add_script_run_ctx(thread, get_script_run_ctx())
    thread.start()


SHARED_RESULTS_KEPT = 512  # small results (words, values per word, curves; < 1 MB) of any sessions, LRU
SHARED_IMAGES_KEPT = 32  # large ones (a picture of every head: 50–500 KB each) in their own smaller pool
_SHARED_RESULTS: LruCache = LruCache(SHARED_RESULTS_KEPT)
_SHARED_IMAGES: LruCache = LruCache(SHARED_IMAGES_KEPT)


_KEY_LOCKS: dict[tuple, list] = {}  # key → [lock, callers holding or waiting]; one entry while anyone wants the key
_KEY_LOCKS_GUARD = threading.Lock()


@contextmanager
def _computing(key: tuple):
    """One caller at a time per key, so that a class opening the same page at once computes it once (as
    st.cache_data did) while other keys go ahead."""
    with _KEY_LOCKS_GUARD:
        entry = _KEY_LOCKS.setdefault(key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _KEY_LOCKS_GUARD:
            entry[1] -= 1
            if not entry[1]:
                del _KEY_LOCKS[key]


def shared_result(key: tuple, compute: Callable[[], Any], *, large: bool = False) -> Any:
    """The pages' one cache: a result every session may reuse, keyed by ``key`` = (what, model name, inputs…) and
    computed by ``compute`` on a miss, once even when several sessions ask at the same moment. Results must be
    immutable (every session gets the same object). Unlike st.cache_data it records nothing a computation draws,
    so a progress bar or the queue notice is never replayed into another session, and it needs no ``_mlm``
    argument trick. ``large`` keeps the result in the smaller pool of SHARED_IMAGES_KEPT entries, so a few
    pictures never push the small results out."""
    with _computing(key):
        return (_SHARED_IMAGES if large else _SHARED_RESULTS).get_or_compute(key, compute)


def _choice_label(choice: str) -> str:
    return "Other: hub id or folder…" if choice == CUSTOM else PRESETS[choice].label


def _model_from_link(default: str | None) -> str | None:
    """On arrival through a link with ``?model=``: that model if it loads, else a notice and the default."""
    linked = st.query_params.get("model")
    if not linked or linked == default:
        return default
    try:
        with st.spinner(f"Loading the link's model '{linked}'…"):
            get_model(linked)
        return linked
    except MlmExplorerError as error:
        st.warning(f"The link's model could not be loaded — {error} Showing the default model instead.")
        return default


def sidebar_model_picker() -> None:
    """Sidebar widgets that choose the model for every page; the choice is stored under ``MODEL_SPEC_KEY``."""
    default = mlm_core.default_model_spec()
    choices = list(PRESETS) + [CUSTOM]
    if "model_choice" not in st.session_state:  # first run of the session: the link's model, else the default
        start = _model_from_link(default)
        st.session_state["model_choice"] = start if start in PRESETS else CUSTOM
        st.session_state["model_custom"] = "" if start in PRESETS else start or ""
    with st.sidebar:
        st.header("Model")
        choice = st.selectbox(
            "Model",
            choices,
            format_func=_choice_label,
            key="model_choice",
            label_visibility="collapsed",
            help="Presets download from the Hugging Face hub the first time (internet needed); 'demo' works offline.",
        )
        if choice == CUSTOM:
            st.session_state.setdefault("model_custom", "")
            custom = st.text_input(
                "Hugging Face id or local folder",
                key="model_custom",
                placeholder="e.g. distilbert-base-uncased or /path/to/model",
            )
            spec = custom.strip()
        else:
            spec = choice
        st.session_state[MODEL_SPEC_KEY] = spec or None
        if spec == default:
            preload(spec)
        if default is None:
            st.caption(
                "No model is available offline yet: pick a preset (downloads once, needs internet) or give "
                "a local folder saved with save_pretrained()."
            )


def base_model() -> MaskedLM:
    """The model chosen in the sidebar, loaded (with a spinner) or an explanation and ``st.stop()``."""
    spec = st.session_state.get(MODEL_SPEC_KEY)
    if not spec:
        st.info(
            "Choose a model in the sidebar: a preset, a Hugging Face id (e.g. bert-base-uncased) or a local "
            "folder saved with save_pretrained()."
        )
        st.stop()
    with st.spinner(f"Loading model '{spec}' — the first load can take a minute…"):
        mlm = run_or_stop(get_model, spec)
    st.sidebar.caption(
        f"Loaded **{mlm.name}** · {mlm.num_layers} layers × {mlm.num_heads} heads · "
        f"up to {mlm.max_tokens} tokens · mask `{mlm.mask_token}`"
    )
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
    st.sidebar.toggle(
        "Use fine-tuned model",
        key="use_finetuned_toggle",
        on_change=lambda: use_finetuned(st.session_state["use_finetuned_toggle"]),
        help=f"'{tuned.name}', made on the Fine-tune page in this session, for every page.",
    )
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
    shown = st.segmented_control(
        "Model version",
        list(options),
        default="fine-tuned" if active is tuned else "base",
        key=f"version_switch::{tuned.name}",
        help="Compare the fine-tuned copy with the model it started from.",
    )
    return options[shown or "fine-tuned"]
