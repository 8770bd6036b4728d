"""Per-model request and response schemas, generated from the model card.

Here a model's fields (each typed by api/serving/fields.py) become its request and
response classes: /docs, validation errors and responses all follow from what
is built here. Each JSON property keeps the feature's own name (as an alias)
whatever characters it holds.

A batch body is checked twice over only when it is wrong. ``batch_rows``
applies the same rules with pydantic-core's own constraints (a range, a set of
literals) into plain dicts: no Python call per value, no model to dump, half the
time of ``batch`` on 1,000 rows. It cannot say how to fix a refused value, so
a refused body goes through ``batch``, whose checks explain each error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from api.serving.card import ModelCard
from api.serving.fields import describe, explained, plain
from api.serving.ranges import OutOfRange

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
    # Names the inputs of validated rows that lie outside the training range: each outcome's `out_of_range`.
    out_of_range: OutOfRange


def _plain_batch(card: ModelCard, prefix: str, tolerance: float | None, max_batch_rows: int) -> TypeAdapter:
    # Keys are the features' own names: the functional TypedDict form takes any string.
    row = TypedDict(f"{prefix}Row", {spec.name: plain(spec, tolerance) for spec in card.features})
    row.__pydantic_config__ = ConfigDict(extra="forbid")
    rows = Annotated[list[row], Field(min_length=1, max_length=max_batch_rows)]
    batch = TypedDict(f"{prefix}PlainBatch", {"rows": rows})  # noqa: UP013 -- a type built at run time
    batch.__pydantic_config__ = ConfigDict(extra="forbid")
    return TypeAdapter(batch)


def _features_model(card: ModelCard, prefix: str, tolerance: float | None) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for index, spec in enumerate(card.features):
        annotation = explained(spec, tolerance)
        # Python names are positional so any column name (spaces, `copy`, `json`) is safe;
        # the alias is what clients see and send.
        fields[f"f{index}"] = (
            annotation,
            Field(
                alias=spec.name,
                description=describe(spec, tolerance),
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


def _outcome_fields(card: ModelCard) -> dict[str, Any]:
    """What one row's answer holds: the prediction, class probabilities when the model gives them,
    and the inputs outside the training range."""
    if card.task == "classification":
        label: Any = Literal[tuple(card.classes or ())]
        fields: dict[str, Any] = {
            "prediction": (label, Field(description=f"The most likely class of `{card.target}`.")),
        }
        if card.probabilities:  # a label-only classifier (e.g. an SVM without probability=True) has none
            fields["probabilities"] = (
                dict[str, float],
                Field(description=f"Probability of each class: {', '.join(card.classes or ())}."),
            )
    else:
        fields = {"prediction": (float, Field(description=f"The predicted `{card.target}`."))}
    fields["out_of_range"] = (
        list[str],
        Field(
            description="The inputs whose value lies outside the range seen in training, in field order; "
            "always present, empty when none. The model extrapolates there: treat the prediction with care. "
            "Stored with the prediction in the log."
        ),
    )
    return fields


def build_schemas(card: ModelCard, *, tolerance: float | None, max_batch_rows: int) -> ModelSchemas:
    """Request and response classes for one model, named ``<Model>Features`` etc.

    ``tolerance``: how far past the training range a number is accepted (a fraction
    of the range, STRICT_RANGES); None serves any finite number and flags it.
    """
    prefix = pascal_case(card.name)
    features = _features_model(card, prefix, tolerance)
    batch = create_model(
        f"{prefix}Batch",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rows": card.examples}]}),
        __doc__=f"Up to {max_batch_rows} rows for `{card.name}`.",
        rows=(list[features], Field(min_length=1, max_length=max_batch_rows)),
    )
    outcome_fields = _outcome_fields(card)
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
    return ModelSchemas(features, batch, prediction, batch_prediction, batch_rows, OutOfRange(card.features))
