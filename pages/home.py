"""Home: what the tool does, a short tour through deep links, and which models work offline here."""

import streamlit as st

from pages.frame.home_view import TOUR, model_status
from pages.frame.links import publish_view
from pages.frame.registry import HOME, PAGES
from pages.frame.routing import require_router

require_router()

publish_view(HOME)
st.title("MLM Explorer")
st.write(
    "Look inside masked language models — BERT, CamemBERT, multilingual BERT and kin. Hide a word with "
    "**[MASK]** and see what the model would put there, where each of its attention heads looks, at which layer "
    "it settles on its word and which heads it needs, where the difference between two sentences is decided, "
    "what each layer encodes about a word (part of speech, number, sense), how it represents words in context, "
    "which words drive a prediction, and how it changes when you teach it your own text. No programming "
    "needed; choose a model in the sidebar."
)

tools = [page for page in PAGES if page.key != HOME]
for column, page in zip(st.columns(len(tools)), tools):
    column.page_link(page.path, label=page.title, icon=page.icon)

st.subheader("A 30-second tour")
st.write(
    "Each example opens the right page with the text and settings filled in (in a new tab). Every page's "
    "address works the same way: **Link to this view** in the sidebar gives you the address to share."
)
for stop in TOUR:
    st.markdown(stop.markdown())

st.subheader("Models on this machine")
st.dataframe(model_status(), hide_index=True, width="stretch")
st.caption(
    "Any Hugging Face masked-LM id or a local folder saved with save_pretrained() works too (sidebar → "
    "Other). Models that are not cached need internet the first time."
)
