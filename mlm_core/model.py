"""A loaded masked language model: tokenizer, TF model and its compiled forward pass."""

from __future__ import annotations

from dataclasses import dataclass

from .architecture import num_heads, num_layers
from .forward import CompiledForward


@dataclass(eq=False)
class MaskedLM:
    """Everything needed to run one model. Read-only after loading, so one instance can serve many users.

    ``name`` is the spec it was loaded from (shown to users); ``max_tokens`` counts special tokens. Compared and
    hashed by identity: results memoised per model (``analysis.analyze``) belong to this instance.
    """

    name: str
    tokenizer: object
    model: object
    max_tokens: int
    forward: CompiledForward

    @property
    def mask_token(self) -> str:
        return self.tokenizer.mask_token

    @property
    def num_layers(self) -> int:
        return num_layers(self.model)

    @property
    def num_heads(self) -> int:
        return num_heads(self.model)
