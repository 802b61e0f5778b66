"""Embeddings: how does the same word move with its context, layer by layer?"""

import streamlit as st

from mlm_core.tasks.embeddings import chart_reading, focus_ranges, neighbour_roles, projected_points, word_similarity
from pages.charts.embeddings import scatter, similarity_chart
from pages.frame.links import Linked, link_widgets, linked_choice, linked_flag, linked_int, linked_text, publish_view
from pages.frame.models import current_model
from pages.frame.routing import require_router
from pages.frame.ui import as_table, download_name, run_or_notice, run_or_stop, slug

require_router()

DEFAULT_SENTENCES = "\n".join(
    [
        "I sat on the bank of the river and watched the water.",
        "She went to the bank to open a savings account.",
        "The boat drifted toward the muddy bank.",
        "He deposited the money at the bank this morning.",
    ]
)
DEFAULT_WORD = "bank"
NEIGHBOURS = 2  # labelled next to each occurrence of the followed word


def show_all_link(key: str) -> Linked:
    """The switch "Punctuation and special tokens" in the address as ``hide_special`` (its older name, so
    earlier links keep working): hide_special=0 shows them, 1 or no parameter hides them."""
    return Linked(
        key,
        "hide_special",
        False,
        lambda raw: {"0": True, "1": False}[raw],
        lambda value: isinstance(value, bool),
        lambda value: str(int(not value)),
    )


st.title("Embeddings")
st.write(
    "Inside the model every token is a long vector that changes with its context and from layer to "
    "layer. Here they are flattened to 2-D: tokens that end up close together are represented alike. "
    "Watch the same word move with its meaning."
)

mlm = current_model(allow_switch=True)
LINKED = [
    linked_text("embeddings_sentences", "text", DEFAULT_SENTENCES),
    linked_text("embeddings_word", "word", DEFAULT_WORD),
    linked_int("embeddings_layer", "layer", mlm.num_layers, 0, mlm.num_layers),
    linked_choice("embeddings_method", "method", "pca", ["pca", "tsne"]),
    linked_flag("embeddings_merge", "whole_words", True),
    show_all_link("embeddings_all_tokens"),
]
link_widgets(LINKED)
publish_view("embeddings", LINKED)
left, right = st.columns([3, 2])
text = left.text_area("Sentences, one per line", key="embeddings_sentences", height=140)
word = right.text_input(
    "Word to follow", key="embeddings_word", help="Highlighted in the plot and compared across sentences below."
)
layer = right.slider(
    "Layer",
    0,
    mlm.num_layers,
    key="embeddings_layer",
    help="0 is the embedding layer (before any context), the last is the model's output.",
)
method = right.radio(
    "Projection",
    ["pca", "tsne"],
    horizontal=True,
    key="embeddings_method",
    format_func={"pca": "PCA (linear, fast)", "tsne": "t-SNE (neighbourhoods)"}.get,
)
merge = right.checkbox(
    "Whole words",
    key="embeddings_merge",
    help="Average the pieces of words split into several tokens (e.g. 'em ##bed').",
)
all_tokens = right.checkbox(
    "Punctuation and special tokens",
    key="embeddings_all_tokens",
    help="Off: the projection is fitted on words only. Punctuation and [CLS] / [SEP] sit far from everything "
    "else and would squeeze the words into a corner.",
)

sentences = text.splitlines()
with st.spinner("Projecting…"):
    points, projection = run_or_stop(
        projected_points, mlm, sentences, layer=layer, method=method, all_tokens=all_tokens, merge_pieces=merge
    )
roles = neighbour_roles(points, word, k=NEIGHBOURS)
ranges = focus_ranges(points, roles)
st.altair_chart(scatter(points.assign(role=roles), f"Layer {layer} — {len(points)} points", ranges), width="stretch")
st.caption(chart_reading(points, projection, ranges, neighbours=NEIGHBOURS))
as_table(points[["sentence", "position", "token", "x", "y"]].round(3), "The points")
st.download_button(
    "Download the 2-D points (CSV)",
    points.to_csv(index=False).encode("utf-8"),
    file_name=download_name(f"embeddings-layer{layer}-{method}", mlm.name, text, "csv"),
    mime="text/csv",
    key="embeddings_download_points",
)

st.subheader(f"How alike is '{word}' from sentence to sentence?")
similarity = run_or_notice(word_similarity, mlm, sentences, word)
if similarity is not None:
    pair_names = similarity.assign(pair=similarity["a"] + " ↔ " + similarity["b"])
    at_layer = pair_names[pair_names["layer"] == layer][["pair", "cosine"]]
    table_column, chart_column = st.columns([2, 3])
    table_column.dataframe(
        at_layer,
        hide_index=True,
        width="stretch",
        column_config={"cosine": st.column_config.NumberColumn(f"cosine at layer {layer}", format="%.3f")},
    )
    chart_column.altair_chart(similarity_chart(pair_names), width="stretch")
    st.caption(
        "1 means the two occurrences are represented identically; lower means the context pulled them "
        "apart. At layer 0 every occurrence of a word is nearly the same vector (only its position differs)."
    )
    st.download_button(
        "Download the similarities (CSV)",
        similarity.to_csv(index=False).encode("utf-8"),
        file_name=download_name(f"similarity-{slug(word, 20)}", mlm.name, text, "csv"),
        mime="text/csv",
        key="embeddings_download_similarity",
    )
