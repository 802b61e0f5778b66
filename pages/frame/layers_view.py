"""What the Layers page shares beyond its charts (pages/charts/layers.py): its results kept across sessions, the
head scan's table columns, the switched-off heads as a deep link, heads clicked in the scan's heatmap, and its
four sections drawn (layer by layer, the head scan, heads switched off, where the mask's information comes from)."""

from __future__ import annotations

import streamlit as st

from mlm_core.tasks.head_scan import SCAN_CAVEAT, head_importance
from mlm_core.tasks.heads import ablate, parse_heads
from mlm_core.tasks.lens import follow_word, layer_lens
from pages.charts.layers import final_word_charts, lens_chart, rollout_chart, scan_chart
from pages.frame.links import Linked
from pages.frame.models import shared_result
from pages.frame.ui import as_table, download_name

DELTA_COLUMNS = {
    "delta_log_prob": st.column_config.NumberColumn("change in log P", format="%+.4f"),
    "probability_without": st.column_config.NumberColumn("P without it", format="%.4f"),
}
ABLATION_COLUMNS = {
    name: st.column_config.NumberColumn(label, format="%.4f")
    for name, label in (("intact", "P, every head"), ("ablated", "P, heads off"), ("change", "change"))
}


def cached_lens(mlm, text: str, top_k: int):
    return shared_result(("lens", mlm.name, text, top_k), lambda: layer_lens(mlm, text, top_k=top_k))


def cached_follow(mlm, text: str, mask_index: int, word: str | int):
    return shared_result(
        ("follow", mlm.name, text, mask_index, word), lambda: follow_word(mlm, text, word, mask_index=mask_index)
    )


def cached_scan(mlm, text: str, mask_index: int, target: str | int):
    return shared_result(
        ("scan", mlm.name, text, mask_index, target),
        lambda: head_importance(mlm, text, mask_index=mask_index, target=target),
    )


def cached_ablation(mlm, text: str, heads: tuple, top_k: int):
    return shared_result(("ablation", mlm.name, text, heads, top_k), lambda: ablate(mlm, text, heads, top_k=top_k))


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


def show_layer_by_layer(lens, mask_number: int, followed, model_name: str, text: str) -> None:
    """Section 1: the mask's reading, the words after every layer, the followed word's probability and rank (when
    there is one), and every mask's words as CSV."""
    st.write(lens.masks[mask_number - 1].reading)
    st.caption(
        "Caveat: the head was trained on the last layer only, so early layers' guesses are read through a lens "
        "made for another layer; a low rank early on means 'not readable yet', not 'unknown'."
    )
    words = lens.words_frame().query("mask == @mask_number")
    st.altair_chart(lens_chart(words), width="stretch")
    if followed is not None:
        trajectory = followed.frame().drop(columns="mask")
        st.altair_chart(final_word_charts(trajectory, followed.word), width="content")
        as_table(trajectory, f"'{followed.word}' layer by layer")
    st.download_button(
        "Layer-by-layer words (CSV)",
        lens.words_frame().to_csv(index=False).encode("utf-8"),
        file_name=download_name("layers", model_name, text, "csv"),
        mime="text/csv",
        key="layers_csv",
    )


def show_scan(scan, model_name: str, text: str) -> None:
    """Section 2: the scan's reading, every head's change as a clickable heatmap (a click switches the head off
    below), the largest drops, whole layers switched off, and every head's change as CSV."""
    st.write(scan.reading)
    st.caption(SCAN_CAVEAT)
    ranked = scan.ranked_frame()
    event = st.altair_chart(
        scan_chart(ranked), width="stretch", on_select="rerun", key="layers_scan_chart", selection_mode="pick"
    )
    add_clicked_heads(event)
    left, right = st.columns(2)
    left.write("Largest drops")
    left.dataframe(ranked.head(8), hide_index=True, width="stretch", column_config=DELTA_COLUMNS)
    right.write("Whole layer switched off")
    right.dataframe(scan.layers_frame(), hide_index=True, width="stretch", column_config=DELTA_COLUMNS)
    st.download_button(
        "Every head's change (CSV)",
        ranked.to_csv(index=False).encode("utf-8"),
        file_name=download_name("heads", model_name, text, "csv"),
        mime="text/csv",
        key="heads_csv",
    )


def show_ablation(ablation, mask_number: int, model_name: str, text: str) -> None:
    """Section 3: what switching the chosen heads off did to this mask's words, and every mask's as CSV."""
    changes = ablation.frame().query("mask == @mask_number").drop(columns="mask")
    st.write(ablation.reading)
    st.dataframe(
        changes.sort_values("intact", ascending=False), hide_index=True, width="stretch", column_config=ABLATION_COLUMNS
    )
    st.download_button(
        "Before and after (CSV)",
        ablation.frame().to_csv(index=False).encode("utf-8"),
        file_name=download_name("ablation", model_name, text, "csv"),
        mime="text/csv",
        key="ablation_csv",
    )


def show_rollout(lens, mask_number: int, model_name: str, text: str) -> None:
    """Section 4: attention rollout into the mask beside the last layer's raw attention, and both as CSV."""
    st.write(
        "Attention rollout follows attention through all the layers (each layer's heads averaged, plus the "
        "direct path every token keeps to itself): how much of each input token ends up in the mask. Beside it, "
        "the last layer's raw attention from the mask, averaged over its heads."
    )
    st.caption(
        "Caveat: rollout assumes attention weights alone carry the information and ignores what the "
        "feed-forward layers and the size of each vector add (Abnar & Zuidema 2020)."
    )
    flow = lens.rollout_frame().query("mask == @mask_number")
    st.altair_chart(rollout_chart(flow), width="stretch")
    st.download_button(
        "Rollout and raw attention (CSV)",
        flow.drop(columns="mask").to_csv(index=False).encode("utf-8"),
        file_name=download_name("rollout", model_name, text, "csv"),
        mime="text/csv",
        key="rollout_csv",
    )
