"""MLM Explorer — entry point and router. Run with: streamlit run streamlit_app.py

The router builds the pages with ``default=`` set from ``?page=`` so that deep links (and AppTest) open any page
with the shared sidebar.
"""

import streamlit as st

from mlm_core.turns import queued_notice
from pages.frame.models import sidebar_model_picker
from pages.frame.registry import HOME, PAGES, PAGES_BY_KEY
from pages.frame.ui import queued

st.set_page_config(page_title="MLM Explorer", page_icon=":mag:", layout="wide")

wanted = st.query_params.get("page", HOME)
unknown_page = wanted not in PAGES_BY_KEY
if unknown_page:
    wanted = HOME
navigation = st.navigation(
    [
        st.Page(page.path, title=page.title, icon=page.icon, url_path=page.key, default=(page.key == wanted))
        for page in PAGES
    ]
)
sidebar_model_picker()
if unknown_page:
    st.warning(f"The link's page {st.query_params.get('page')!r} does not exist — here is the home page.")
with queued_notice(queued):  # a model call of this page that waits > 2 s for its turn says so
    navigation.run()
