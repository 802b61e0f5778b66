"""Fine-tuning for a dashboard: a background job to poll and stop, a bound on concurrent jobs, private folders,
and the lines a dashboard shows about a plan, a running job and its result.

``FinetuneJob`` runs ``finetune`` in a background thread; at most ``MAX_CONCURRENT_FINETUNES`` jobs train at once on
a machine (the others wait their turn).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, MlmExplorerError
from ..files import zip_bytes
from ..model import MaskedLM
from .finetune import FinetuneResult, StepTiming, finetune
from .finetune_plan import FinetunePlan, FinetuneSettings
from .loop import TrainingProgress

MAX_CONCURRENT_FINETUNES = int(os.environ.get("MLM_EXPLORER_MAX_FINETUNES", "1"))

_TRAINING_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_FINETUNES)


@dataclass
class FinetuneJob:
    """``finetune`` in a background thread: poll ``progress`` / ``done``, call ``stop()``; ``result`` or ``error``
    when done. Only ``MAX_CONCURRENT_FINETUNES`` jobs train at once; the others report ``waiting``."""

    mlm: MaskedLM
    text: str
    settings: FinetuneSettings
    out_dir: Path | None = None
    name: str | None = None
    progress: list[TrainingProgress] = field(default_factory=list)
    result: FinetuneResult | None = None
    error: BaseException | None = None
    waiting: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> FinetuneJob:
        self._thread = threading.Thread(target=self._run, name="mlm-explorer-finetune", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with _TRAINING_SLOTS:
                self.waiting = False
                if self._stop.is_set():
                    raise InputError("Fine-tuning was stopped before it started; nothing was trained.")
                self.result = finetune(
                    self.mlm,
                    self.text,
                    self.settings,
                    out_dir=self.out_dir,
                    name=self.name,
                    on_progress=self.progress.append,
                    should_stop=self._stop.is_set,
                )
        except BaseException as error:  # noqa: BLE001 — handed to the caller, who shows it; a thread cannot raise to it
            self.error = error

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def latest(self) -> TrainingProgress | None:
        return self.progress[-1] if self.progress else None

    def status(self) -> JobStatus:
        """Where the job is, for a progress bar: waiting for a slot, preparing, or at a step (with its pace)."""
        latest = self.latest
        if self.waiting:
            return JobStatus(0.0, "Waiting: another fine-tune is running on this server; yours starts after it.")
        if latest is None:
            return JobStatus(0.0, "Preparing: copying the model and measuring it on the validation text…")
        return JobStatus(
            min(latest.step / latest.total_steps, 1.0),
            f"Step {latest.step} of {latest.total_steps} · train loss {latest.loss:.3f}",
            f"{latest.tokens_per_second:,.0f} tokens/s · about {duration(latest.seconds_left)} left"
            + (" · stopping after this step…" if self.stopping else ""),
        )

    @property
    def error_message(self) -> str | None:
        """The failure in one line: a user error's own message, anything else named as a failure."""
        if self.error is None:
            return None
        if isinstance(self.error, MlmExplorerError):
            return str(self.error)
        return f"Fine-tuning failed: {type(self.error).__name__}: {self.error}"


@dataclass(frozen=True)
class JobStatus:
    """A running job's progress: ``fraction`` done, a ``line`` for the bar, and ``detail`` (the pace and the time
    left) once the first step has run."""

    fraction: float
    line: str
    detail: str | None = None


def duration(seconds: float) -> str:
    """'4 min 05 s', or '42 s' under a minute (rounded to the second)."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def plan_line(base_name: str, plan: FinetunePlan, timing: StepTiming) -> str:
    """What a planned run starts from, its blocks and steps, and how long it should take here (Markdown)."""
    return (
        f"Starts from **{base_name}**. {plan.describe()} Estimated time: about "
        f"**{duration(timing.estimate(plan.total_steps))}** ({timing.first_seconds:.0f} s to prepare, then "
        f"{timing.step_seconds:.2f} s per step on this machine)."
    )


def batch_note(plan: FinetunePlan, settings: FinetuneSettings) -> str | None:
    """Why a step uses fewer blocks than asked (a short text), or None when it uses as many."""
    if plan.batch_size >= settings.batch_size:
        return None
    return f"The text is short, so each step uses {plan.batch_size} blocks instead of {settings.batch_size}."


def result_lines(result: FinetuneResult) -> tuple[str, str]:
    """Two captions for a finished run: what the before/after metrics are measured on, and how long it trained."""
    measured = (
        f"{result.after.n_predictions} masked words from the validation part, masked the same way before "
        "and after; perplexity is exp(mean loss) over the masked positions only."
    )
    how = (
        f"Stopped after {result.steps} of {result.total_steps} steps"
        if result.stopped_early
        else f"Trained {result.steps} steps"
    )
    return measured, f"{how} in {duration(result.seconds)} ({result.tokens_per_second:,.0f} tokens/s)."


WORKSPACE_PREFIX = "mlm-explorer-finetune-"


def new_workspace(*, max_age_hours: float = 24.0) -> tempfile.TemporaryDirectory:
    """A private folder for one session's fine-tuned model, deleted when the returned object is garbage-collected
    (the session ends) or the process exits. Our folders older than ``max_age_hours`` — left by a server that
    was killed — are removed first."""
    root = Path(tempfile.gettempdir())
    cutoff = time.time() - max_age_hours * 3600
    for stale in root.glob(WORKSPACE_PREFIX + "*"):
        try:
            if stale.is_dir() and stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:  # another server removed it first
            pass
    return tempfile.TemporaryDirectory(prefix=WORKSPACE_PREFIX)


def folder_zip(folder: Path) -> bytes:
    """The saved model folder as a zip whose entries sit in one folder of the same name."""
    folder = Path(folder)
    return zip_bytes((f"{folder.name}/{path.name}", path) for path in sorted(folder.iterdir()) if path.is_file())
