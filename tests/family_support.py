"""A tiny random model of each of the 20 masked-LM families, built locally once per test session and loaded once
(``mlm_core.tools.families``), for the family matrix and the per-family acceptance tests."""

from __future__ import annotations

import threading
from pathlib import Path

import mlm_core
from mlm_core.tools.families import FAMILIES, build_family

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
