"""Fair turns at a shared model: first come, first served, and a waiting caller can be told so.

Every call of a model goes through its ``CompiledForward``, which lets one call run at a time (on a small CPU
machine that is also the fastest schedule). With a plain ``threading.Lock`` the thread that releases the lock may
take it again at once, so a long job that calls the model chunk after chunk (1,000 pairs, a head scan, a SHAP
explanation) can keep other users' quick calls waiting until it ends. ``FairTurn`` hands the model out in
arrival order (tickets), so a quick call gets in between two chunks of a long job.

A caller that has waited ``NOTICE_AFTER`` seconds is told, once, how many calls are ahead of it and roughly how
long that takes (their number × the mean length of recent turns): the dashboard registers a ``queued_notice``
around its core calls and shows "queued" to that user. Nothing else is scheduled here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

NOTICE_AFTER = 2.0  # seconds a caller waits for the model before it is told it is queued
RECENT_TURNS = 32  # turns whose mean length estimates a wait

# notice(calls ahead, estimated seconds) → an optional function called when the caller's turn begins.
Notice = Callable[[int, float], Callable[[], None] | None]
_local = threading.local()


@contextmanager
def queued_notice(notice: Notice) -> Iterator[None]:
    """In this block, a call of this thread that waits for a model more than ``NOTICE_AFTER`` s calls ``notice``."""
    previous = getattr(_local, "notice", None)
    _local.notice = notice
    try:
        yield
    finally:
        _local.notice = previous


class FairTurn:
    """A lock that grants turns in arrival order and knows its queue. Use as ``with turn:``."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0  # the ticket whose turn it is (held, or about to be taken)
        self._held = False
        self._turn_started = 0.0
        self._recent: deque[float] = deque(maxlen=RECENT_TURNS)
        self._abandoned: set[int] = set()  # tickets given up while waiting; skipped when their turn comes

    def acquire(self) -> None:
        notice: Notice | None = getattr(_local, "notice", None)
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            if self._condition.wait_for(
                lambda: self._serving == ticket and not self._held, timeout=NOTICE_AFTER if notice else None
            ):
                self._take()
                return
            ahead = ticket - self._serving - sum(1 for t in self._abandoned if t < ticket)
            seconds = self._estimate(ahead)
        try:
            on_turn = notice(ahead, seconds)  # outside the lock: it may draw on a page
        except BaseException:  # e.g. Streamlit stopping the page for a rerun: give the ticket up, or all would wait
            with self._condition:
                self._abandoned.add(ticket)
                self._skip_abandoned()
            raise
        with self._condition:
            self._condition.wait_for(lambda: self._serving == ticket and not self._held)
            self._take()
        if on_turn is not None:
            try:
                on_turn()
            except BaseException:
                self.release()
                raise

    def _take(self) -> None:
        self._held, self._turn_started = True, time.monotonic()

    def _skip_abandoned(self) -> None:
        while not self._held and self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._condition.notify_all()

    def release(self) -> None:
        with self._condition:
            if not self._held:
                raise RuntimeError("release of a FairTurn that is not held")
            self._recent.append(time.monotonic() - self._turn_started)
            self._held = False
            self._serving += 1
            self._skip_abandoned()

    def locked(self) -> bool:
        return self._held

    def waiting(self) -> int:
        """Callers waiting for a turn now (the one holding it not counted)."""
        with self._condition:
            return self._next_ticket - self._serving - (1 if self._held else 0) - len(self._abandoned)

    def _estimate(self, ahead: int) -> float:
        """Seconds until a turn with ``ahead`` turns before it: their number × the mean recent turn (before any turn
        has ended, the current one's length so far), less what the current one has run."""
        ran = time.monotonic() - self._turn_started if self._held else 0.0
        mean = sum(self._recent) / len(self._recent) if self._recent else ran
        return max(ahead * mean - ran, mean)

    def __enter__(self) -> FairTurn:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
