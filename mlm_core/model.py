"""A loaded masked language model: tokenizer, TF model, compiled forward and a small analysis cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Generic, Hashable, TypeVar

from .forward import CompiledForward

if TYPE_CHECKING:
    from .analysis import Analysis

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """Thread-safe least-recently-used cache; values must be immutable (they are shared between callers)."""

    def __init__(self, max_entries: int):
        self._max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(eq=False)
class MaskedLM:
    """Everything needed to run one model. Read-only after loading, so one instance can serve many users.

    ``name`` is the spec it was loaded from (shown to users); ``max_tokens`` counts special tokens.
    """

    name: str
    tokenizer: object
    model: object
    max_tokens: int
    forward: CompiledForward
    analyses: LruCache[str, "Analysis"] = field(default_factory=lambda: LruCache(32))

    @property
    def mask_token(self) -> str:
        return self.tokenizer.mask_token

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.num_attention_heads)
