"""The one settings object: every knob comes from the environment, read once.

Defaults run locally with no set-up (SQLite file, the bundled example models,
no keys). Platforms set HOST/PORT/DATABASE_URL/WEB_CONCURRENCY themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "load_settings", "normalise_database_url"]


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
    strict_ranges: bool = Field(
        False,
        description="Refuse numbers outside the training range (widened by RANGE_TOLERANCE). Off: any "
        "finite number is served, and one outside the training range is named in the outcome's out_of_range.",
    )
    range_tolerance: float = Field(
        0.05,
        ge=0,
        description="With STRICT_RANGES: how far past the training range a number may go, as a "
        "fraction of that range, before it is refused.",
    )
    max_batch_rows: int = Field(1000, ge=1, le=100_000)
    version_poll_seconds: float = Field(
        2.0,
        gt=0,
        description="How often each instance reads the database's active versions, so a promotion made on "
        "another instance is served here within about this long.",
    )
    model_cache_dir: Path = Field(
        Path("model-cache"),
        description="Folder where versions read from the database are written before they load; a cache, "
        "rebuilt from the database whenever it is missing (free hosts wipe it at every deploy).",
    )

    # -- prediction log ---------------------------------------------------
    database_url: str = Field(
        "sqlite:///freeport.db",
        description="SQLAlchemy URL; postgres:// URLs from managed databases are accepted.",
    )
    predlog_queue_size: int = Field(
        50_000,
        ge=1,
        description="Records held in memory on their way to the spill file; with the spill full too, "
        "predictions are refused (503) rather than answered and forgotten.",
    )
    predlog_batch_size: int = Field(500, ge=1, description="Records the log appends to its spill file at a time.")
    predlog_flush_seconds: float = Field(
        0.5, gt=0, description="Longest a record waits in memory before it is appended to the spill file."
    )
    # -- prediction log spill (issue 14) ------------------------------------
    predlog_spill_dir: Path = Field(
        Path("predlog-spill"),
        description="Folder of the log's spill files: every record is appended (fsynced) there before the "
        "database stores it, so a slow or stopped database, or a restart, loses nothing.",
    )
    predlog_spill_max_bytes: int = Field(
        512 * 1024 * 1024,
        ge=4096,
        description="Most bytes of records waiting in one spill file (about 400 bytes a row).",
    )
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

    # -- production hardening (issue 6): keys, limits, proxies, CORS, limits on requests, logs ------
    api_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated keys accepted on the predict endpoints (X-API-Key or "
        "Authorization: Bearer). Empty: the API is open.",
    )
    admin_api_key: SecretStr = Field(
        SecretStr(""), description="Key for /admin/* (and /metrics when set). Empty: admin endpoints are off."
    )
    trusted_proxy_hops: int = Field(
        0,
        ge=0,
        le=10,
        description="Proxies in front of the app that append to X-Forwarded-For; the client is the entry "
        "that many places from the right. 0: the socket peer. Render: 2.",
    )
    client_ip_header: str = Field(
        "", description="A header the platform sets to the client address (Fly: Fly-Client-IP); wins over XFF."
    )
    rate_limit_predict: str = Field("60/minute", description="Per client, on POST /models/{name}/predict.")
    rate_limit_batch: str = Field("20/minute", description="Per client, on POST /models/{name}/predict/batch.")
    rate_limit_storage_url: SecretStr = Field(
        SecretStr(""), description="Empty: counters in memory (one instance). redis://…: shared by instances."
    )
    rate_limit_key_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret that names the counters (HMAC of the key or address). Empty: random per process, "
        "fine in memory; with Redis, set the same value on every instance.",
    )
    rate_limit_failed_keys: str = Field(
        "10/minute", description="Wrong API keys per client address before every key is refused (429)."
    )
    rate_limit_key_prefix: str = Field("freeport", description="Prefix of the counters' keys in shared storage.")
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS; empty: no CORS headers.")
    cors_allow_credentials: bool = Field(False, description="Allow cookies/credentials cross-origin (never with *).")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted (413 past it).")
    request_timeout_seconds: float = Field(
        30.0, gt=0, description="A request still running after this, reading its body included, gets 504."
    )
    body_budget_bytes: int = Field(
        67_108_864, ge=1_048_576,
        description="Request bodies the whole process may hold at once; a request that would pass it gets 503.",
    )
    max_connections: int = Field(
        400, ge=10, description="Open connections (and requests in flight) before uvicorn answers 503."
    )
    headers_timeout_seconds: float = Field(
        10.0, gt=0, description="Time a connection has to send a request's headers; then it is closed (408)."
    )
    max_header_bytes: int = Field(
        16_384, ge=4096, description="Largest request line plus headers; past it, 431 and the connection is closed."
    )
    keep_alive_seconds: int = Field(5, ge=1, description="An idle keep-alive connection is closed after this.")
    log_format: Literal["json", "text"] = Field("json", description="json: one JSON object per log line.")
    graceful_shutdown_seconds: float = Field(
        20.0, gt=0, description="After SIGTERM, how long in-flight requests get to finish."
    )

    @field_validator("rate_limit_predict", "rate_limit_batch", "rate_limit_failed_keys")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit; write e.g. '60/minute' or '10/second;500/hour'") from None
        return value

    @model_validator(mode="after")
    def _refuse_wildcard_with_credentials(self) -> Settings:
        # Browsers reject `Access-Control-Allow-Origin: *` with credentials; echoing any origin instead
        # would let every site act with a visitor's cookies. https://fetch.spec.whatwg.org/#cors-protocol-and-credentials
        if self.cors_allow_credentials and "*" in self.cors_origin_list:
            raise ValueError("CORS_ORIGINS='*' cannot be combined with CORS_ALLOW_CREDENTIALS=true; list the origins")
        return self

    @property
    def refusal_tolerance(self) -> float | None:
        """What the schemas hold numbers to: RANGE_TOLERANCE with STRICT_RANGES, else None (flag only)."""
        return self.range_tolerance if self.strict_ranges else None

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]


class SettingsError(Exception):
    """A configuration the service refuses, described by field names and reasons only."""


def load_settings(**overrides) -> Settings:
    """Settings from the environment; on a bad value, a SettingsError that never quotes what was set.

    pydantic's own message echoes ``input_value`` (for a model-level error, every variable at once,
    API_KEYS and ADMIN_API_KEY included), and start-up errors land in logs others can read.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [
            f"- {'.'.join(str(p) for p in error['loc']).upper() or 'settings'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise SettingsError("the configuration is not valid:\n" + "\n".join(lines)) from None
