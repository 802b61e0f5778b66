"""Fine-tuning for a dashboard: a background job to poll and stop, a bound on concurrent jobs, private folders.

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

from ..errors import InputError
from ..files import zip_bytes
from ..model import MaskedLM
from .finetune import FinetuneResult, FinetuneSettings, finetune
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

    def start(self) -> "FinetuneJob":
        self._thread = threading.Thread(target=self._run, name="mlm-explorer-finetune", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with _TRAINING_SLOTS:
                self.waiting = False
                if self._stop.is_set():
                    raise InputError("Fine-tuning was stopped before it started; nothing was trained.")
                self.result = finetune(self.mlm, self.text, self.settings, out_dir=self.out_dir, name=self.name,
                                       on_progress=self.progress.append, should_stop=self._stop.is_set)
        except BaseException as error:  # handed to the caller, who shows it; a thread cannot raise to it
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
