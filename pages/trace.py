"""Trace: where in the network the difference between two sentences is decided (activation patching)."""

import streamlit as st

from mlm_core.tasks.trace import GRID_CAVEAT, HEADS_CAVEAT, candidate_words, trace
from pages.charts.trace import effect_heatmap
from pages.frame.links import link_widgets, linked_flag, linked_text, publish_view
from pages.frame.models import current_model, shared_result
from pages.frame.routing import require_router
from pages.frame.ui import as_table, download_name, run_or_stop
from pages.frame.words_view import word_picker

require_router()

CLEAN = "The keys to the cabinet [MASK] on the table."
CORRUPT = "The key to the cabinet [MASK] on the table."
NONE = "(none)"


def traced(mlm, clean: str, corrupt: str, target: str, contrast: str | None, heads: bool):
    """The trace, shared across sessions, with a progress bar while it runs."""

    def compute():
        bar = st.progress(0.0, text="Copying states layer by layer…")
        result = run_or_stop(
            trace,
            mlm,
            clean,
            corrupt,
            target=target,
            contrast=contrast,
            heads=heads,
            on_layer=lambda done, total: bar.progress(done / total, text=f"Layer {done} of {total} done…"),
        )
        bar.empty()
        return result

    return shared_result(("trace", mlm.name, clean, corrupt, target, contrast, heads), compute)


st.title("Trace")
st.write(
    "Where in the network is the difference between two sentences decided? Run the **corrupted** text, copy "
    "one hidden state of the **clean** text into it, and see how far the prediction at the mask moves back "
    "toward the clean one (activation patching: Vig et al. 2020, Meng et al. 2022)."
)

mlm = current_model(allow_switch=True)
LINKED = [
    linked_text("trace_clean", "clean", CLEAN),
    linked_text("trace_corrupt", "corrupt", CORRUPT),
    linked_text("trace_target", "target", ""),
    linked_text("trace_contrast", "contrast", ""),
    linked_flag("trace_heads", "heads", False),
]
link_widgets(LINKED)
left, right = st.columns(2)
clean = left.text_area("Clean text", key="trace_clean", height=80, help="One [MASK]: the prediction to follow.")
corrupt = right.text_area(
    "Corrupted text",
    key="trace_corrupt",
    height=80,
    help="The same text with one word changed: as many tokens, [MASK] at the same place.",
)
targets = run_or_stop(candidate_words, mlm, clean)
contrasts = [NONE] + [word for word in run_or_stop(candidate_words, mlm, corrupt)]
controls = st.columns([2, 2, 2])
target = word_picker(
    controls[0],
    "Target word (or type any word)",
    targets,
    "trace_target",
    targets[0],
    help="Top words of the clean text, or any word the vocabulary keeps whole: the metric is "
    "log P(target) − log P(contrast).",
)
contrasts = [word for word in contrasts if word != target]
contrast = word_picker(
    controls[1],
    "Contrast word (or type any word)",
    contrasts,
    "trace_contrast",
    contrasts[1] if len(contrasts) > 1 else NONE,
    help="Top words of the corrupted text, or any one-token word; (none) follows log P(target) alone.",
)
controls[2].toggle(
    "Also copy each head's output",
    key="trace_heads",
    help="One more grid: each attention head's output, at every position, copied alone.",
)
publish_view("trace", LINKED)

result = traced(mlm, clean, corrupt, target, None if contrast == NONE else contrast, st.session_state["trace_heads"])

st.info(result.reading())
st.write(result.values_line())

st.subheader("1 · Layer × token")
st.write(
    "Each cell: the corrupted text with the clean text's hidden state at that token and layer copied in, run "
    "on through the remaining layers."
)
st.caption(GRID_CAVEAT)
frame = result.layers_frame()
order = list(dict.fromkeys(frame["token"]))
st.altair_chart(effect_heatmap(frame, "token", "token of the corrupted text", order), width="stretch")
table = frame.pivot(index="layer", columns="token", values="effect")[order].sort_index(ascending=False)
as_table(table.reset_index(), "Effects")
st.download_button(
    "Layer × token effects (CSV)",
    frame.to_csv(index=False).encode("utf-8"),
    file_name=download_name("trace", mlm.name, clean, "csv"),
    mime="text/csv",
    key="trace_csv",
)

st.subheader("2 · Heads")
heads = result.heads_frame()
if heads is None:
    st.caption("Switch on 'Also copy each head's output' above to see which attention heads carry the difference.")
else:
    st.write(
        "Each cell: one head's output (its attention-weighted values, at every position) copied from the clean "
        "text, the rest of the corrupted run unchanged."
    )
    st.caption(HEADS_CAVEAT)
    st.altair_chart(effect_heatmap(heads, "head", "head"), width="stretch")
    as_table(heads, "Head effects")
    st.download_button(
        "Head effects (CSV)",
        heads.to_csv(index=False).encode("utf-8"),
        file_name=download_name("trace-heads", mlm.name, clean, "csv"),
        mime="text/csv",
        key="trace_heads_csv",
    )
