"""A resumable scoring of minimal pairs for a dashboard: every pair with every model, a chunk at a time.

A ``PairsRun`` keeps what is finished; a page stores it in the session, calls ``advance`` (an iterator of progress)
when ``needs_work``, ``stop()`` when the user interrupts, ``resume()`` to go on. Interrupting the loop between two
chunks loses nothing: the next ``advance`` starts at the first pair not scored yet (``iter_pair_scores(start=…)``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..model import MaskedLM
from .pair_files import Pair
from .pairs import PairScore, PairsResult, iter_pair_scores


@dataclass
class PairsRun:
    """Scores so far of ``pairs`` under each of ``model_names`` with ``method``; ``source`` names where the pairs
    came from. ``stopped`` is set by ``stop()`` and cleared by ``resume()``."""

    model_names: tuple[str, ...]
    method: str
    source: str
    pairs: tuple[Pair, ...]
    scored: dict[str, list[PairScore]] = field(default_factory=dict)
    stopped: bool = False

    def __post_init__(self) -> None:
        self.scored = {name: list(self.scored.get(name, [])) for name in self.model_names}

    @classmethod
    def continued(
        cls, previous: PairsRun | None, models: Sequence[MaskedLM], method: str, source: str, pairs: Sequence[Pair]
    ) -> PairsRun:
        """``previous`` when it scores the same models, method and source; else a new run from the first pair."""
        names = tuple(mlm.name for mlm in models)
        if previous is not None and previous.key == (names, method, source):
            return previous
        return cls(names, method, source, tuple(pairs))

    @property
    def key(self) -> tuple:
        return self.model_names, self.method, self.source

    @property
    def total(self) -> int:
        """Pair scorings asked for: pairs × models."""
        return len(self.pairs) * len(self.model_names)

    @property
    def done(self) -> int:
        return sum(len(scored) for scored in self.scored.values())

    @property
    def needs_work(self) -> bool:
        """True while pairs are left and the user has not stopped the run."""
        return self.done < self.total and not self.stopped

    @property
    def interrupted(self) -> bool:
        """True when the user stopped the run before every pair was scored."""
        return self.stopped and self.done < self.total

    def stop(self) -> None:
        self.stopped = True

    def resume(self) -> None:
        self.stopped = False

    def advance(self, models: Sequence[MaskedLM]) -> Iterator[tuple[float, str]]:
        """Score the pairs not scored yet, model after model; after each chunk the iterator yields (fraction done,
        a line saying how many are done and roughly how long is left). ``models`` are those ``model_names`` name.
        Every sentence is checked for every model here, so an unusable pair raises ``InputError`` at once."""
        chunks = [
            (
                self.scored[mlm.name],
                iter_pair_scores(mlm, self.pairs, method=self.method, start=len(self.scored[mlm.name])),
            )
            for mlm in models
        ]
        return self._follow(chunks)

    def _follow(self, chunks: list[tuple[list[PairScore], Iterator[list[PairScore]]]]) -> Iterator[tuple[float, str]]:
        started, at_start = time.perf_counter(), self.done
        for scored, model_chunks in chunks:
            for chunk in model_chunks:
                scored.extend(chunk)
                done = self.done
                left = (time.perf_counter() - started) / (done - at_start) * (self.total - done)
                yield done / self.total, f"{done:,} of {self.total:,} pairs scored · about {left:.0f} s left"

    def notice(self) -> str:
        """What a stopped run says about its results."""
        return f"Stopped after {self.done:,} of {self.total:,} pairs; the results below are for the finished ones."

    def results(self) -> list[PairsResult]:
        """One result per model, of the pairs scored so far."""
        return [PairsResult(name, self.method, tuple(self.scored[name]), len(self.pairs)) for name in self.model_names]
