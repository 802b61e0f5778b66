"""Layers: how the prediction forms layer by layer, which heads it needs, where the mask's information flows."""

import streamlit as st

from mlm_core.tasks.head_scan import SCAN_CAVEAT, head_importance
from mlm_core.tasks.heads import ablate, parse_heads
from mlm_core.tasks.lens import LAYERS_PARAMS, follow_word, layer_lens
from pages.charts.layers import final_word_charts, lens_chart, rollout_chart, scan_chart
from pages.frame.layers_view import ABLATION_COLUMNS, DELTA_COLUMNS, add_clicked_heads, head_options, linked_heads
from pages.frame.links import link_widgets, linked_int, linked_interval, linked_text, publish_view
from pages.frame.models import current_model, shared_result
from pages.frame.routing import require_router
from pages.frame.ui import DEFAULT_TEXT, as_table, download_name, run_or_error, run_or_notice, run_or_stop
from pages.frame.words_view import word_picker

require_router()

TOP_K = LAYERS_PARAMS["top_k"]
MAX_MASKS = 64


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


st.title("Layers")
st.write(
    "Three questions about one prediction: **at which layer** the model settles on its word, **which "
    "attention heads** it needs for it, and **which input words** flow into the mask."
)

mlm = current_model(allow_switch=True)
LINKED = [
    linked_text("layers_text", "text", DEFAULT_TEXT),
    linked_int("layers_mask", "mask", 1, 1, MAX_MASKS),
    linked_text("layers_target", "target", ""),
    linked_interval("layers_top_k", "top_k", 5, TOP_K),
    linked_heads("layers_heads", "heads", mlm.num_layers, mlm.num_heads),
]
link_widgets(LINKED)
text = st.text_area("Text", key="layers_text", height=80, help="Write [MASK] where a word is missing.")
with st.spinner("Reading every layer…"):
    lens = run_or_stop(cached_lens, mlm, text, st.session_state["layers_top_k"])
controls = st.columns([1, 2, 2])
if st.session_state["layers_mask"] > len(lens.masks):
    st.session_state["layers_mask"] = 1
mask_number = controls[0].selectbox(
    "Mask",
    list(range(1, len(lens.masks) + 1)),
    key="layers_mask",
    help="Which [MASK] of the text to look at, counted from the left.",
)
controls[1].slider("Words per layer", *TOP_K.widget_range, key="layers_top_k")
mask = lens.masks[mask_number - 1]
listed = {word.token: word.token_id for word in reversed(mask.layers[-1].words)}  # a listed word by its own id
top_words = list(dict.fromkeys(word.token for word in mask.layers[-1].words))
target = word_picker(
    controls[2],
    "Word to follow (or type any word)",
    top_words,
    "layers_target",
    top_words[0],
    help="Its probability and rank after every layer, and how much each head matters for it. "
    "Type any word the vocabulary keeps whole.",
)
publish_view("layers", LINKED)
followed = run_or_error(cached_follow, mlm, text, mask_number - 1, listed.get(target, target))

st.subheader("1 · Layer by layer")
st.write(mask.reading)
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
    file_name=download_name("layers", mlm.name, text, "csv"),
    mime="text/csv",
    key="layers_csv",
)

st.subheader("2 · Which heads it needs")
scan = None
if followed is None:
    st.caption("The head scan follows one word of one token — pick one from the list or type another above.")
else:
    with st.spinner(f"Switching off each of the {mlm.num_layers * mlm.num_heads} heads, then each layer…"):
        scan = run_or_notice(cached_scan, mlm, text, mask_number - 1, followed.token_id)
if scan is not None:
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
        file_name=download_name("heads", mlm.name, text, "csv"),
        mime="text/csv",
        key="heads_csv",
    )

st.subheader("3 · Switch heads off")
chosen = st.multiselect(
    "Heads to switch off (layer.head)",
    head_options(mlm.num_layers, mlm.num_heads),
    key="layers_heads",
    placeholder="Pick heads, or click them in the heatmap above",
)
if chosen:
    heads = parse_heads(",".join(chosen), num_layers=mlm.num_layers, num_heads=mlm.num_heads)
    ablation = run_or_notice(cached_ablation, mlm, text, heads, st.session_state["layers_top_k"])
    if ablation is not None:
        changes = ablation.frame().query("mask == @mask_number").drop(columns="mask")
        st.write(ablation.reading)
        st.dataframe(
            changes.sort_values("intact", ascending=False),
            hide_index=True,
            width="stretch",
            column_config=ABLATION_COLUMNS,
        )
        st.download_button(
            "Before and after (CSV)",
            ablation.frame().to_csv(index=False).encode("utf-8"),
            file_name=download_name("ablation", mlm.name, text, "csv"),
            mime="text/csv",
            key="ablation_csv",
        )
else:
    st.caption("Nothing switched off yet.")

st.subheader("4 · Where the mask's information comes from")
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
    file_name=download_name("rollout", mlm.name, text, "csv"),
    mime="text/csv",
    key="rollout_csv",
)
