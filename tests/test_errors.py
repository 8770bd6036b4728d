"""api/errors.py: each error's status and code as clients read them, and the words of a failed prediction."""

from __future__ import annotations

import pytest

from api.errors import (
    BundleError,
    ErrorBody,
    ErrorDetail,
    FreeportError,
    InvalidInputError,
    MissingKeyError,
    ModelNotFoundError,
    ModelUnavailableError,
    PredictionFailedError,
    PredictionLogFullError,
    UnsupportedMediaTypeError,
    WrongKeyError,
    error_responses,
)

HINT = "the values are within the schema but the model cannot use them; try values nearer the examples"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (FreeportError, 500, "internal_error"),
        (BundleError, 503, "bundle_error"),
        (ModelNotFoundError, 404, "model_not_found"),
        (ModelUnavailableError, 503, "model_unavailable"),
        (InvalidInputError, 422, "invalid_input"),
        (PredictionFailedError, 422, "prediction_failed"),
        (PredictionLogFullError, 503, "prediction_log_full"),
        (UnsupportedMediaTypeError, 415, "unsupported_media_type"),
        (MissingKeyError, 401, "missing_api_key"),
        (WrongKeyError, 403, "wrong_api_key"),
    ],
)
def test_each_error_has_the_status_and_code_clients_are_told(error, status, code):
    # Clients branch on `error` (the code): renaming one breaks them silently.
    raised = error("what went wrong", [ErrorDetail(field="a", message="b")])
    assert (raised.status_code, raised.code) == (status, code)
    assert str(raised) == raised.message == "what went wrong"  # as a traceback shows it
    assert raised.details == [ErrorDetail(field="a", message="b", hint=None)]
    assert isinstance(raised, FreeportError)


def test_an_error_without_details_has_an_empty_list_of_its_own():
    first, second = FreeportError("one"), FreeportError("two")
    first.details.append(ErrorDetail(message="x"))
    assert second.details == []


def test_a_failed_row_is_named_with_its_reason_and_a_hint():
    error = PredictionFailedError.for_row("the model raised ValueError: Input X contains NaN.")
    assert error.message == "the model could not predict this row: the model raised ValueError: Input X contains NaN."
    assert error.details == [ErrorDetail(field=None, message="the model raised ValueError: Input X contains NaN.",
                                         hint=HINT)]
    assert error.failures == {}


@pytest.mark.parametrize(
    ("count", "shown"),
    [(1, "0"), (10, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"), (11, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 …")],
)
def test_failed_rows_of_a_batch_are_named_ten_at_most_in_the_message_and_all_in_the_details(count, shown):
    failures = {i: f"reason {i}" for i in reversed(range(count))}  # in any order: named in row order
    error = PredictionFailedError.for_rows(failures)
    assert error.message == f"the model could not predict rows {shown}; no row was answered"
    assert error.details == [ErrorDetail(field=f"rows.{i}", message=f"reason {i}", hint=HINT) for i in range(count)]
    assert error.failures == failures


def test_error_responses_document_each_status_with_the_error_body():
    assert error_responses({404: "No such model.", 503: "Down."}) == {
        404: {"model": ErrorBody, "description": "No such model."},
        503: {"model": ErrorBody, "description": "Down."},
    }
