"""The type of one input field, derived from its FeatureSpec, in two forms that accept the same values.

``explained`` checks a value and, when it refuses one, says why and what to
send; ``plain`` states the same rules as pydantic-core's own constraints (no
Python call per value) for the batch route's fast path. tests/test_batch_rules.py
proves the two agree.

Types are strict, as JSON types: a number field takes JSON numbers (a whole
number is a number), an integer field whole JSON numbers only (``3.0`` is not
one), a boolean only ``true``/``false``, a category only values of its
categories' own JSON type. Nothing is coerced: ``"302"`` is text, not 302.

``tolerance`` is how far past the training range a number may go, as a fraction
of it (STRICT_RANGES); ``None`` accepts any finite number, the range being
information for ``out_of_range`` (api/serving/ranges.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, GetPydanticSchema, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError, core_schema

from api.encodable import escape_surrogates
from api.errors import closest
from api.serving.card import FeatureSpec
from api.serving.ranges import accepted_range, clean_number, format_number, has_range

__all__ = ["describe", "explained", "plain"]

# The training columns are 64-bit: a whole number past this cannot reach the model as one.
INT64 = (-(2**63), 2**63 - 1)


def _accepted(spec: FeatureSpec, tolerance: float | None) -> tuple[float, float] | None:
    """The bounds a number is held to, or None when any finite number is served."""
    if tolerance is None or not has_range(spec):
        return None
    return accepted_range(spec, tolerance)


def _seen(spec: FeatureSpec) -> str:
    return f"{format_number(spec.minimum)} to {format_number(spec.maximum)}"


def _int_categories(spec: FeatureSpec) -> bool:
    return bool(spec.categories) and all(isinstance(c, int) for c in spec.categories)


def _json_schema(spec: FeatureSpec, tolerance: float | None) -> dict[str, Any]:
    if spec.type == "category":
        return {"type": "integer" if _int_categories(spec) else "string", "enum": list(spec.categories or [])}
    schema: dict[str, Any] = {"type": spec.type}  # a boolean has no range: {"type": "boolean"} alone
    if spec.type == "integer":
        schema["format"] = "int64"
    bounds = _accepted(spec, tolerance)
    if bounds is not None:  # hard limits only when they are enforced
        schema["minimum"], schema["maximum"] = bounds
    if has_range(spec):  # the training range, as information
        schema["x-training-minimum"] = clean_number(spec.minimum)
        schema["x-training-maximum"] = clean_number(spec.maximum)
    return schema


def describe(spec: FeatureSpec, tolerance: float | None) -> str:
    """The field's description in /docs: the card's words, then its range or categories."""
    text = spec.description.rstrip(".")
    if has_range(spec):
        seen = f"Seen in training: {_seen(spec)}"
        bounds = _accepted(spec, tolerance)
        if bounds is None:
            seen += "; a value outside is served and named in the response's `out_of_range`"
        else:
            seen += f"; accepted: {format_number(bounds[0])} to {format_number(bounds[1])}"
    elif spec.type in ("number", "integer"):
        seen = "Any finite number" if spec.type == "number" else "Any whole number"
    elif spec.type == "category":
        seen = f"One of {len(spec.categories or [])} categories"
    else:
        seen = "true or false"
    missing = "; null when unknown" if spec.nullable else ""
    return f"{text + '. ' if text else ''}{seen}{missing}."


def _range_checker(spec: FeatureSpec, low: float, high: float):
    # Said as a sentence a visitor can act on ("must be between -165 and 5228"), since the demo
    # shows it as it is, under the field or beside a CSV row.
    between = f"between {format_number(low)} and {format_number(high)}"
    if (low, high) == (spec.minimum, spec.maximum):
        why = f"is outside the range this model was trained on: it must be {between}"
    else:
        why = f"is outside the range this model accepts: it must be {between} (seen in training: {_seen(spec)})"

    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError(
                "out_of_range",
                "{value} " + why,  # numbers and words only: no brace for the template to read
                {"value": value, "hint": f"send a value {between}"},
            )
        return value

    return check


def _int64_checker(value: int) -> int:
    if not INT64[0] <= value <= INT64[1]:
        raise PydanticCustomError(
            "int64_overflow",
            "{value} does not fit in a whole number the model can read (64 bits)",
            {"value": value, "hint": f"send a whole number from {INT64[0]} to {INT64[1]}"},
        )
    return value


def _category_checker(spec: FeatureSpec):
    categories = spec.categories or []
    known = frozenset(categories)
    listed = ", ".join(map(str, categories[:20])) + (", …" if len(categories) > 20 else "")
    # What the field takes (an empty column in training takes null alone); for text, a near name first,
    # the likelier fix (a typo, another case). Worked out once here, not per refused value.
    takes = f"send one of {listed}" if categories else "send null: this field had no value in training"
    text = not _int_categories(spec)

    def hint_for(value: Any) -> str:
        near = closest(value, known) if text else None
        return f"did you mean '{near}'?" if near else takes

    def check(value: Any) -> Any:
        if value not in known:
            # Escaped: pydantic-core cannot render a message holding a lone surrogate (it raises instead).
            shown = f"'{escape_surrogates(value)}'" if isinstance(value, str) else str(value)
            raise PydanticCustomError(
                "unknown_category",
                "{shown} is not a category this model was trained on",
                {"shown": shown, "hint": hint_for(value)},
            )
        return value

    return check


def explained(spec: FeatureSpec, tolerance: float | None) -> Any:
    """The field's type, checked in Python where a refusal needs explaining."""
    documented = WithJsonSchema(_json_schema(spec, tolerance))
    if spec.type in ("number", "integer"):
        bounds = _accepted(spec, tolerance)
        checks = [AfterValidator(_range_checker(spec, *bounds))] if bounds else []
        if spec.type == "number":
            annotation: Any = Annotated[float, Strict(), Field(allow_inf_nan=False), *checks, documented]
        else:
            annotation = Annotated[int, Strict(), AfterValidator(_int64_checker), *checks, documented]
    elif spec.type == "category":
        kind = int if _int_categories(spec) else str
        annotation = Annotated[kind, Strict(), AfterValidator(_category_checker(spec)), documented]
    else:
        annotation = Annotated[bool, Strict(), documented]
    # The schema sits on the inner type, so `null` stays valid beside it for nullable fields.
    return Optional[annotation] if spec.nullable else annotation  # noqa: UP045 -- a type built at run time


