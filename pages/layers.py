"""Layers: how the prediction forms layer by layer, which heads it needs, where the mask's information flows."""

import streamlit as st

from mlm_core.tasks.heads import parse_heads
from mlm_core.tasks.lens import LAYERS_PARAMS
from pages.frame.layers_view import (
    cached_ablation,
    cached_follow,
    cached_lens,
    cached_scan,
    head_options,
    linked_heads,
    show_ablation,
    show_layer_by_layer,
    show_rollout,
    show_scan,
)
from pages.frame.links import link_widgets, linked_int, linked_interval, linked_text, publish_view
from pages.frame.models import current_model
from pages.frame.routing import require_router
from pages.frame.ui import DEFAULT_TEXT, run_or_error, run_or_notice, run_or_stop
from pages.frame.words_view import word_picker

require_router()

TOP_K = LAYERS_PARAMS["top_k"]
MAX_MASKS = 64

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
show_layer_by_layer(lens, mask_number, followed, mlm.name, text)

st.subheader("2 · Which heads it needs")
scan = None
if followed is None:
    st.caption("The head scan follows one word of one token — pick one from the list or type another above.")
else:
    with st.spinner(f"Switching off each of the {mlm.num_layers * mlm.num_heads} heads, then each layer…"):
        scan = run_or_notice(cached_scan, mlm, text, mask_number - 1, followed.token_id)
if scan is not None:
    show_scan(scan, mlm.name, text)

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
        show_ablation(ablation, mask_number, mlm.name, text)
else:
    st.caption("Nothing switched off yet.")

st.subheader("4 · Where the mask's information comes from")
show_rollout(lens, mask_number, mlm.name, text)
