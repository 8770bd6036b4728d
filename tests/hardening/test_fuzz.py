"""Property-based fuzz of every endpoint in the OpenAPI document, against a real `python -m api`.

schemathesis generates valid requests (positive) and invalid ones (negative)
for each operation and checks each response: never a 5xx, a status code and
content type the document lists, a body that matches its documented schema,
invalid data refused and valid data accepted.
"""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.hardening.server import ADMIN_KEY, running_api

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION_AND_MODE = 40


def _whole_numbers_as_integers(value):
    """``2.0`` written as ``2``, throughout a generated body.

    Under OpenAPI 3.1 (JSON Schema 2020-12) ``2.0`` is an integer, so schemathesis
    sends it for integer fields; freeport's types are strict JSON types, where a
    number written with a decimal point is not a whole number (tests/test_strict_types.py
    pins that refusal). Written as ``2`` the value stays valid, for integer and
    number fields alike, and invalid where it was invalid.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_integers(item) for item in value]
    return value


def positive_data_accepted_unless_the_model_failed(ctx, response, case):
    """schemathesis's positive_data_acceptance, but for the model's own failure and the lifecycle's
    refusals of content (CONTENT_REFUSALS).

    Any finite number is served (the training range is information), so the fuzz
    sends inputs such as 2.4e250 that no model can answer with a finite number:
    the predictor refuses those rows with a 422 `prediction_failed`, as DESIGN.md
    requires, though the request was valid. Any other refusal of valid data fails.
    """
    if response.status_code == 422 and response.json().get("error") == "prediction_failed":
        return None
    lifecycle = case.path.startswith("/admin/models/")
    if lifecycle and response.status_code in (415, 422) and response.json().get("error") in CONTENT_REFUSALS:
        return None
    return positive_data_acceptance(ctx, response, case)


# The lifecycle's refusals (/admin/models/…) of what only its content can show, whatever its JSON
# shape: an uploaded card that is no card or a file that is no model (any object is a schema-valid
# `card`, any string a schema-valid file), evaluation rows the model's own schema refuses, a forced
# promotion without a reason.
CONTENT_REFUSALS = {"invalid_card", "parity_failed", "unsafe_format", "invalid_input"}


def test_fuzz_every_endpoint_no_5xx_and_every_response_matches_its_schema(tmp_path):
    with running_api(tmp_path) as api:
        schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")

        @schema.hook("map_body")
        def _strict_integers(context, body):
            return _whole_numbers_as_integers(body)

        operations = [result.ok() for result in schema.get_all_operations()]
        cases, failures, nothing_invalid = 0, [], []
        started = time.monotonic()
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                    derandomize=True,
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case):
                    nonlocal cases
                    cases += 1
                    # The admin key too, so /admin/stats and /metrics are fuzzed past their gate.
                    case.call_and_validate(base_url=api.url, headers={"X-API-Key": ADMIN_KEY}, timeout=30,
                                           excluded_checks=[positive_data_acceptance],
                                           additional_checks=[positive_data_accepted_unless_the_model_failed])

                try:
                    run()
                except Unsatisfiable:
                    if mode is not GenerationMode.NEGATIVE:
                        raise
                    # No parameters or body to get wrong (GET /health, or a path taking any string).
                    nothing_invalid.append(operation.label)
                except Exception as exc:  # collect every operation's failure, not just the first
                    failures.append(f"{operation.label} [{mode.value}]: {exc}")
        elapsed = time.monotonic() - started
        output = api.output()
        documented = requests.get(f"{api.url}/openapi.json", timeout=10).json()["paths"]
    # Only an operation that takes nothing a client could get wrong (no body, text parameters at
    # most) may have no invalid input: a predict route there would mean its negative cases never ran.
    takes_nothing_checked = {
        f"{method.upper()} {path}" for path, methods in documented.items() for method, operation in methods.items()
        if "requestBody" not in operation
        and all(p.get("schema", {}).get("type") == "string" for p in operation.get("parameters", []))
    }
    assert set(nothing_invalid) <= takes_nothing_checked, set(nothing_invalid) - takes_nothing_checked
    print(f"\nfuzz: {cases} cases over {len(operations)} operations in {elapsed:.0f} s, "
          f"{len(failures)} failing operation(s); no invalid input exists for {len(nothing_invalid)}")
    assert len(operations) >= 10
    assert failures == [], "\n\n".join(failures)
    assert "Traceback" not in output
