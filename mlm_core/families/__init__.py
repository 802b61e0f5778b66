"""One adapter per masked-LM family: the only code that knows transformers' attribute names.

``adapter_for(model)`` gives the model's adapter (``base.Adapter``: embeddings, layers one by one with per-row head
masks, the head on any hidden state, per-view refusals); ``refusal(model, view)`` the one-line reason a view is not
offered for the model's family, or None.
"""

from __future__ import annotations

import threading
import weakref

from . import bert_like, own_layers, relative
from .base import VIEWS, Adapter

ADAPTERS: dict[str, type[Adapter]] = {
    **bert_like.class_for,
    "distilbert": own_layers.DistilBertAdapter,
    "albert": own_layers.AlbertAdapter,
    "mpnet": own_layers.MPNetAdapter,
    "xlm": own_layers.XlmAdapter,
    "flaubert": own_layers.XlmAdapter,
    "deberta": relative.DebertaAdapter,
    "deberta-v2": relative.DebertaAdapter,
    "longformer": relative.LongformerAdapter,
    "funnel": relative.FunnelAdapter,
}
FAMILIES = tuple(ADAPTERS)
UNKNOWN_REASON = (
    "its family ('{family}') has no adapter in MLM Explorer, so its layers cannot be reached one by one "
    "— Predict, Attention, Embeddings, Explain, Score and Fine-tune still work"
)
_CACHE: weakref.WeakKeyDictionary[object, Adapter] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


class _Unknown(Adapter):
    """A family without an adapter: its own call only (every layer-wise view refused)."""

    def __init__(self, model):
        super().__init__(model)
        reason = UNKNOWN_REASON.format(family=model.config.model_type)
        # Its own call still returns attentions and per-token hidden states; only layer-by-layer views are refused.
        self.refusals = {view: reason for view in ("layers", "heads")}

    def encode(self, input_ids, attention_mask, *, training: bool, **outputs):
        """The whole model's own call: its output object carries the vocabulary logits at every position."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask, training=training, **outputs)

    def head(self, hidden):
        """Unknown families have no separate head: ``encode``'s output already holds the logits (``logits_of``)."""
        raise NotImplementedError("a family without an adapter has no separate masked-LM head")


def adapter_for(model) -> Adapter:
    """The adapter of ``model``'s family (made once per model)."""
    kind = ADAPTERS.get(model.config.model_type, _Unknown)
    try:
        weakref.ref(model)
    except TypeError:  # an object that cannot be weakly referenced (a test's stand-in): not cached
        return kind(model)
    with _LOCK:
        adapter = _CACHE.get(model)
        if adapter is None:
            adapter = _CACHE[model] = kind(model)
        return adapter


def refusal(model, view: str) -> str | None:
    """Why ``view`` (one of ``VIEWS``) is not offered for ``model``, in one line; None when it is."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")
    return adapter_for(model).refusal(view)


def layered(model) -> bool:
    """True when the model's layers can be called one by one (head masks, the lens, the fast last layer)."""
    return adapter_for(model).refusal("heads") is None
