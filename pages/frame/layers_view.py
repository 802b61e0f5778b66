"""What the Layers page shares beyond its charts (pages/charts/layers.py): the head scan's table columns, the
switched-off heads as a deep link, and heads clicked in the scan's heatmap."""

from __future__ import annotations

import streamlit as st

from mlm_core.tasks.heads import parse_heads
from pages.frame.links import Linked

DELTA_COLUMNS = {
    "delta_log_prob": st.column_config.NumberColumn("change in log P", format="%+.4f"),
    "probability_without": st.column_config.NumberColumn("P without it", format="%.4f"),
}
ABLATION_COLUMNS = {
    name: st.column_config.NumberColumn(label, format="%.4f")
    for name, label in (("intact", "P, every head"), ("ablated", "P, heads off"), ("change", "change"))
}


def head_label(layer: int, head: int) -> str:
    return f"{layer}.{head}"


def head_options(num_layers: int, num_heads: int) -> list[str]:
    """Every head as 'layer.head', 1-based, layer by layer."""
    return [head_label(layer, head) for layer in range(1, num_layers + 1) for head in range(1, num_heads + 1)]


def linked_heads(key: str, param: str, num_layers: int, num_heads: int) -> Linked:
    """Switched-off heads in the address as ?heads=2.3,4.1 (layer.head, 1-based), as on the command line."""

    def parse(raw: str) -> list[str]:
        return [head_label(*head) for head in parse_heads(raw, num_layers=num_layers, num_heads=num_heads)]

    def valid(value) -> bool:
        return isinstance(value, list) and all(parse(item) == [item] for item in value)

    return Linked(key, param, [], parse, valid, ",".join)


def add_clicked_heads(event) -> None:
    """Heads clicked in the scan's heatmap join the switched-off ones (each click once, so removing a head from
    the list afterwards sticks)."""
    points = (event or {}).get("selection", {}).get("pick", [])
    clicked = [head_label(int(point["layer"]), int(point["head"])) for point in points]
    if clicked and clicked != st.session_state.get("layers_last_click"):
        st.session_state["layers_last_click"] = clicked
        chosen = st.session_state["layers_heads"]
        st.session_state["layers_heads"] = chosen + [head for head in clicked if head not in chosen]
