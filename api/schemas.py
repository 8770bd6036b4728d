"""Per-model request and response schemas, generated from the model card.

This is the only place a model's fields turn into types: /docs, validation
errors and responses all follow from what is built here. Each JSON property
keeps the feature's own name (as an alias) whatever characters it holds.

A batch body is checked twice over only when it is wrong. ``batch_rows``
applies the same rules with pydantic-core's own constraints (a range, a set of
literals) into plain dicts: no Python call per value, no model to dump, half the
time of ``batch`` on 1,000 rows. It cannot say how to fix a refused value, so
a refused body goes through ``batch``, whose checks explain each error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from api.card import FeatureSpec, ModelCard
from api.errors import closest

__all__ = ["ModelSchemas", "build_schemas", "pascal_case"]


def pascal_case(name: str) -> str:
    """``flight-delay`` → ``FlightDelay``: the prefix of a model's schema names."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


@dataclass(frozen=True)
class ModelSchemas:
    """The pydantic classes one model's endpoints take and return."""

    features: type[BaseModel]
    batch: type[BaseModel]
    prediction: type[BaseModel]
    batch_prediction: type[BaseModel]
    # A batch body as {"rows": [dict keyed by feature name, ...]}: what ``batch`` accepts, checked faster.
    batch_rows: TypeAdapter[dict[str, Any]]


def _range_checker(spec: FeatureSpec, low: float, high: float):
    seen = f"{spec.minimum:g} to {spec.maximum:g}"
    accepted = "" if (low, high) == (spec.minimum, spec.maximum) else f"; up to {low:g} to {high:g} is accepted"

    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError(
                "out_of_range",
                "{value} is outside the range this model was trained on ({seen}){accepted}",
                {"value": value, "seen": seen, "accepted": accepted, "hint": f"send a value from {low:g} to {high:g}"},
            )
        return value

    return check


def _category_checker(spec: FeatureSpec):
    known = frozenset(spec.categories or ())

    def check(value: str) -> str:
        if value not in known:
            suggestion = closest(value, known)
            raise PydanticCustomError(
                "unknown_category",
                "'{value}' is not a category this model was trained on",
                {"value": value, "hint": f"did you mean '{suggestion}'?" if suggestion else None},
            )
        return value

    return check


def _describe(spec: FeatureSpec) -> str:
    text = spec.description.rstrip(".")
    if spec.type in ("number", "integer"):
        seen = f"Seen in training: {spec.minimum:g} to {spec.maximum:g}"
    elif spec.type == "category":
        seen = f"One of {len(spec.categories or [])} categories"
    else:
        seen = "true or false"
    missing = "; null when unknown" if spec.nullable else ""
    return f"{text + '. ' if text else ''}{seen}{missing}."


def _bounds(spec: FeatureSpec, tolerance: float) -> tuple[float, float]:
    """The values a number field accepts: the training range widened by ``tolerance`` of its width."""
    margin = (spec.maximum - spec.minimum) * tolerance
    low, high = spec.minimum - margin, spec.maximum + margin
    if spec.type == "integer":  # round inwards: a tolerance never admits a new whole value by accident
        low, high = math.ceil(low), math.floor(high)
    return low, high


def _annotation(spec: FeatureSpec, tolerance: float) -> Any:
    """The type of one field: validated as the card says, documented with its bounds or categories."""
    if spec.type in ("number", "integer"):
        low, high = _bounds(spec, tolerance)
        documented = WithJsonSchema({"type": spec.type, "minimum": low, "maximum": high})
        check = AfterValidator(_range_checker(spec, low, high))
        if spec.type == "number":
            annotation: Any = Annotated[float, Field(allow_inf_nan=False), check, documented]
        else:
            annotation = Annotated[int, check, documented]
    elif spec.type == "category":
        documented = WithJsonSchema({"type": "string", "enum": spec.categories})
        annotation = Annotated[str, AfterValidator(_category_checker(spec)), documented]
    else:
        annotation = bool
    # The schema sits on the inner type, so `null` stays valid beside it for nullable fields.
    return Optional[annotation] if spec.nullable else annotation  # noqa: UP045 -- a type built at run time


