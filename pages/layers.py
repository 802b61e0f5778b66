"""Layers: how the prediction forms layer by layer, which heads it needs, where the mask's information flows."""

import math

import altair as alt
import pandas as pd
import streamlit as st

from mlm_core.tasks.head_scan import SCAN_CAVEAT, head_importance
from mlm_core.tasks.heads import ablate, parse_heads
from mlm_core.tasks.lens import LAYERS_PARAMS, layer_lens
from pages.frame.links import Linked, link_widgets, linked_int, linked_interval, linked_text, publish_view
from pages.frame.models import current_model
from pages.frame.ui import DEFAULT_TEXT, OKABE_ITO, as_table, download_name, run_or_notice, run_or_stop
from pages.frame.routing import require_router

require_router()

TOP_K = LAYERS_PARAMS["top_k"]
MAX_MASKS = 64
DELTA_COLUMNS = {"delta_log_prob": st.column_config.NumberColumn("change in log P", format="%+.4f"),
                 "probability_without": st.column_config.NumberColumn("P without it", format="%.4f")}


@st.cache_data(max_entries=64, show_spinner=False)
def cached_lens(model_name: str, text: str, top_k: int, _mlm):
    return layer_lens(_mlm, text, top_k=top_k)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_scan(model_name: str, text: str, mask_index: int, target: str, _mlm):
    return head_importance(_mlm, text, mask_index=mask_index, target=target)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_ablation(model_name: str, text: str, heads: tuple, top_k: int, _mlm):
    return ablate(_mlm, text, heads, top_k=top_k)


def head_label(layer: int, head: int) -> str:
    return f"{layer}.{head}"


def linked_heads(key: str, param: str, num_layers: int, num_heads: int) -> Linked:
    """Switched-off heads in the address as ?heads=2.3,4.1 (layer.head, 1-based), as on the command line."""
    def parse(raw: str) -> list[str]:
        return [head_label(*head) for head in parse_heads(raw, num_layers=num_layers, num_heads=num_heads)]

    def valid(value) -> bool:
        return isinstance(value, list) and all(parse(item) == [item] for item in value)

    return Linked(key, param, [], parse, valid, ",".join)


def lens_chart(frame: pd.DataFrame):
    base = alt.Chart(frame).encode(
        x=alt.X("rank:O", title="rank at that layer", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("layer:O", title="layer (0 = embeddings)", sort="descending"))
    cells = base.mark_rect().encode(
        color=alt.Color("probability:Q", scale=alt.Scale(scheme="blues"), title="probability"),
        tooltip=["layer:O", "rank:O", "token:N", alt.Tooltip("probability:Q", format=".3f")])
    labels = base.mark_text(fontSize=12).encode(
        text="token:N", color=alt.condition("datum.probability > 0.3", alt.value("white"), alt.value("black")))
    return (cells + labels).properties(height=alt.Step(30))


def final_word_charts(frame: pd.DataFrame, word: str):
    base = alt.Chart(frame).encode(x=alt.X("layer:O", title="layer (0 = embeddings)", axis=alt.Axis(labelAngle=0)),
                                   tooltip=["layer:O", "rank:Q", alt.Tooltip("probability:Q", format=".4f")])
    probability = base.mark_line(point=True, color=OKABE_ITO[0]).encode(
        y=alt.Y("probability:Q", title=f"P({word})", axis=alt.Axis(format="%")))
    rank = base.mark_line(point=True, color=OKABE_ITO[1]).encode(
        y=alt.Y("rank:Q", title=f"rank of '{word}' (1 = top)", scale=alt.Scale(type="log", reverse=True)))
    return alt.hconcat(probability.properties(width=280, height=220), rank.properties(width=280, height=220))


def scan_chart(frame: pd.DataFrame):
    pick = alt.selection_point(name="pick", fields=["layer", "head"], on="click", empty=False)
    limit = max(1e-6, float(frame["delta_log_prob"].abs().max()))
    return (
        alt.Chart(frame)
        .mark_rect(stroke="black")
        .encode(x=alt.X("head:O", title="head", axis=alt.Axis(labelAngle=0)), y=alt.Y("layer:O", title="layer"),
                color=alt.Color("delta_log_prob:Q", title="change in log P",
                                scale=alt.Scale(scheme="redblue", domain=[-limit, limit])),
                strokeWidth=alt.condition(pick, alt.value(2), alt.value(0)),
                tooltip=["layer:O", "head:O", alt.Tooltip("delta_log_prob:Q", format="+.4f"),
                         alt.Tooltip("probability_without:Q", format=".4f")])
        .add_params(pick)
        .properties(height=alt.Step(24))
    )


def rollout_chart(frame: pd.DataFrame):
    order = list(dict.fromkeys(frame["token"]))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(y=alt.Y("token:N", sort=order, title=None, axis=alt.Axis(labelLimit=160)),
                yOffset="measure:N", x=alt.X("value:Q", title="share flowing into the mask"),
                color=alt.Color("measure:N", title=None, scale=alt.Scale(range=OKABE_ITO[:2])),
                tooltip=["token:N", "measure:N", alt.Tooltip("value:Q", format=".3f")])
        .properties(height=alt.Step(12))
    )


