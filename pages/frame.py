"""What every page shares: the sidebar model picker, the model cache, and turning core errors into messages.

The only Streamlit-facing glue around ``mlm_core``; pages import from here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode

import streamlit as st

import mlm_core
from mlm_core import MaskedLM, MlmExplorerError, PRESETS
from mlm_core.catalog import model_roots_from_environment
from mlm_core.model import LruCache

CUSTOM = "custom"
MAX_MODELS_IN_MEMORY = int(os.environ.get("MLM_EXPLORER_MAX_MODELS", "2"))
MODEL_SPEC_KEY = "model_spec"
FINETUNED_KEY = "finetuned"  # this session's FinetuneResult
USE_FINETUNED_KEY = "use_finetuned"


@st.cache_resource(max_entries=MAX_MODELS_IN_MEMORY, show_spinner=False)
def _load_shared(spec: str) -> MaskedLM:
    return mlm_core.load_model(spec, allowed_roots=model_roots())


def get_model(spec: str) -> MaskedLM:
    """One loaded model per spec, shared read-only by every session; at most MAX_MODELS_IN_MEMORY kept.
    Local folders only under the allowed roots, checked before the cache so a refused path is never served."""
    mlm_core.resolve_spec(spec, allowed_roots=model_roots())
    return _load_shared(spec)


def model_roots():
    """Where this server may load local model folders from (see SECURITY.md)."""
    return model_roots_from_environment(headless=bool(st.get_option("server.headless")))


_SHARED_RESULTS: LruCache = LruCache(128)


def shared_result(key: tuple, compute: Callable[[], Any]) -> Any:
    """A result every session may reuse (immutable, keyed by model name and inputs), for computations that draw
    progress while they run — st.cache_data would replay those drawing calls into other sessions."""
    return _SHARED_RESULTS.get_or_compute(key, compute)


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
        choice = st.selectbox("Model", choices, format_func=_choice_label, key="model_choice",
                              label_visibility="collapsed",
                              help="Presets download from the Hugging Face hub the first time (internet needed); "
                                   "'demo' works offline.")
        if choice == CUSTOM:
            st.session_state.setdefault("model_custom", "")
            custom = st.text_input("Hugging Face id or local folder", key="model_custom",
                                   placeholder="e.g. distilbert-base-uncased or /path/to/model")
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


@dataclass(frozen=True)
class Linked:
    """A widget whose value lives in the URL as ``?param=…`` so that a copied address reproduces the view."""

    key: str
    param: str
    default: Any
    parse: Callable[[str], Any] = str
    valid: Callable[[Any], bool] = lambda value: True
    dump: Callable[[Any], str] = str


MAX_LINKED_TEXT = 2000  # characters; longer texts are left out of links (browsers and proxies cap URL length)


def linked_int(key: str, param: str, default: int, low: int, high: int) -> Linked:
    return Linked(key, param, default, int, lambda value: low <= value <= high)


def linked_choice(key: str, param: str, default: Any, options: list) -> Linked:
    by_text = {str(option): option for option in options}
    return Linked(key, param, default, lambda raw: by_text[raw], lambda value: value in options)


def linked_flag(key: str, param: str, default: bool) -> Linked:
    return Linked(key, param, default, lambda raw: {"1": True, "0": False}[raw], lambda value: isinstance(value, bool),
                  lambda value: str(int(value)))


def linked_text(key: str, param: str, default: str) -> Linked:
    return Linked(key, param, default, valid=lambda value: isinstance(value, str))


def link_widgets(fields: list[Linked]) -> None:
    """Call before drawing the widgets: the first time a widget appears in a session it starts from the URL's
    value when that is valid (else its default, with a notice), later from what the user set. Widgets must then
    be drawn without ``value=``/``index=``: their state already holds it."""
    for field in fields:
        if field.key in st.session_state:
            if not _holds(field, st.session_state[field.key]):  # e.g. layer 12 after switching to a 6-layer model
                st.session_state[field.key] = field.default
            continue
        value, raw = field.default, st.query_params.get(field.param)
        if raw is not None:
            try:
                parsed = field.parse(raw)
                accepted = field.valid(parsed)
            except (ValueError, TypeError, KeyError):
                accepted = False
            if accepted:
                value = parsed
            else:
                shown = raw if len(raw) <= 40 else raw[:40] + "…"
                st.warning(f"The link's {field.param}={shown!r} does not fit here — showing the default "
                           f"({field.dump(field.default)}) instead.")
        st.session_state[field.key] = value


def _holds(field: Linked, value: Any) -> bool:
    try:
        return bool(field.valid(value))
    except (ValueError, TypeError):
        return False


def view_params(page: str, fields: list[Linked]) -> dict[str, str]:
    params = {"page": page}
    spec = st.session_state.get(MODEL_SPEC_KEY)
    if spec:
        params["model"] = spec
    for field in fields:
        value = st.session_state.get(field.key)
        if value is not None and value != field.default:
            text = field.dump(value)
            if len(text) <= MAX_LINKED_TEXT:
                params[field.param] = text
    return params


def publish_view(page: str, fields: list[Linked] = ()) -> None:
    """Write the page, the model and the linked widgets' values into the address bar, and offer the link."""
    params = view_params(page, list(fields))
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    base = (st.context.url or "").split("?")[0]
    with st.sidebar.popover("Link to this view", icon=":material/link:", width="stretch"):
        st.caption("Anyone who opens this address sees this page with the same model, text and settings. "
                   "Copy it with the button at the right of the box.")
        st.code(f"{base}?{urlencode(params)}", language=None, wrap_lines=True)


def slug(text: str, limit: int = 32) -> str:
    """A short file-name-safe form of a text or model name ('The cat sat on the [MASK].' → 'the-cat-sat-on-the-mask');
    a model path or hub id keeps its last part."""
    words = re.sub(r"[^\w]+", "-", text.lower().split("/")[-1] if "/" in text and " " not in text else text.lower())
    return words.strip("-_")[:limit].strip("-_") or "text"


def download_name(kind: str, model_name: str, text: str, extension: str) -> str:
    """File names say what, from which model and which text: 'predictions-demo-the-cat-sat-on-the-mask.csv'."""
    return f"{kind}-{slug(model_name, 40)}-{slug(text)}.{extension}"


# Okabe & Ito's palette: distinguishable with the common kinds of colour blindness.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def as_table(frame, what: str, **dataframe_options) -> None:
    """The numbers behind a chart, for screen readers and anyone who prefers a table."""
    with st.expander(f"{what} as a table"):
        st.dataframe(frame, hide_index=True, width="stretch", **dataframe_options)
