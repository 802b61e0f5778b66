"""Attention: where does each token look, in every layer and head?"""

import streamlit as st

from mlm_core.tasks.attention import (
    LABEL_RULE,
    attention,
    diagram_filename,
    head_average,
    heads_frame,
    matrix_frame,
    npz_bytes,
    patterns_reading,
    summarise_heads,
    without_special,
    zip_all_diagrams,
)
from mlm_core.tasks.diagrams import DiagramRenderer
from pages.charts.attention import heatmap, matrix_table
from pages.frame.attention_view import HEAD_COLUMNS, attention_controls, cached_overview
from pages.frame.links import link_widgets, linked_flag, linked_int, linked_text, publish_view
from pages.frame.models import current_model
from pages.frame.routing import require_router
from pages.frame.ui import DEFAULT_TEXT, as_table, download_name, run_or_stop

require_router()

st.title("Attention")
st.write(
    "Each layer of the model has several attention **heads**. For every token (a row), a head spreads one "
    "unit of attention over all tokens (the columns): bright cells are where that token looks."
)

mlm = current_model(allow_switch=True)
LINKED = [
    linked_text("attention_text", "text", DEFAULT_TEXT),
    linked_int("attention_layer", "layer", 1, 1, mlm.num_layers),
    linked_int("attention_head", "head", 1, 1, mlm.num_heads),
    linked_flag("attention_hide_special", "hide_special", False),
    linked_flag("attention_stretch", "stretch", False),
]
link_widgets(LINKED)
publish_view("attention", LINKED)
text = st.text_area("Text", key="attention_text", height=80, help="Any text; [MASK] is allowed but not needed.")
full = run_or_stop(attention, mlm, text)
summaries = summarise_heads(full)

layer, head, hide_special, stretch = attention_controls(full.num_layers, full.num_heads)
shown = without_special(full) if hide_special else full
summary = summaries[(layer - 1) * full.num_heads + (head - 1)]
st.caption(summary.reading)

diagram_tab, heatmap_tab, average_tab, overview_tab, table_tab = st.tabs(
    ["Diagram", "Interactive heatmap", "Layer average", "All heads", "Head patterns"]
)

with diagram_tab:
    png = DiagramRenderer(shown.tokens).png(shown.weights[layer - 1, head - 1], stretch=stretch)
    scale = "black 0, white = this head's maximum" if stretch else "black 0, white 1"
    st.image(png, caption=f"{diagram_filename(layer, head)} — {scale}", width="content")
    st.download_button(
        "Download this diagram (PNG)",
        png,
        file_name=download_name(diagram_filename(layer, head, extension=""), mlm.name, text, "png"),
        mime="image/png",
        key="attention_download_png",
    )

with heatmap_tab:
    frame = matrix_frame(shown, layer, head)
    st.altair_chart(heatmap(frame, f"Layer {layer}, head {head}"), width="stretch")
    as_table(matrix_table(frame), "This head's attention")
    st.download_button(
        "Download this head's matrix (CSV)",
        lambda: frame.to_csv(index=False).encode("utf-8"),
        file_name=download_name(f"attention-L{layer}-H{head}", mlm.name, text, "csv"),
        mime="text/csv",
        key="attention_download_csv",
    )

with average_tab:
    average = matrix_frame(head_average(shown, layer), 1, 1)
    st.altair_chart(heatmap(average, f"Layer {layer}, mean of {full.num_heads} heads"), width="stretch")
    as_table(matrix_table(average), "The layer average")

with overview_tab:
    labels = tuple(s.label for s in summaries)
    st.image(
        cached_overview(mlm, text, hide_special, stretch, shown, labels),
        width="content",
        caption="Every head at once: rows are layers, columns heads; each tile is that head's matrix.",
    )

with table_tab:
    st.caption(LABEL_RULE)
    table = heads_frame(summaries)
    st.dataframe(table, hide_index=True, width="stretch", column_config=HEAD_COLUMNS)
    st.write(patterns_reading(summaries))

# Downloads are made when clicked (a callable runs in its own thread then), not on every view: the zip of every
# diagram alone was ~8 % of the server's GIL time with 20 users viewing pages.
downloads = st.columns(3)
downloads[0].download_button(
    f"All {full.num_layers * full.num_heads} diagrams (zip)",
    lambda: zip_all_diagrams(shown, stretch=stretch),
    file_name=download_name("attention", mlm.name, text, "zip"),
    mime="application/zip",
    key="attention_download_zip",
)
downloads[1].download_button(
    "All matrices (NPZ)",
    lambda: npz_bytes(shown),
    file_name=download_name("attention", mlm.name, text, "npz"),
    mime="application/octet-stream",
    key="attention_download_npz",
)
downloads[2].download_button(
    "Head patterns (CSV)",
    lambda: table.to_csv(index=False).encode("utf-8"),
    file_name=download_name("attention-heads", mlm.name, text, "csv"),
    mime="text/csv",
    key="attention_download_heads",
)
