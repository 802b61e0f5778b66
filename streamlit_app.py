"""MLM Explorer — entry point and router. Run with: streamlit run streamlit_app.py

The router builds the pages with ``default=`` set from ``?page=`` so that deep links (and AppTest) open any page
with the shared sidebar.
"""

import streamlit as st

from pages.frame import sidebar_model_picker

st.set_page_config(page_title="MLM Explorer", page_icon=":mag:", layout="wide")

PAGES = {
    "home": ("pages/home.py", "Home", ":material/home:"),
    "predict": ("pages/predict.py", "Predict", ":material/edit_note:"),
    "attention": ("pages/attention.py", "Attention", ":material/grid_on:"),
    "embeddings": ("pages/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    "explain": ("pages/explain.py", "Explain", ":material/lightbulb:"),
    "finetune": ("pages/finetune.py", "Fine-tune", ":material/model_training:"),
}

wanted = st.query_params.get("page", "home")
unknown_page = wanted not in PAGES
if unknown_page:
    wanted = "home"
navigation = st.navigation(
    [st.Page(path, title=title, icon=icon, url_path=key, default=(key == wanted))
     for key, (path, title, icon) in PAGES.items()]
)
sidebar_model_picker()
if unknown_page:
    st.warning(f"The link's page {st.query_params.get('page')!r} does not exist — here is the home page.")
navigation.run()
