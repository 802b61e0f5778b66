"""What the Attention page shares beyond its charts (pages/charts/attention.py): the overview picture kept across
sessions, the row of controls above the pictures, and the head-patterns table's columns."""

from __future__ import annotations

import streamlit as st

from mlm_core.tasks.diagrams import overview_png
from pages.frame.models import shared_result

HEAD_COLUMNS = {
    "pattern_share": st.column_config.NumberColumn("pattern share", format="%.2f"),
    "entropy": st.column_config.NumberColumn("entropy (bits)", format="%.2f"),
}


def cached_overview(mlm, text: str, hide_special: bool, stretch: bool, result, labels: tuple) -> bytes:
    return shared_result(
        ("overview", mlm.name, text, hide_special, stretch, labels),
        lambda: overview_png(result.weights, labels, stretch=stretch),
        large=True,
    )


def attention_controls(num_layers: int, num_heads: int) -> tuple[int, int, bool, bool]:
    """Layer and head (1-based), hiding [CLS]/[SEP] and stretching the contrast, in one row; their values."""
    controls = st.columns([1, 1, 1, 1])
    layer = controls[0].slider("Layer", 1, num_layers, key="attention_layer")
    head = controls[1].slider("Head", 1, num_heads, key="attention_head")
    stretch = controls[3].checkbox(
        "Stretch contrast",
        key="attention_stretch",
        help="Draw each head's strongest cell white instead of using 0 = black, 1 = white "
        "for every head (the seeds' scale). Helps with heads that spread out.",
    )
    hide_special = controls[2].checkbox(
        "Hide [CLS] / [SEP]",
        key="attention_hide_special",
        help="Removes the framing tokens' rows and columns from the pictures; the "
        "remaining rows then sum to less than 1. Labels below always use them.",
    )
    return layer, head, hide_special, stretch
