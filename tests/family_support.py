"""A tiny random model of each of the 20 masked-LM families, built locally once per test session and loaded once
(``mlm_core.testing.families``), for the family matrix and the per-family acceptance tests."""

from __future__ import annotations

import threading
from pathlib import Path

import mlm_core
from mlm_core.testing.families import FAMILIES, build_family

_LOCK = threading.Lock()
_MODELS: dict[str, mlm_core.MaskedLM] = {}
_FOLDERS: dict[str, Path] = {}


def family_folder(root: Path, family: str) -> Path:
    with _LOCK:
        if family not in _FOLDERS:
            _FOLDERS[family] = build_family(root / "families" / family, family)  # not tiny-bert: conftest owns that
        return _FOLDERS[family]


def family_model(root: Path, family: str) -> mlm_core.MaskedLM:
    """The loaded tiny ``family`` model (XLA off: these tests check results, and 20 families' compilations would
    dominate their time)."""
    folder = family_folder(root, family)
    with _LOCK:
        if family not in _MODELS:
            _MODELS[family] = mlm_core.load_model(str(folder), jit_compile=False)
        return _MODELS[family]


def wide_copy(tiny: mlm_core.MaskedLM, name: str) -> mlm_core.MaskedLM:
    """A tiny test model's config and tokenizer with larger random weights (``initializer_range`` 1.0): at the usual
    initial scale (0.02) the context barely reaches the mask (one changed word moves log-probabilities by ~1e-4),
    leaving nothing for Trace to explain."""
    import copy

    import tensorflow as tf
    from transformers import TFAutoModelForMaskedLM

    from mlm_core.loading import wrap_model

    config = copy.deepcopy(tiny.model.config)
    config.initializer_range = 1.0
    tf.keras.utils.set_random_seed(1)
    model = TFAutoModelForMaskedLM.from_config(config)
    model(model.dummy_inputs)
    return wrap_model(f"wide-{name}", tiny.tokenizer, model)


def loaded(root: Path):
    """``load_model`` for the CLI run in-process: a family folder gives its already loaded model."""
    folders = {str(family_folder(root, family)): family for family in FAMILIES}
    original = mlm_core.loading.load_model

    def load(spec, **kwargs):
        family = folders.get(str(spec))
        return family_model(root, family) if family else original(spec, **kwargs)

    return load


def check_trace_fixed_points(mlm: mlm_core.MaskedLM, clean: str, corrupt: str):
    """The trace definition's two fixed points, asserted: after the last layer only the mask's state is read by the
    head (effect 1 there, 0 elsewhere); copying every embedding makes the corrupted run the clean run. Returns
    (the trace, its inputs) for further checks."""
    import numpy as np
    import pytest

    from mlm_core.tasks.trace import trace, trace_inputs
    from mlm_core.tasks.trace_program import patched_log_probs

    result = trace(mlm, clean, corrupt)
    expected = np.zeros(len(result.tokens))
    expected[result.mask_position] = 1.0
    np.testing.assert_allclose(result.layer_effects[-1], expected, atol=1e-4)
    inputs = trace_inputs(mlm, clean, corrupt)
    everything = np.ones((1, len(result.tokens)), dtype=bool)
    values = patched_log_probs(
        mlm,
        0,
        inputs.clean.hidden_states[0],
        inputs.corrupt.hidden_states[0],
        everything,
        inputs.position,
        inputs.ids(),
    )
    assert float(inputs.metric(values)[0]) == pytest.approx(result.clean_value, abs=1e-4)
    return result, inputs
