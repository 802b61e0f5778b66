"""Fair turns at the shared model (mlm_core/turns.py) and the queued notice a waiting user sees (issue 28).

Reference: the definition of a FIFO ticket lock (turns granted in the order callers arrived), checked on the
order in which threads get their turns; no timings are asserted.
"""

from __future__ import annotations

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from mlm_core import turns
from mlm_core.turns import FairTurn, queued_notice


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


def test_turns_are_granted_in_arrival_order():
    turn, order = FairTurn(), []
    turn.acquire()
    threads = []
    for name in "abcde":
        thread = threading.Thread(target=lambda n=name: (turn.acquire(), order.append(n), turn.release()))
        thread.start()
        threads.append(thread)
        wait_until(lambda k=len(threads): turn.waiting() == k)  # noqa: B008 — each one queued before the next arrives
    turn.release()
    for thread in threads:
        thread.join(10)
    assert order == list("abcde") and not turn.locked()


def test_a_quick_call_gets_in_between_two_chunks_of_a_long_job():
    """A job of 40 chunks, each a separate turn: a call arriving during chunk k runs right after that chunk (a
    plain threading.Lock lets the job take the lock again at once, so the call could wait for all 40)."""
    turn, log, arrived = FairTurn(), [], threading.Event()
    chunk_running = threading.Event()

    def long_job():
        for chunk in range(40):
            with turn:
                log.append(("job", chunk))
                if chunk == 5:
                    chunk_running.set()
                    wait_until(lambda: turn.waiting() == 1)  # the quick call is queued while chunk 5 runs
                    arrived.set()

    def quick_call():
        chunk_running.wait(10)
        with turn:
            log.append(("quick", None))

    job, quick = threading.Thread(target=long_job), threading.Thread(target=quick_call)
    job.start()
    quick.start()
    job.join(20)
    quick.join(20)
    assert arrived.is_set() and log.index(("quick", None)) == log.index(("job", 5)) + 1


def test_a_caller_waiting_longer_than_the_notice_delay_is_told_once_and_the_notice_ends_with_its_turn(monkeypatch):
    monkeypatch.setattr(turns, "NOTICE_AFTER", 0.05)
    turn, told, ended = FairTurn(), [], []
    turn.acquire()

    def waiter():
        # ended records whether the turn was already held when the notice was removed
        with queued_notice(
            lambda ahead, seconds: told.append((ahead, seconds)) or (lambda: ended.append(turn.locked()))
        ):
            with turn:
                pass
            with turn:  # no wait this time: no second notice
                pass

    thread = threading.Thread(target=waiter)
    thread.start()
    wait_until(lambda: told)
    assert told[0][0] == 1 and told[0][1] > 0 and ended == []  # one call ahead (the holder); still waiting
    turn.release()
    thread.join(10)
    assert len(told) == 1 and ended == [True] and not turn.locked()


def test_a_caller_stopped_while_queued_gives_its_turn_up(monkeypatch):
    """Streamlit stops a page (rerun) by raising inside st calls, here inside the notice: the others still get
    their turns instead of waiting forever for the abandoned ticket."""
    monkeypatch.setattr(turns, "NOTICE_AFTER", 0.05)
    turn, results = FairTurn(), []
    turn.acquire()

    def stopped():
        def notice(ahead, seconds):
            raise KeyboardInterrupt  # stands for Streamlit's RerunException

        with queued_notice(notice):
            with pytest.raises(KeyboardInterrupt):
                turn.acquire()
        results.append("stopped")

    first = threading.Thread(target=stopped)
    first.start()
    first.join(10)
    after = threading.Thread(target=lambda: (turn.acquire(), results.append("next"), turn.release()))
    after.start()
    wait_until(lambda: turn.waiting() == 1)
    turn.release()
    after.join(10)
    assert results == ["stopped", "next"] and not turn.locked()


def queued_page(keep: bool):
    """A shared result that waits for a held turn, as a page's model call does under load."""
    import threading

    import streamlit as st

    from mlm_core.turns import FairTurn, queued_notice
    from pages.frame.models import shared_result
    from pages.frame.ui import queued

    turn = FairTurn()

    def call_model(x: int) -> int:
        def compute() -> int:
            with turn:
                return x + 1

        return shared_result(("queued_page", keep, x), compute)

    def notice(ahead, seconds):
        on_turn = queued(ahead, seconds)
        return None if keep else on_turn  # keep: leave it on the page to look at it

    turn.acquire()
    threading.Timer(0.5, turn.release).start()
    with queued_notice(notice):
        st.write(f"result {call_model(1)}")


@pytest.mark.parametrize("keep", [True, False])
def test_the_page_shows_the_queue_and_removes_it_when_the_turn_comes(keep, monkeypatch):
    monkeypatch.setattr(turns, "NOTICE_AFTER", 0.05)  # AppTest runs the page in this process
    at = AppTest.from_function(queued_page, kwargs={"keep": keep}, default_timeout=60).run()
    assert not at.exception and at.markdown[-1].value == "result 2"
    shown = [info.value for info in at.info]
    if keep:
        assert shown == ["The model is busy with other people's requests: yours is queued behind 1 (about 1 s)."]
    else:
        assert shown == []
    at.run()  # the shared result: no wait for a turn, so no notice
    assert not at.exception and at.markdown[-1].value == "result 2" and [info.value for info in at.info] == []
