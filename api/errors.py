"""Errors freeport raises on purpose, and the one JSON shape they take over HTTP.

    FreeportError                 anything freeport refuses, with a hint to fix it
    ├── BundleError               a bundle on disk cannot be served
    ├── ModelNotFoundError        no model by that name (404)
    ├── ModelUnavailableError     the model exists but failed to load (503)
    ├── InvalidInputError         the request's data breaks the model's schema (422)
    │   └── PredictionFailedError the model itself failed on rows the schema accepted (422)
    ├── PredictionLogFullError    the prediction log cannot keep another prediction (503)
    ├── DatabaseUnavailableError  what was asked lives in the database, which does not answer (503)
    ├── UploadRefusedError        an uploaded version is not accepted; nothing is stored
    │   ├── UnsafeFormatError     a file whose loading could run code (a pickle) (415)
    │   ├── InvalidCardError      the card, or a file against it, is wrong (422)
    │   ├── ParityFailedError     the model does not answer as its card says (422)
    │   └── VersionExistsError    the model has that bundle, or that version, already (409)
    ├── LifecycleConflictError    a promotion or rollback cannot happen in the model's state (409)
    │   └── PromotionRefusedError the candidate scores worse than the active version (409)
    ├── UnsupportedMediaTypeError the body is not JSON (415)
    ├── MissingKeyError           an API key is required and none was sent (401)
    └── WrongKeyError             the key sent is not accepted here (403)

Every error response, 4xx or 5xx, has the body ``ErrorBody``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "BundleError",
    "DatabaseUnavailableError",
    "ErrorBody",
    "ErrorDetail",
    "FreeportError",
    "InvalidCardError",
    "InvalidInputError",
    "LifecycleConflictError",
    "MissingKeyError",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "NoTrainingProfileError",
    "ParityFailedError",
    "PredictionFailedError",
    "PredictionLogFullError",
    "PromotionRefusedError",
    "UnsafeFormatError",
    "UnsupportedMediaTypeError",
    "UploadRefusedError",
    "VersionExistsError",
    "WrongKeyError",
    "closest",
    "error_responses",
]


class ErrorDetail(BaseModel):
    """One thing wrong with a request: where, what, and how to fix it."""

    field: str | None = Field(None, description="Dotted path of the field, e.g. `rows.3.carrier`.")
    message: str
    hint: str | None = Field(None, description="A likely fix, e.g. the closest valid name.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str = Field(description="Machine-readable code, e.g. `invalid_input`.")
    message: str = Field(description="What went wrong, for a person.")
    details: list[ErrorDetail] = Field(default_factory=list)
    request_id: str | None = None


class FreeportError(Exception):
    """Something freeport refuses to do, with a message that says how to fix it."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, details: Iterable[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


class BundleError(FreeportError):
    """A model bundle on disk is missing, corrupt or incompatible."""

    status_code = 503
    code = "bundle_error"


class ModelNotFoundError(FreeportError):
    """No model is registered under the requested name."""

    status_code = 404
    code = "model_not_found"


class ModelUnavailableError(FreeportError):
    """The model is known but could not be loaded, so it cannot predict."""

    status_code = 503
    code = "model_unavailable"


class InvalidInputError(FreeportError):
    """The request's data does not fit the model's schema."""

    status_code = 422
    code = "invalid_input"


class PredictionFailedError(InvalidInputError):
    """The model raised, or gave no finite answer, for rows the schema accepted; details name the rows."""

    code = "prediction_failed"
    HINT = "the values are within the schema but the model cannot use them; try values nearer the examples"

    def __init__(self, message: str, details: Iterable[ErrorDetail] = (), failures: dict[int, str] | None = None):
        super().__init__(message, details)
        self.failures = failures or {}

    @classmethod
    def for_row(cls, reason: str) -> PredictionFailedError:
        """The error of a one-row request (no row index: the request is the row)."""
        return cls(f"the model could not predict this row: {reason}", [ErrorDetail(message=reason, hint=cls.HINT)])

    @classmethod
    def for_rows(cls, failures: dict[int, str]) -> PredictionFailedError:
        """The error of a batch, naming each failing row as ``rows.<index>`` with its reason."""
        indices = sorted(failures)
        shown = ", ".join(map(str, indices[:10])) + (" …" if len(indices) > 10 else "")
        details = [ErrorDetail(field=f"rows.{i}", message=failures[i], hint=cls.HINT) for i in indices]
        return cls(f"the model could not predict rows {shown}; no row was answered", details, failures)


class PredictionLogFullError(FreeportError):
    """Memory and the spill file are both full: a prediction answered now could not be stored."""

    status_code = 503  # the handler adds Retry-After
    code = "prediction_log_full"


class NoTrainingProfileError(FreeportError):
    """The model's card records no training distribution to measure drift against."""

    status_code = 409
    code = "no_training_profile"


class DatabaseUnavailableError(FreeportError):
    """What was asked lives in the database (model versions, the prediction log), and it does not answer."""

    status_code = 503
    code = "database_unavailable"


class UploadRefusedError(FreeportError):
    """An uploaded version is not accepted; nothing was stored."""

    status_code = 422
    code = "upload_refused"


class UnsafeFormatError(UploadRefusedError):
    """An uploaded file whose loading could run code (a pickle); only ONNX is accepted."""

    status_code = 415
    code = "unsafe_format"


class InvalidCardError(UploadRefusedError):
    """The uploaded card does not follow the card format, or a file disagrees with it."""

    code = "invalid_card"


class ParityFailedError(UploadRefusedError):
    """The uploaded model does not answer as its card says (its check failed, or its examples fail)."""

    code = "parity_failed"


class VersionExistsError(UploadRefusedError):
    """The model already has this bundle, or another bundle under this version."""

    status_code = 409
    code = "version_exists"


class LifecycleConflictError(FreeportError):
    """A promotion or rollback that the model's state does not allow (no candidate, no previous version,
    no evaluation set, or pointers moved meanwhile)."""

    status_code = 409
    code = "lifecycle_conflict"


class PromotionRefusedError(LifecycleConflictError):
    """The candidate scores worse than the active version on the model's evaluation set."""

    code = "promotion_refused"


class UnsupportedMediaTypeError(FreeportError):
    """The request body is not declared as JSON."""

    status_code = 415
    code = "unsupported_media_type"


class MissingKeyError(FreeportError):
    """The endpoint needs an API key and the request carries none."""

    status_code = 401
    code = "missing_api_key"


class WrongKeyError(FreeportError):
    """The request's API key is unknown, or not allowed on this endpoint."""

    status_code = 403
    code = "wrong_api_key"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word`` (case-insensitive), or None when none is close."""
    by_lower = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.5)
    return by_lower[match[0]] if match else None


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for routes: each status documented with the one error shape."""
    return {code: {"model": ErrorBody, "description": text} for code, text in descriptions.items()}