def add_clicked_heads(event) -> None:
    """Heads clicked in the scan's heatmap join the switched-off ones (each click once, so removing a head from
    the list afterwards sticks)."""
    points = (event or {}).get("selection", {}).get("pick", [])
    clicked = [head_label(int(point["layer"]), int(point["head"])) for point in points]
    if clicked and clicked != st.session_state.get("layers_last_click"):
        st.session_state["layers_last_click"] = clicked
        chosen = st.session_state["layers_heads"]
        st.session_state["layers_heads"] = chosen + [head for head in clicked if head not in chosen]


st.title("Layers")
st.write("Three questions about one prediction: **at which layer** the model settles on its word, **which "
         "attention heads** it needs for it, and **which input words** flow into the mask.")

mlm = current_model(allow_switch=True)
LINKED = [linked_text("layers_text", "text", DEFAULT_TEXT), linked_int("layers_mask", "mask", 1, 1, MAX_MASKS),
          linked_text("layers_target", "target", ""), linked_interval("layers_top_k", "top_k", 5, TOP_K),
          linked_heads("layers_heads", "heads", mlm.num_layers, mlm.num_heads)]
link_widgets(LINKED)
text = st.text_area("Text", key="layers_text", height=80, help="Write [MASK] where a word is missing.")
with st.spinner("Reading every layer…"):
    lens = run_or_stop(cached_lens, mlm.name, text, st.session_state["layers_top_k"], mlm)
controls = st.columns([1, 2, 2])
if st.session_state["layers_mask"] > len(lens.masks):
    st.session_state["layers_mask"] = 1
mask_number = controls[0].selectbox("Mask", list(range(1, len(lens.masks) + 1)), key="layers_mask",
                                    help="Which [MASK] of the text to look at, counted from the left.")
controls[1].slider("Words per layer", *TOP_K.widget_range, key="layers_top_k")
mask = lens.masks[mask_number - 1]
top_words = [word.token for word in mask.layers[-1].words]
if st.session_state["layers_target"] not in top_words:
    st.session_state["layers_target"] = top_words[0]
target = controls[2].selectbox("Word to follow", top_words, key="layers_target",
                               help="The head scan measures how much each head matters for this word.")
publish_view("layers", LINKED)

st.subheader("1 · Layer by layer")
st.write(f"The model's own prediction head applied after every layer (the *logit lens*): what it would guess if it "
         f"stopped there. The last row is the real prediction — **{mask.final_token}**.")
st.caption("Caveat: the head was trained on the last layer only, so early layers' guesses are read through a lens "
           "made for another layer; a low rank early on means 'not readable yet', not 'unknown'.")
words = lens.words_frame().query("mask == @mask_number")
st.altair_chart(lens_chart(words), width="stretch")
trajectory = lens.final_word_frame().query("mask == @mask_number")
st.altair_chart(final_word_charts(trajectory, mask.final_token), width="content")
as_table(trajectory.drop(columns="mask"), f"'{mask.final_token}' layer by layer")
st.download_button("Layer-by-layer words (CSV)", lens.words_frame().to_csv(index=False).encode("utf-8"),
                   file_name=download_name("layers", mlm.name, text, "csv"), mime="text/csv", key="layers_csv")

