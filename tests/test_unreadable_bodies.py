"""Nothing a client sends gets a 5xx, and a body that cannot be read is refused for its real reason.

The single-row route parses with Python's json module (through FastAPI), the
batch route with pydantic-core: the bytes here are sent raw to both.
"""

from __future__ import annotations

import json

import pytest

from api.errors import ErrorDetail
from api.serving.card import read_card
from api.web.handlers import error_response
from tests.factories import EXAMPLE_MODELS

PENGUIN = read_card(EXAMPLE_MODELS / "penguins").examples[0]
ROUTES = {"one row": "/models/penguins/predict", "batch": "/models/penguins/predict/batch"}
JSON = {"content-type": "application/json"}


def _raw(row_bytes: bytes, route: str) -> bytes:
    return row_bytes if route == "one row" else b'{"rows": [' + row_bytes + b"]}"


def _refused(client, route: str, body: bytes) -> dict:
    response = client.post(ROUTES[route], content=body, headers=JSON)
    assert response.status_code == 422, response.text
    answer = json.loads(response.content.decode("utf-8"))  # strict UTF-8: the body itself is valid text
    assert answer["error"] == "invalid_input" and answer["request_id"] == response.headers["x-request-id"]
    return answer


def _penguin_with(field: str, raw_value: bytes) -> bytes:
    """The example row as JSON bytes with ``field``'s value replaced by ``raw_value`` verbatim."""
    text = json.dumps({**PENGUIN, field: "@@"}).encode()
    return text.replace(b'"@@"', raw_value)


SURROGATE_MESSAGE = "a string holds an unpaired UTF-16 surrogate (a \\ud800 to \\udfff escape without its partner)"
SURROGATE_HINT = "send valid Unicode text: a character beyond \\uffff as a surrogate pair (\\ud83d\\ude00) or as UTF-8"


def test_a_lone_surrogate_on_the_single_row_route_is_echoed_escaped(examples_client):
    body = _refused(examples_client, "one row", _penguin_with("island", b'"\\ud800"'))
    # json.loads reads it; the 422 quotes it as the six characters \ud800 rather than failing to encode.
    assert body["details"] == [{"field": "island", "message": "'\\ud800' is not a category this model was "
                                "trained on", "hint": "send one of Biscoe, Dream, Torgersen"}]
    body = _refused(examples_client, "one row", _penguin_with("sex", b'"fe\\udc00male"'))
    assert body["details"] == [{"field": "sex", "message": "'fe\\udc00male' is not a category this model was "
                                "trained on", "hint": "did you mean 'female'?"}]


@pytest.mark.parametrize("raw", [b'"\\ud800"', b'"\\udc00"', b'"\\ud800\\u0041"'], ids=["high", "low", "high+A"])
def test_a_lone_surrogate_on_the_batch_route_is_named_for_what_it_is(examples_client, raw):
    body = _refused(examples_client, "batch", _raw(_penguin_with("island", raw), "batch"))
    [detail] = body["details"]
    assert detail["field"] is None and detail["hint"] == SURROGATE_HINT
    assert detail["message"].startswith(SURROGATE_MESSAGE + " (line 1, column ")
    assert "hex escape" not in body["message"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_lone_surrogate_in_a_field_name_is_refused_on_both_routes(examples_client, route):
    row = json.dumps(PENGUIN).encode().replace(b'"sex"', b'"\\udc00sex"')
    [detail] = _refused(examples_client, route, _raw(row, route))["details"]
    assert detail["message"].startswith(SURROGATE_MESSAGE) and detail["hint"] == SURROGATE_HINT


@pytest.mark.parametrize("route", ROUTES)
def test_a_number_with_thousands_of_digits_is_named_as_such(examples_client, route):
    body = _refused(examples_client, route, _raw(_penguin_with("body_mass_g", b"1" * 5000), route))
    [detail] = body["details"]
    assert detail["field"] is None
    assert detail["message"].startswith("a number has too many digits to read (more than 4300)")
    assert detail["hint"] == "send numbers of ordinary size, e.g. 4983 or 4.983e3"
    assert body["message"] == detail["message"]


@pytest.mark.parametrize("route", ROUTES)
def test_json_nested_a_thousand_deep_is_named_as_such(examples_client, route):
    nested = b"[" * 1000 + b"]" * 1000
    body = _refused(examples_client, route, _raw(_penguin_with("island", nested), route))
    [detail] = body["details"]
    assert detail["field"] is None and detail["message"].startswith("the JSON is nested too deeply to read")
    assert detail["hint"] == "send a flat JSON object of fields, such as the example in /docs"


@pytest.mark.parametrize("route", ROUTES)
def test_a_valid_surrogate_pair_is_ordinary_text(examples_client, route):
    # The pair for 😀 is valid Unicode: refused only as an unknown category, like any other word.
    body = _refused(examples_client, route, _raw(_penguin_with("island", b'"\\ud83d\\ude00"'), route))
    [detail] = body["details"]
    assert detail["message"] == "'\U0001f600' is not a category this model was trained on"


def test_any_error_body_encodes_whatever_it_quotes():
    # The last line of defence: a message or field quoting a lone surrogate still gives a valid UTF-8 body.
    response = error_response({}, 422, "invalid_input", "'\ud800' is refused",
                              [ErrorDetail(field="rows.0.\udc00x", message="unknown field")])
    body = json.loads(response.body.decode("utf-8"))
    assert body["message"] == "'\\ud800' is refused" and body["details"][0]["field"] == "rows.0.\\udc00x"
