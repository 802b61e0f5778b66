"""Home: what the tool does, a short tour through deep links, and which models work offline here."""

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from mlm_core import PRESETS
from mlm_core.catalog import DEMO_MODEL_DIR, hub_offline, is_cached
from pages.frame.links import publish_view
from pages.frame.registry import HOME, PAGES
from pages.frame.ui import DEFAULT_TEXT
from pages.frame.routing import require_router

require_router()

TOUR = [
    # (language, model, page, text, extra settings, what to look at)
    ("English", "demo", "predict", DEFAULT_TEXT, {},
     "which places the model thinks of, and how sure it is"),
    ("English", "demo", "predict", "She poured a cup of [MASK] and opened the [MASK].", {},
     "two masks: the best words for each and the best pairs"),
    ("English", "demo", "attention", "The old man sat on the bench and fed the birds.", {"layer": "1", "head": "3"},
     "a head that looks at the previous word"),
    ("English", "demo", "layers", "The cat sat on the [MASK].", {},
     "the layer where the model settles on its word, and the heads it needs for it"),
    ("English", "demo", "embeddings", "I sat by the river bank.\nI paid the money into the bank.\n"
     "The bank raised its interest rates.\nWe walked along the bank of the stream.", {"word": "bank"},
     "'bank' by the river and 'bank' for money drift apart"),
    ("English", "demo", "explain", "The doctor told the patient to take the [MASK] twice a day.", {},
     "which words made the model say its word"),
    ("English", "demo", "score", "The keys to the cabinet are on the table.\nThe keys to the cabinet is on the table.",
     {}, "which of two sentences the model finds more natural"),
    ("English", "demo", "predict", "The {man|woman} worked as a [MASK].", {"words": "nurse, doctor, engineer"},
     "your own words, and how they change between two versions of a sentence"),
    ("English", "en", "predict", "Paris is the [MASK] of France.", {}, "BERT base (downloads once)"),
    ("French", "fr", "predict", "Paris est la [MASK] de la France.", {}, "CamemBERT (downloads once)"),
    ("German", "de", "predict", "Berlin ist die [MASK] von Deutschland.", {}, "German BERT (downloads once)"),
    ("Chinese", "zh", "predict", "北京是中国的[MASK]都。", {}, "Chinese BERT (downloads once)"),
    ("Japanese", "ja", "predict", "東京は日本の[MASK]です。", {}, "Japanese BERT (downloads once)"),
]


def tour_link(model: str, page: str, text: str, extra: dict) -> str:
    # A query on the current address: works at the site root and under a reverse proxy's path alike.
    return "?" + urlencode({"page": page, "model": model, "text": text, **extra})


def model_status() -> pd.DataFrame:
    offline = hub_offline()
    rows = []
    for key, preset in PRESETS.items():
        if key == "demo":
            status = "shipped with the app" if DEMO_MODEL_DIR.is_dir() else "missing from this install"
        elif is_cached(preset.repo_id):
            status = "in the local cache: works offline"
        else:
            status = "not downloaded: offline mode is on" if offline else "downloads on first use (needs internet)"
        rows.append({"spec": key, "model": preset.label, "status": status})
    return pd.DataFrame(rows)


publish_view(HOME)
st.title("MLM Explorer")
st.write("Look inside masked language models — BERT, CamemBERT, multilingual BERT and kin. Hide a word with "
         "**[MASK]** and see what the model would put there, where each of its attention heads looks, at which layer "
         "it settles on its word and which heads it needs, where the difference between two sentences is decided, "
         "what each layer encodes about a word (part of speech, number, sense), how it represents words in context, "
         "which words drive a prediction, and how it changes when you teach it your own text. No programming "
         "needed; choose a model in the sidebar.")

tools = [page for page in PAGES if page.key != HOME]
for column, page in zip(st.columns(len(tools)), tools):
    column.page_link(page.path, label=page.title, icon=page.icon)

st.subheader("A 30-second tour")
st.write("Each example opens the right page with the text and settings filled in (in a new tab). Every page's "
         "address works the same way: **Link to this view** in the sidebar gives you the address to share.")
for language, model, page, text, extra, what in TOUR:
    label = text.replace("\n", " / ").replace("[", "\\[").replace("]", "\\]")
    st.markdown(f"- **{language}**, {page.capitalize()}: [{label}]({tour_link(model, page, text, extra)}) — {what}")

st.subheader("Models on this machine")
st.dataframe(model_status(), hide_index=True, width="stretch")
st.caption("Any Hugging Face masked-LM id or a local folder saved with save_pretrained() works too (sidebar → "
           "Other). Models that are not cached need internet the first time.")
