"""What to send instead of a value of the wrong JSON type.

Types are strict (api/serving/fields.py): ``"302"`` is text, ``true`` is no number and
``1`` no boolean. The refusal names the field; the hint here shows the value
as it should have been sent, when it can be read off what was sent.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["type_hint"]

_NUMBER_TEXT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_WHOLE_TEXT = re.compile(r"-?\d+")


def _unquoted(value: Any, pattern: re.Pattern[str]) -> str | None:
    if isinstance(value, str) and len(value) <= 40 and pattern.fullmatch(value.strip()):
        return f"send {value.strip()} without quotes: a JSON number, not text"
    return None


def type_hint(kind: str, value: Any) -> str | None:
    """A fix for pydantic's ``kind`` of type error on ``value``, or None when it is not a type error."""
    if kind not in ("float_type", "int_type", "bool_type", "string_type", "finite_number"):
        return None
    if value is None:
        return "this field is never missing in training, so null is refused: send a value"
    if kind == "float_type":
        if isinstance(value, bool):
            return "send a JSON number; true and false are not numbers"
        return _unquoted(value, _NUMBER_TEXT) or "send a JSON number, e.g. 42 or 4.2"
    if kind == "int_type":
        if isinstance(value, bool):
            return "send a whole JSON number; true and false are not numbers"
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return f"send {int(value)}: a whole number has no decimal point"
        if isinstance(value, float):
            return "send a whole number: this field takes no fractions"
        return _unquoted(value, _WHOLE_TEXT) or "send a whole JSON number, e.g. 7"
    if kind == "bool_type":
        return "send true or false: JSON booleans, without quotes (not 1, 0, \"yes\" or \"true\")"
    if kind == "string_type":
        return "send one of its categories as a JSON string, in quotes; /docs lists them"
    return "send a finite number: JSON has no NaN or Infinity"
