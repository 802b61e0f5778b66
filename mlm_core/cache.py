"""A small thread-safe LRU cache, shared by the analysis memo and the dashboard's cross-session results."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """Thread-safe least-recently-used cache; values must be immutable (they are shared between callers).

    ``max_entries=0`` keeps nothing: every call computes (benchmarks use it to time the work itself).
    """

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

    def resize(self, max_entries: int) -> None:
        with self._lock:
            self._max_entries = max_entries
            while len(self._entries) > max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
