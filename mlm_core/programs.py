"""A model's compiled programs: one per ``ProgramKey``, compiled once, run one call at a time.

Every task that runs a model declares its program beside its own code — a key and a step function — and runs it
through its model's ``ProgramCache`` (``mlm.forward.programs``): the padded model call (``forward``), integrated
gradients (``tasks.gradients``), the head scan's resumed layers (``tasks.head_scan``), activation patching
(``tasks.trace_program``). The cache compiles each key's program on first use, or in the dashboard's background
mode answers that first call eagerly (same maths, slower) and compiles the program once the model is idle.
``compiled()`` lists the programs made so far.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from .turns import FairTurn

IDLE_BEFORE_COMPILING = 1.0  # seconds without a model call before a background compilation starts


class _RetracingNoteFilter(logging.Filter):
    """Each padded shape gets its own tf.function on purpose (one trace each), which TF's retracing heuristic
    reports as excessive retracing; the note is wrong here and would alarm users, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_RetracingNoteFilter())


def xla_enabled() -> bool:
    """XLA roughly halves CPU latency; ``MLM_EXPLORER_XLA=0`` turns it off (e.g. to debug)."""
    return os.environ.get("MLM_EXPLORER_XLA", "1") != "0"


@dataclass(frozen=True)
class ProgramKey:
    """Names one compiled program of a model.

    ``task`` is the kind of program ("log_probs", "gradients", "trace", …); ``detail`` whatever else makes a
    different graph (padded shapes, the first layer run, the output scale…). An ``any_shape`` program is one TF
    graph for inputs of every shape (no XLA), traced once; any other is XLA-compiled (unless XLA is off) for the
    shapes it is first called with, which its ``detail`` names.
    """

    task: str
    detail: tuple = ()
    any_shape: bool = False


Step = Callable[..., tuple]


class ProgramCache:
    """One model's compiled programs, and its turn: a call at a time, in arrival order (``turns.FairTurn``), so a
    quick call gets in between a long job's chunks. Thread-safe.

    ``compile_in_background`` (the dashboard's mode, off by default so the CLI, tests and benchmarks always use
    compiled programs): a key's first call runs its step eagerly and a background thread compiles the program.
    """

    def __init__(self, *, jit_compile: bool | None = None):
        self._jit = xla_enabled() if jit_compile is None else jit_compile
        self._turn = FairTurn()
        self.compile_in_background = False
        self._programs: dict[ProgramKey, tf.types.experimental.GenericFunction] = {}
        self._compiling: set[ProgramKey] = set()
        self._compile_turn = threading.Lock()  # one background compilation at a time
        self._last_call = time.monotonic()

    def run(self, key: ProgramKey, make_step: Callable[[], Step], inputs: tuple) -> tuple:
        """The outputs (TF tensors) of ``key``'s program on ``inputs``; the program is made from ``make_step()``
        on first use (or, in background mode, compiled later while this call runs the step eagerly)."""
        with self._turn:
            try:
                program = self._programs.get(key)
                if program is None and not self.compile_in_background:
                    program = self._programs[key] = self._compile(key, make_step(), inputs)
                if program is None:
                    self._start_compiling(key, make_step, inputs)
                    return make_step()(*inputs)
                return program(*inputs)
            finally:
                self._last_call = time.monotonic()

    def compiled(self) -> list[ProgramKey]:
        """The keys of the programs made so far, in the order they were made."""
        return list(self._programs)  # one C-level copy under the GIL: no need to wait for the model's turn

    def wait_until_compiled(self, timeout: float = 120.0) -> bool:
        """True once no background compilation is running (False after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while self._compiling and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._compiling

    def _compile(self, key: ProgramKey, step: Step, inputs: tuple):
        if not key.any_shape:
            return tf.function(step, jit_compile=self._jit)
        signature = [tf.TensorSpec([None] * len(tensor.shape), tensor.dtype) for tensor in inputs]
        return tf.function(step, jit_compile=False, input_signature=signature)

    def _start_compiling(self, key: ProgramKey, make_step: Callable[[], Step], inputs: tuple) -> None:
        """Compile the program for ``key`` in a background thread (once); later calls of that key use it. The
        thread waits until the model has been idle for ``IDLE_BEFORE_COMPILING`` seconds: on two cores, compiling
        while the page's other first calls run eagerly made a first explanation 2–3 s slower."""
        if key in self._compiling:
            return
        self._compiling.add(key)

        def compile_program() -> None:
            try:
                with self._compile_turn:
                    while time.monotonic() - self._last_call < IDLE_BEFORE_COMPILING or self._turn.locked():
                        time.sleep(0.05)
                    program = self._compile(key, make_step(), inputs)
                    program(*inputs)  # traces and compiles for this shape
                    with self._turn:
                        self._programs[key] = program
            finally:
                self._compiling.discard(key)

        threading.Thread(target=compile_program, name="mlm-explorer-compile", daemon=True).start()
