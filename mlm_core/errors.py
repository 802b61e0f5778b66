"""One exception family for every failure a user can cause.

Pages show ``str(error)`` with ``st.error``; the CLI prints it as one line on stderr and exits 2.
Messages name the input, what was expected, what was got, and what to do.
"""

from __future__ import annotations


class MlmExplorerError(Exception):
    """Base class: a problem the user can fix (bad input, missing model, unsupported model)."""


class InputError(MlmExplorerError, ValueError):
    """The text or another input cannot be analysed as given (no mask, too long, empty...)."""


class ParameterError(MlmExplorerError, ValueError):
    """A setting is out of its allowed range or set of values."""


class ModelNotFoundError(MlmExplorerError, LookupError):
    """The model spec names nothing that can be loaded here (not cached, not a folder, hub unreachable)."""


class UnsupportedModelError(MlmExplorerError):
    """The model exists but MLM Explorer cannot use it (no MLM head, pickle-only weights, no TF support...)."""
