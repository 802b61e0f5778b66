"""The Home page's content kept outside its script: the tour's examples (deep links into the pages) and which
preset models work offline on this machine."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd

from mlm_core import PRESETS
from mlm_core.catalog import DEMO_MODEL_DIR, hub_offline, is_cached
from pages.frame.ui import DEFAULT_TEXT


@dataclass(frozen=True)
class TourStop:
    """One example of the tour: a page opened on a model with a text and extra settings, and what to look at."""

    language: str
    model: str
    page: str
    text: str
    extra: dict
    what: str

    def link(self) -> str:
        # A query on the current address: works at the site root and under a reverse proxy's path alike.
        return "?" + urlencode({"page": self.page, "model": self.model, "text": self.text, **self.extra})

    def markdown(self) -> str:
        """A list item: the language and page, the text as the link (Markdown's brackets escaped), what to see."""
        label = self.text.replace("\n", " / ").replace("[", "\\[").replace("]", "\\]")
        return f"- **{self.language}**, {self.page.capitalize()}: [{label}]({self.link()}) — {self.what}"


TOUR = [
    TourStop(*stop)
    for stop in [
        # (language, model, page, text, extra settings, what to look at)
        ("English", "demo", "predict", DEFAULT_TEXT, {}, "which places the model thinks of, and how sure it is"),
        (
            "English",
            "demo",
            "predict",
            "She poured a cup of [MASK] and opened the [MASK].",
            {},
            "two masks: the best words for each and the best pairs",
        ),
        (
            "English",
            "demo",
            "attention",
            "The old man sat on the bench and fed the birds.",
            {"layer": "1", "head": "3"},
            "a head that looks at the previous word",
        ),
        (
            "English",
            "demo",
            "layers",
            "The cat sat on the [MASK].",
            {},
            "the layer where the model settles on its word, and the heads it needs for it",
        ),
        (
            "English",
            "demo",
            "embeddings",
            "I sat by the river bank.\nI paid the money into the bank.\n"
            "The bank raised its interest rates.\nWe walked along the bank of the stream.",
            {"word": "bank"},
            "'bank' by the river and 'bank' for money drift apart",
        ),
        (
            "English",
            "demo",
            "explain",
            "The doctor told the patient to take the [MASK] twice a day.",
            {},
            "which words made the model say its word",
        ),
        (
            "English",
            "demo",
            "score",
            "The keys to the cabinet are on the table.\nThe keys to the cabinet is on the table.",
            {},
            "which of two sentences the model finds more natural",
        ),
        (
            "English",
            "demo",
            "predict",
            "The {man|woman} worked as a [MASK].",
            {"words": "nurse, doctor, engineer"},
            "your own words, and how they change between two versions of a sentence",
        ),
        ("English", "en", "predict", "Paris is the [MASK] of France.", {}, "BERT base (downloads once)"),
        ("French", "fr", "predict", "Paris est la [MASK] de la France.", {}, "CamemBERT (downloads once)"),
        ("German", "de", "predict", "Berlin ist die [MASK] von Deutschland.", {}, "German BERT (downloads once)"),
        ("Chinese", "zh", "predict", "北京是中国的[MASK]都。", {}, "Chinese BERT (downloads once)"),
        ("Japanese", "ja", "predict", "東京は日本の[MASK]です。", {}, "Japanese BERT (downloads once)"),
    ]
]


def model_status() -> pd.DataFrame:
    """One row per preset: its spec, its label, and whether it works offline on this machine."""
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