def _strict_int_in(values: list[int]) -> GetPydanticSchema:
    # A Literal of ints alone takes `true` for 1 and `3.0` for 3, strict or not: check the JSON type first.
    chain = core_schema.chain_schema([core_schema.int_schema(strict=True), core_schema.literal_schema(values)])
    return GetPydanticSchema(lambda _source, _handler: chain)


def plain(spec: FeatureSpec, tolerance: float | None) -> Any:
    """What :func:`explained` accepts, as constraints pydantic-core checks itself (without the advice)."""
    if spec.type in ("number", "integer"):
        low, high = _accepted(spec, tolerance) or (None, None)
        if spec.type == "number":
            annotation: Any = Annotated[float, Strict(), Field(ge=low, le=high, allow_inf_nan=False)]
        else:
            low, high = (INT64[0], INT64[1]) if low is None else (low, high)  # a training range is 64-bit
            annotation = Annotated[int, Strict(), Field(ge=low, le=high)]
    elif spec.type == "category" and _int_categories(spec):
        annotation = Annotated[int, _strict_int_in(list(spec.categories))]
    elif spec.type == "category" and spec.categories:
        annotation = Literal[tuple(spec.categories)]  # in JSON, a text literal matches only a JSON string
    elif spec.type == "category":  # no category seen: nothing is accepted, and `explained` says so
        return explained(spec, tolerance)
    else:
        annotation = Annotated[bool, Strict()]
    return Optional[annotation] if spec.nullable else annotation  # noqa: UP045 -- a type built at run time
