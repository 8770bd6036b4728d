"""The model cards: what each model takes, returns and how well it did."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.card import ModelCard
from api.deps import RegistryDep
from api.errors import ErrorBody
from api.registry import LOAD_WAIT_SECONDS, ModelEntry

__all__ = ["ModelPublic", "router"]

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


@router.get("/models/{name}", response_model=ModelPublic, responses={404: {"model": ErrorBody}})
def get_model(name: str, registry: RegistryDep) -> ModelPublic:
    """One model's card: features with types, ranges and categories; metrics; versions."""
    registry.wait_loaded(LOAD_WAIT_SECONDS)
    return to_public(registry.get(name))
