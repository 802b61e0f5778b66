"""Deep links: each page's model, text and settings live in the address, so a copied link reproduces the view.

Pages declare their linked widgets (``Linked``); ``link_widgets`` fills them from the URL on arrival and
``publish_view`` writes them back every run. Integer bounds come from the core's constraint tables
(``linked_interval``), the same ones the widgets and the core's checks use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from mlm_core.params import Interval
from pages.frame.models import MODEL_SPEC_KEY


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


def linked_interval(key: str, param: str, default: int, interval: Interval) -> Linked:
    """An int setting whose link accepts what its widget offers: the constraint's ``widget_range``."""
    return linked_int(key, param, default, *interval.widget_range)


def linked_choice(key: str, param: str, default: Any, options: list) -> Linked:
    by_text = {str(option): option for option in options}
    return Linked(key, param, default, lambda raw: by_text[raw], lambda value: value in options)


def linked_flag(key: str, param: str, default: bool) -> Linked:
    return Linked(
        key,
        param,
        default,
        lambda raw: {"1": True, "0": False}[raw],
        lambda value: isinstance(value, bool),
        lambda value: str(int(value)),
    )


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
                st.warning(
                    f"The link's {field.param}={shown!r} does not fit here — showing the default "
                    f"({field.dump(field.default)}) instead."
                )
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
        st.caption(
            "Anyone who opens this address sees this page with the same model, text and settings. "
            "Copy it with the button at the right of the box."
        )
        st.code(f"{base}?{urlencode(params)}", language=None, wrap_lines=True)
