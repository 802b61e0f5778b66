"""The one progress reporter of the command line: the core's progress callbacks → lines on stderr.

On a terminal (``bar``) a line is rewritten in place: pairs counted, a probe's share done, a fine-tune's bar with
tokens/s, ETA and loss. Otherwise a fine-tune prints one JSON object per step (``json_lines``) or one plain line per
evaluation, and the other commands stay quiet, so that redirected stderr holds no carriage returns.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24


class ProgressReport:
    """Progress on ``stream``; ``close()`` ends a line left open."""

    def __init__(self, stream: TextIO, *, json_lines: bool = False, bar: bool = False, worker: int | None = None):
        self.stream, self.json_lines, self.bar, self.worker = stream, json_lines, bar, worker
        self.drawn = False

    @classmethod
    def on_stderr(cls, *, json_lines: bool = False, worker: int | None = None) -> ProgressReport:
        """On stderr, with the in-place line only when stderr is a terminal and no JSON lines are asked for."""
        return cls(sys.stderr, json_lines=json_lines, bar=sys.stderr.isatty() and not json_lines, worker=worker)

    def counted(self, noun: str) -> Callable[[int, int], None]:
        """A ``(done, total)`` callback (``pairs``, ``bias``): "1,024 of 2,000 pairs"."""
        return lambda done, total: self._rewrite(f"{done:,} of {total:,} {noun}", finished=done >= total)

    def fraction(self, fraction: float, what: str) -> None:
        """A ``(fraction, what)`` callback (``probe``): the share done and what runs now."""
        self._rewrite(f"{fraction:4.0%} {what:<60}", finished=fraction >= 1)

    def __call__(self, progress) -> None:
        """A fine-tune's ``TrainingProgress`` after a step or an evaluation."""
        evaluation = progress.evaluation
        if self.json_lines:
            line = {
                "step": progress.step,
                "total_steps": progress.total_steps,
                "loss": progress.loss,
                "tokens_per_second": progress.tokens_per_second,
                "eta_seconds": progress.seconds_left,
            }
            if evaluation is not None:
                line["validation"] = evaluation.as_dict()
            if self.worker is not None:
                line["worker"] = self.worker
            print(json.dumps(line), file=self.stream, flush=True)
        elif self.bar:
            done = int(BAR_WIDTH * progress.step / max(progress.total_steps, 1))
            self._rewrite(
                f"[{'#' * done}{'.' * (BAR_WIDTH - done)}] {progress.step}/{progress.total_steps} · loss "
                f"{progress.loss:.3f} · {progress.tokens_per_second:,.0f} tokens/s · ETA "
                f"{duration(progress.seconds_left)}"
            )
            if evaluation is not None:
                print(f"\n  validation loss {evaluation.loss:.3f}, top-1 {evaluation.top1:.1%}", file=self.stream)
        elif evaluation is not None:
            print(
                f"step {progress.step}/{progress.total_steps}: train loss {progress.loss:.3f}, validation loss "
                f"{evaluation.loss:.3f}",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.drawn:
            print(file=self.stream)
            self.drawn = False

    def _rewrite(self, text: str, *, finished: bool = False) -> None:
        """Rewrite the current line in place (on a terminal only); ``finished`` ends it."""
        if self.bar:
            print(f"\r{text}", end="\n" if finished else "", file=self.stream, flush=True)
            self.drawn = not finished


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