def _plain_annotation(spec: FeatureSpec, tolerance: float) -> Any:
    """What _annotation accepts, as constraints pydantic-core checks itself (without the advice)."""
    if spec.type in ("number", "integer"):
        low, high = _bounds(spec, tolerance)
        if spec.type == "number":
            annotation: Any = Annotated[float, Field(ge=low, le=high, allow_inf_nan=False)]
        else:
            annotation = Annotated[int, Field(ge=low, le=high)]
    elif spec.type == "category" and spec.categories:
        annotation = Literal[tuple(spec.categories)]
    elif spec.type == "category":  # no category seen: nothing is accepted, and _annotation says so
        return _annotation(spec, tolerance)
    else:
        annotation = bool
    return Optional[annotation] if spec.nullable else annotation  # noqa: UP045 -- a type built at run time


def _plain_batch(card: ModelCard, prefix: str, tolerance: float, max_batch_rows: int) -> TypeAdapter:
    # Keys are the features' own names: the functional TypedDict form takes any string.
    row = TypedDict(f"{prefix}Row", {spec.name: _plain_annotation(spec, tolerance) for spec in card.features})
    row.__pydantic_config__ = ConfigDict(extra="forbid")
    rows = Annotated[list[row], Field(min_length=1, max_length=max_batch_rows)]
    batch = TypedDict(f"{prefix}PlainBatch", {"rows": rows})  # noqa: UP013 -- a type built at run time
    batch.__pydantic_config__ = ConfigDict(extra="forbid")
    return TypeAdapter(batch)


def _features_model(card: ModelCard, prefix: str, tolerance: float) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for index, spec in enumerate(card.features):
        annotation = _annotation(spec, tolerance)
        # Python names are positional so any column name (spaces, `copy`, `json`) is safe;
        # the alias is what clients see and send.
        fields[f"f{index}"] = (
            annotation,
            Field(
                alias=spec.name,
                description=_describe(spec),
                examples=[spec.default],
            ),
        )
    return create_model(
        f"{prefix}Features",
        __config__=ConfigDict(
            extra="forbid",
            populate_by_name=False,
            json_schema_extra={"examples": card.examples[:1]},
        ),
        __doc__=f"One row of input for `{card.name}`: {card.title}.",
        **fields,
    )


def build_schemas(card: ModelCard, *, tolerance: float, max_batch_rows: int) -> ModelSchemas:
    """Request and response classes for one model, named ``<Model>Features`` etc."""
    prefix = pascal_case(card.name)
    features = _features_model(card, prefix, tolerance)
    batch = create_model(
        f"{prefix}Batch",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rows": card.examples}]}),
        __doc__=f"Up to {max_batch_rows} rows for `{card.name}`.",
        rows=(list[features], Field(min_length=1, max_length=max_batch_rows)),
    )
    if card.task == "classification":
        label: Any = Literal[tuple(card.classes or ())]
        outcome_fields: dict[str, Any] = {
            "prediction": (label, Field(description=f"The most likely class of `{card.target}`.")),
            "probabilities": (
                dict[str, float],
                Field(description=f"Probability of each class: {', '.join(card.classes or ())}."),
            ),
        }
    else:
        outcome_fields = {"prediction": (float, Field(description=f"The predicted `{card.target}`."))}
    identity: dict[str, Any] = {
        "model": (str, Field(description="The model's name.")),
        "version": (str, Field(description="The model's version, from its card.")),
        "request_id": (str, Field(description="Also in the X-Request-ID header; quote it in bug reports.")),
    }
    outcome = create_model(f"{prefix}Outcome", **outcome_fields)
    prediction = create_model(f"{prefix}Prediction", **identity, **outcome_fields)
    batch_prediction = create_model(
        f"{prefix}BatchPrediction", **identity, predictions=(list[outcome], Field(description="One per row, in order."))
    )
    batch_rows = _plain_batch(card, prefix, tolerance, max_batch_rows)
    return ModelSchemas(features, batch, prediction, batch_prediction, batch_rows)
