"""The model cards: what each model takes, returns and how well it did."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import RegistryDep
from api.errors import error_responses
from api.serving.card import ModelCard
from api.serving.registry import LOAD_WAIT_SECONDS, ModelEntry

__all__ = ["NAME_IN_PATH", "ModelPublic", "router"]

router = APIRouter(tags=["models"])


class ModelPublic(BaseModel):
    """A model as served: its card, its state, and where to call it."""

    model_config = {"protected_namespaces": ()}

    name: str
    state: Literal["pending", "ready", "failed"]
    error: str | None = None
    notes: list[str] = Field(default_factory=list, description="Warnings, e.g. a version mismatch.")
    predict_url: str
    batch_url: str
    load_seconds: float | None = None
    engine: Literal["onnx", "sklearn"] | None = Field(
        None, description="What runs the model: onnx (onnxruntime) or sklearn; absent until loaded."
    )
    card: ModelCard | None = Field(None, description="Absent when card.json could not be read.")


def to_public(entry: ModelEntry) -> ModelPublic:
    return ModelPublic(
        name=entry.name,
        state=entry.state,
        error=entry.error,
        notes=entry.notes,
        predict_url=f"/models/{entry.name}/predict",
        batch_url=f"/models/{entry.name}/predict/batch",
        load_seconds=entry.load_seconds,
        engine=entry.predictor.engine_name if entry.predictor else None,
        card=entry.card,
    )


# Plain `def` routes (run in the thread pool): right after start-up they wait for the models
# still loading, so a client such as the demo sees final states, not "pending".
@router.get("/models", response_model=list[ModelPublic])
def list_models(registry: RegistryDep) -> list[ModelPublic]:
    """Every model bundle found, with its card and whether it serves."""
    registry.wait_loaded(LOAD_WAIT_SECONDS)
    return [to_public(entry) for entry in registry]


# The name is read from the path rather than declared as a parameter: a text path segment cannot
# fail validation, yet a declared one makes FastAPI document a 422 this route never sends.
NAME_IN_PATH = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "title": "Name"},
    "description": "The model's name, as GET /models lists it.",
}


@router.get(
    "/models/{name}",
    response_model=ModelPublic,
    responses=error_responses({404: "No model by that name; the message suggests the closest one."}),
    openapi_extra={"parameters": [NAME_IN_PATH]},
)
def get_model(request: Request, registry: RegistryDep) -> ModelPublic:
    """One model's card: features with types, ranges and categories; metrics; versions."""
    registry.wait_loaded(LOAD_WAIT_SECONDS)
    return to_public(registry.get(request.path_params["name"]))