st.subheader("2 · Which heads it needs")
n_variants = mlm.num_layers * (mlm.num_heads + 1)
with st.spinner(f"Switching off each of the {mlm.num_layers * mlm.num_heads} heads, then each layer…"):
    scan = run_or_notice(cached_scan, mlm.name, text, mask_number - 1, target, mlm)
if scan is not None:
    st.write(f"Each cell: how much log P('{scan.target}') changes when that one head is switched off (its attention "
             f"weights set to 0). Red = the word becomes less likely. Click heads to switch them off below. "
             f"With every head, P('{scan.target}') = {math.exp(scan.baseline_log_prob):.4f}; {n_variants} "
             f"variants of the sentence ran.")
    st.caption(SCAN_CAVEAT)
    ranked = scan.ranked_frame()
    event = st.altair_chart(scan_chart(ranked), width="stretch", on_select="rerun", key="layers_scan_chart",
                            selection_mode="pick")
    add_clicked_heads(event)
    left, right = st.columns(2)
    left.write("Largest drops")
    left.dataframe(ranked.head(8), hide_index=True, width="stretch", column_config=DELTA_COLUMNS)
    right.write("Whole layer switched off")
    right.dataframe(scan.layers_frame(), hide_index=True, width="stretch", column_config=DELTA_COLUMNS)
    st.download_button("Every head's change (CSV)", ranked.to_csv(index=False).encode("utf-8"),
                       file_name=download_name("heads", mlm.name, text, "csv"), mime="text/csv", key="heads_csv")

st.subheader("3 · Switch heads off")
options = [head_label(layer, head) for layer in range(1, mlm.num_layers + 1) for head in range(1, mlm.num_heads + 1)]
chosen = st.multiselect("Heads to switch off (layer.head)", options, key="layers_heads",
                        placeholder="Pick heads, or click them in the heatmap above")
if chosen:
    heads = parse_heads(",".join(chosen), num_layers=mlm.num_layers, num_heads=mlm.num_heads)
    ablation = run_or_notice(cached_ablation, mlm.name, text, heads, st.session_state["layers_top_k"], mlm)
    if ablation is not None:
        changes = ablation.frame().query("mask == @mask_number").drop(columns="mask")
        st.write(f"The top words with every head, and with {len(heads)} head{'s' if len(heads) > 1 else ''} off:")
        st.dataframe(changes.sort_values("intact", ascending=False), hide_index=True, width="stretch",
                     column_config={name: st.column_config.NumberColumn(label, format="%.4f") for name, label in
                                    (("intact", "P, every head"), ("ablated", "P, heads off"), ("change", "change"))})
        st.download_button("Before and after (CSV)", ablation.frame().to_csv(index=False).encode("utf-8"),
                           file_name=download_name("ablation", mlm.name, text, "csv"), mime="text/csv",
                           key="ablation_csv")
else:
    st.caption("Nothing switched off yet.")

st.subheader("4 · Where the mask's information comes from")
st.write("Attention rollout follows attention through all the layers (each layer's heads averaged, plus the "
         "direct path every token keeps to itself): how much of each input token ends up in the mask. Beside it, "
         "the last layer's raw attention from the mask, averaged over its heads.")
st.caption("Caveat: rollout assumes attention weights alone carry the information and ignores what the "
           "feed-forward layers and the size of each vector add (Abnar & Zuidema 2020).")
flow = lens.rollout_frame().query("mask == @mask_number")
long = flow.melt(id_vars=["position", "token"], value_vars=["rollout", "last_layer_attention"], var_name="measure")
long["measure"] = long["measure"].map({"rollout": "rollout", "last_layer_attention": "last layer, raw"})
long["token"] = long["position"].astype(str) + " " + long["token"]
st.altair_chart(rollout_chart(long), width="stretch")
st.download_button("Rollout and raw attention (CSV)", flow.drop(columns="mask").to_csv(index=False).encode("utf-8"),
                   file_name=download_name("rollout", mlm.name, text, "csv"), mime="text/csv", key="rollout_csv")
