"""Small things every page draws the same way: core errors as messages, download names, colours, tables."""

from __future__ import annotations

import re

import streamlit as st

from mlm_core import MlmExplorerError

DEFAULT_TEXT = "The cat sat on the [MASK] and looked around."  # the sentence a page starts with


def run_or_stop(function, *args, **kwargs):
    """Call a core function; show a user error as ``st.error`` and stop the page instead of a traceback."""
    try:
        return function(*args, **kwargs)
    except MlmExplorerError as error:
        st.error(str(error))
        st.stop()


def queued(ahead: int, seconds: float):
    """What a user sees when their request has waited for the model more than ~2 s (``mlm_core.turns``): how many
    requests are ahead and roughly how long; the notice goes when their turn comes (the returned function)."""
    box = st.empty()
    box.info(
        f"The model is busy with other people's requests: yours is queued behind {ahead} "
        f"(about {max(1, round(seconds))} s).",
        icon="⏳",
    )
    return box.empty


def run_or_error(function, *args, **kwargs):
    """For a part of a page that a user input can refuse: show the error as ``st.error``, return None, go on."""
    return _run_or_show(st.error, function, *args, **kwargs)


def run_or_notice(function, *args, **kwargs):
    """For an optional part of a page: show a user error as ``st.info`` and return None; the page goes on."""
    return _run_or_show(st.info, function, *args, **kwargs)


def _run_or_show(show, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except MlmExplorerError as error:
        show(str(error))
        return None


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
