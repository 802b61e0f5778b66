"""Every page runs through the router (``streamlit_app.py``), even on a server's very first visit.

Streamlit decides once per server process, on the first session, whether a ``pages/`` folder beside the entry
script makes this an old-style multipage app (``PagesManager.uses_pages_directory``); only the router's
``st.navigation`` call turns that off. If the first visit after a start is a path address such as
``/predict?text=…``, Streamlit runs ``pages/predict.py`` alone — no router, no sidebar, no model picker, the
link's settings ignored. Keeping the ``pages/`` folder (the project's layout is fixed), each page calls
``require_router`` first: in that situation it switches the legacy mode off and reruns the same address, which
then goes through the router like every later visit.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_router() -> None:
    """Rerun through the router when Streamlit's legacy pages mode ran this page on its own (see above)."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
