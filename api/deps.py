"""Typed dependencies: how a route reaches the app's state (never a module global)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.serving.registry import Registry
from api.settings import Settings
from api.storage.predlog import PredictionLog

__all__ = ["PredictionLogDep", "RegistryDep", "SettingsDep", "request_id"]


def _registry(request: Request) -> Registry:
    return request.app.state.registry


def _prediction_log(request: Request) -> PredictionLog:
    return request.app.state.prediction_log


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def request_id(request: Request) -> str:
    """The id the request-id middleware gave this request."""
    return request.scope["state"]["request_id"]


RegistryDep = Annotated[Registry, Depends(_registry)]
PredictionLogDep = Annotated[PredictionLog, Depends(_prediction_log)]
SettingsDep = Annotated[Settings, Depends(_settings)]
