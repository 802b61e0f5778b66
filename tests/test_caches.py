"""Every cache a server keeps while users come and go is bounded: a class of 60 fills them, and the oldest entries
leave rather than memory growing with each user."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from mlm_core.analysis import MEMO_SIZE, analyze
from mlm_core.cache import LruCache


def test_the_least_recently_used_entry_leaves_first_and_each_key_computes_once_while_kept():
    cache: LruCache[str, str] = LruCache(3)
    computed = []

    def value(key: str):
        return lambda: computed.append(key) or key.upper()

    for key in "abc":
        cache.get_or_compute(key, value(key))
    assert cache.get_or_compute("a", value("a")) == "A"  # "a" is now the most recently used
    cache.get_or_compute("d", value("d"))  # "b" leaves
    assert len(cache) == 3 and computed == ["a", "b", "c", "d"]
    cache.get_or_compute("a", value("a"))
    cache.get_or_compute("b", value("b"))
    assert computed == ["a", "b", "c", "d", "b"]
    cache.resize(1)
    assert len(cache) == 1 and cache.get_or_compute("b", value("b")) == "B" and computed[-1] == "b"
    cache.resize(0)
    cache.get_or_compute("e", value("e"))
    assert len(cache) == 0


def test_many_threads_filling_a_cache_never_leave_it_over_its_size():
    cache: LruCache[int, int] = LruCache(16)
    sizes = []

    def fill(offset: int) -> None:
        for key in range(offset, offset + 200):
            cache.get_or_compute(key % 50, lambda key=key: key)
            sizes.append(len(cache))

    threads = [threading.Thread(target=fill, args=(k * 7,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(sizes) <= 16 and len(cache) == 16


@pytest.mark.slow
def test_a_models_memo_keeps_the_last_memo_size_texts(bert):
    """The text that has waited longest is run again; the newest is not."""
    calls = []

    def counting_forward(rows, positions, *, internals=False):
        calls.append(len(rows))
        return bert.forward(rows, positions, internals=internals)

    model = replace(bert, forward=counting_forward)
    texts = [f"the cat number {n} sat on the [MASK] ." for n in range(MEMO_SIZE + 1)]
    first = analyze(model, texts[0])
    for text in texts[1:]:
        analyze(model, text)
    assert len(calls) == MEMO_SIZE + 1
    newest = analyze(model, texts[-1])
    assert len(calls) == MEMO_SIZE + 1 and newest is analyze(model, texts[-1])
    assert analyze(model, texts[0]) is not first and len(calls) == MEMO_SIZE + 2


def test_results_shared_between_sessions_are_bounded():
    """After as many new results as the cache keeps, the oldest is computed again and the newest is not."""
    from pages.frame.models import SHARED_RESULTS_KEPT, shared_result

    computed = []
    for n in range(SHARED_RESULTS_KEPT + 1):
        shared_result(("test_caches", n), lambda n=n: computed.append(n) or n)
    assert shared_result(("test_caches", SHARED_RESULTS_KEPT), lambda: computed.append("again")) == SHARED_RESULTS_KEPT
    assert shared_result(("test_caches", 0), lambda: computed.append("again") or 0) == 0
    assert computed == list(range(SHARED_RESULTS_KEPT + 1)) + ["again"]


def test_large_shared_results_have_their_own_smaller_pool():
    """Pictures (large=True) fill their own pool of SHARED_IMAGES_KEPT; the small results' pool keeps its entry."""
    from pages.frame.models import SHARED_IMAGES_KEPT, SHARED_RESULTS_KEPT, shared_result

    assert SHARED_IMAGES_KEPT < SHARED_RESULTS_KEPT
    shared_result(("test_caches_pool", "small"), lambda: "small")
    computed = []
    for n in range(SHARED_IMAGES_KEPT + 1):
        shared_result(("test_caches_pool", n), lambda n=n: computed.append(n) or b"png", large=True)
    assert shared_result(("test_caches_pool", 0), lambda: computed.append("again") or b"png", large=True) == b"png"
    assert shared_result(("test_caches_pool", "small"), lambda: "computed again") == "small"
    assert computed == list(range(SHARED_IMAGES_KEPT + 1)) + ["again"]


def test_sessions_asking_for_the_same_shared_result_at_once_compute_it_once():
    """Eight threads ask for one key while its computation is under way: one computes, all get its value; a
    different key is not held up meanwhile."""
    from pages.frame.models import _KEY_LOCKS, shared_result

    started, release, computed, results = threading.Event(), threading.Event(), [], []

    def slow():
        computed.append("slow")
        started.set()
        release.wait(10)
        return "value"

    threads = [
        threading.Thread(target=lambda: results.append(shared_result(("test_caches_once",), slow))) for _ in range(8)
    ]
    threads[0].start()
    started.wait(10)
    for thread in threads[1:]:
        thread.start()
    assert shared_result(("test_caches_other",), lambda: "other") == "other"  # while the first key computes
    release.set()
    for thread in threads:
        thread.join(10)
    assert computed == ["slow"] and results == ["value"] * 8
    assert ("test_caches_once",) not in _KEY_LOCKS  # nothing is kept once nobody waits
