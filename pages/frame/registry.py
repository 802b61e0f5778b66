"""The dashboard's pages, in menu order: used by the router (``streamlit_app.py``) and the Home page's links."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    """``key`` is the page's ``?page=`` value and URL path; ``path`` its script, relative to the entry script."""

    key: str
    path: str
    title: str
    icon: str


PAGES = (
    PageEntry("home", "pages/home.py", "Home", ":material/home:"),
    PageEntry("predict", "pages/predict.py", "Predict", ":material/edit_note:"),
    PageEntry("attention", "pages/attention.py", "Attention", ":material/grid_on:"),
    PageEntry("layers", "pages/layers.py", "Layers", ":material/layers:"),
    PageEntry("trace", "pages/trace.py", "Trace", ":material/route:"),
    PageEntry("probe", "pages/probe.py", "Probe", ":material/troubleshoot:"),
    PageEntry("embeddings", "pages/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    PageEntry("explain", "pages/explain.py", "Explain", ":material/lightbulb:"),
    PageEntry("score", "pages/score.py", "Score", ":material/balance:"),
    PageEntry("bias", "pages/bias.py", "Bias", ":material/diversity_3:"),
    PageEntry("finetune", "pages/finetune.py", "Fine-tune", ":material/model_training:"),
)
PAGES_BY_KEY = {page.key: page for page in PAGES}
HOME = "home"
