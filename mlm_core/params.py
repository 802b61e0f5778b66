"""Declarative checks for numeric and categorical settings, in the manner of scikit-learn.

Constraints are data declared next to the function that uses them; ``check_params`` is the one checker and
produces one message template:
"The 'top_k' parameter of predict must be an int in the range [1, 50]. Got 0 instead."
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError


@dataclass(frozen=True)
class Interval:
    """Closed interval of ints (``kind=int``) or floats (``kind=float``).

    ``widget`` is the narrower (low, high) a dashboard slider offers when the whole range is too wide to pick
    from with a mouse (the core still accepts the whole range); pages read their bounds from ``widget_range``.
    """

    kind: type
    low: float
    high: float
    widget: tuple[float, float] | None = None

    @property
    def widget_range(self) -> tuple:
        """(low, high) for a widget, in the interval's own type (ints for an int setting)."""
        return tuple(self.kind(bound) for bound in (self.widget or (self.low, self.high)))

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if self.kind is float and not isinstance(value, (int, float)):
            return False
        return self.low <= value <= self.high

    def describe(self) -> str:
        return f"an {self.kind.__name__} in the range [{self.low}, {self.high}]"


@dataclass(frozen=True)
class OneOf:
    """A closed set of allowed values."""

    options: tuple

    def accepts(self, value: Any) -> bool:
        return value in self.options

    def describe(self) -> str:
        return "one of " + ", ".join(repr(option) for option in self.options)


def check_params(owner: str, values: Mapping[str, Any], constraints: Mapping[str, Interval | OneOf]) -> None:
    """Raise ``ParameterError`` for the first value that its constraint rejects."""
    for name, constraint in constraints.items():
        value = values[name]
        if not constraint.accepts(value):
            raise ParameterError(
                f"The '{name}' parameter of {owner} must be {constraint.describe()}. Got {value!r} instead."
            )
