"""MLM Explorer's core: load masked language models and look inside them. No Streamlit here.

>>> from mlm_core import load_model, predict
>>> mlm = load_model("demo")
>>> predict(mlm, "The cat sat on the [MASK].").masks[0].candidates[0].token
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TF's C++ start-up chatter is not for our users
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # transformers' TF models need tf-keras, not Keras 3


def _import_tensorflow_quietly() -> None:
    """TF's C++ start-up lines (no CUDA here...) reach fd 2 before any log setting applies; drop just those.

    A failing import still raises normally once stderr is restored.
    """
    import sys

    if "tensorflow" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()

from .analysis import Analysis, Encoding, analyze, encode  # noqa: E402
from .catalog import PRESETS, default_model_spec, resolve_spec  # noqa: E402
from .errors import (  # noqa: E402
    InputError,
    MlmExplorerError,
    ModelNotFoundError,
    ParameterError,
    UnsupportedModelError,
)
from .loading import load_model  # noqa: E402
from .model import MaskedLM  # noqa: E402
from .tasks.predict import Candidate, JointFilling, MaskPrediction, Prediction, predict  # noqa: E402

__all__ = [
    "Analysis",
    "Candidate",
    "Encoding",
    "InputError",
    "JointFilling",
    "MaskPrediction",
    "MaskedLM",
    "MlmExplorerError",
    "ModelNotFoundError",
    "PRESETS",
    "ParameterError",
    "Prediction",
    "UnsupportedModelError",
    "analyze",
    "default_model_spec",
    "encode",
    "load_model",
    "predict",
    "resolve_spec",
]
