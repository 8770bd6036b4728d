"""The one settings object: every knob comes from the environment, read once.

Defaults run locally with no set-up (SQLite file, the bundled example models,
no keys). Platforms set HOST/PORT/DATABASE_URL/WEB_CONCURRENCY themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "normalise_database_url"]


def normalise_database_url(url: str) -> str:
    """Return a URL SQLAlchemy accepts for the database managed platforms hand out.

    Render and Fly give ``postgres://…``; SQLAlchemy 1.4+ only knows
    ``postgresql://`` (https://github.com/sqlalchemy/sqlalchemy/issues/6083).
    """
    if url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


class Settings(BaseSettings):
    """Service configuration, immutable once built.

    Every field is read from the environment variable of the same name in
    upper case (``MODELS_DIR``, ``DATABASE_URL``, …).
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # -- where and how the server listens --------------------------------
    host: str = Field("0.0.0.0", description="Interface to bind; platforms need 0.0.0.0.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port; platforms set PORT.")
    web_concurrency: int = Field(
        1,
        ge=1,
        le=16,
        description="Worker processes. Each one holds its own copy of every model, "
        "so keep 1 on a 512 MB instance.",
    )
    log_level: str = Field("info", pattern="^(critical|error|warning|info|debug)$")

    # -- models -----------------------------------------------------------
    models_dir: Path = Field(Path("models"), description="Folder of model bundles.")
    allow_version_mismatch: bool = Field(
        False,
        description="Serve a bundle saved with another scikit-learn version "
        "(risky: predictions may differ or loading may fail).",
    )
    range_tolerance: float = Field(
        0.05,
        ge=0,
        description="How far past the training range a number may go, as a "
        "fraction of that range, before it is refused.",
    )
    max_batch_rows: int = Field(1000, ge=1, le=100_000)

    # -- prediction log ---------------------------------------------------
    database_url: str = Field(
        "sqlite:///freeport.db",
        description="SQLAlchemy URL; postgres:// URLs from managed databases are accepted.",
    )
    predlog_queue_size: int = Field(
        50_000, ge=1, description="Records held while the database is slow or down."
    )
    predlog_batch_size: int = Field(500, ge=1)
    predlog_flush_seconds: float = Field(0.5, gt=0)
    db_pool_size: int = Field(2, ge=1, description="Free databases allow few connections.")
    db_connect_timeout: float = Field(3.0, gt=0)

    # -- engines and micro-batching (issue 7) ------------------------------
    engine: Literal["auto", "onnx", "sklearn"] = Field(
        "auto",
        description="auto: a bundle's model.onnx on onnxruntime when it has one, else scikit-learn; "
        "onnx: refuse bundles without one; sklearn: always the pickled pipeline.",
    )
    micro_batch_max_rows: int = Field(
        64, ge=1, le=10_000, description="Most single-row requests answered by one model call."
    )
    micro_batch_wait_ms: float = Field(
        0.0,
        ge=0,
        le=50,
        description="How long the first waiting request may wait for others to join its model "
        "call; 0 groups only requests that arrive while the model is busy.",
    )

    @field_validator("database_url")
    @classmethod
    def _accept_postgres_scheme(cls, url: str) -> str:
        return normalise_database_url(url)
