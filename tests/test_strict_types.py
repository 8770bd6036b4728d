"""Types are strict JSON types on both routes: nothing is coerced, and each refusal says what to send.

The single-row route is parsed by FastAPI (Python's json module, then the
explaining model); the batch route from its bytes (the fast TypeAdapter first,
the explaining model for the words). Each case goes through both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from api.app import create_app
from api.serving.card import FeatureSpec, read_card
from api.serving.fields import explained, plain
from api.serving.schemas import build_schemas
from api.settings import Settings
from tests.factories import EXAMPLE_MODELS, int_coded, save_tiny_classifier, saved

FLIGHT = read_card(EXAMPLE_MODELS / "flight-delay").examples[0]
PENGUIN = read_card(EXAMPLE_MODELS / "penguins").examples[0]
UNLIMITED = {"rate_limit_predict": "100000/minute", "rate_limit_batch": "100000/minute"}


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    """The example models and a tiny one with a boolean field, with no rate limit in the way."""
    models = tmp_path_factory.mktemp("models")
    for example in EXAMPLE_MODELS.iterdir():
        (models / example.name).symlink_to(example)
    saved(save_tiny_classifier, models)
    db = tmp_path_factory.mktemp("db") / "strict.db"
    with TestClient(create_app(Settings(models_dir=models, database_url=f"sqlite:///{db}", **UNLIMITED)),
                    raise_server_exceptions=False) as test_client:
        test_client.app.state.registry.wait_loaded(60)
        yield test_client


def _refusal(client: TestClient, model: str, row: dict, route: str) -> tuple[dict, str]:
    """The 422's one detail for ``row`` sent alone, or as the 4th row of a batch; and the field prefix."""
    # Encoded here, not by httpx: json.dumps writes NaN and Infinity as a careless client does, httpx refuses to.
    if route == "batch":
        good = read_card(client.app.state.registry.get(model).path).examples[0]
        body, path, prefix = {"rows": [good, good, good, row]}, f"/models/{model}/predict/batch", "rows.3."
    else:
        body, path, prefix = row, f"/models/{model}/predict", ""
    response = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    assert len(body["details"]) == 1, body
    return body, prefix


CASES = {
    # model, field, value sent, pydantic's message, the hint
    "text for an integer": ("flight-delay", "distance", "3169", "Input should be a valid integer",
                            "send 3169 without quotes: a JSON number, not text"),
    "true for an integer": ("flight-delay", "dep_hour", True, "Input should be a valid integer",
                            "send a whole JSON number; true and false are not numbers"),
    "3.0 for an integer": ("flight-delay", "month", 3.0, "Input should be a valid integer",
                           "send 3: a whole number has no decimal point"),
    "3.5 for an integer": ("flight-delay", "month", 3.5, "Input should be a valid integer",
                           "send a whole number: this field takes no fractions"),
    "integer past 64 bits": ("flight-delay", "distance", 2**63,
                             f"{2**63} does not fit in a whole number the model can read (64 bits)",
                             f"send a whole number from {-2**63} to {2**63 - 1}"),
    "Infinity for a number": ("penguins", "bill_length_mm", math.inf, "Input should be a finite number",
                              "send a finite number: JSON has no NaN or Infinity"),
    "-Infinity for a number": ("penguins", "bill_depth_mm", -math.inf, "Input should be a finite number",
                               "send a finite number: JSON has no NaN or Infinity"),
    "NaN for a number": ("penguins", "body_mass_g", math.nan, "Input should be a finite number",
                         "send a finite number: JSON has no NaN or Infinity"),
    "text for a number": ("penguins", "bill_length_mm", "302", "Input should be a valid number",
                          "send 302 without quotes: a JSON number, not text"),
    "text for a fraction": ("penguins", "body_mass_g", "45.5", "Input should be a valid number",
                            "send 45.5 without quotes: a JSON number, not text"),
    "true for a number": ("penguins", "bill_depth_mm", True, "Input should be a valid number",
                          "send a JSON number; true and false are not numbers"),
    "word for a number": ("penguins", "flipper_length_mm", "long", "Input should be a valid number",
                          "send a JSON number, e.g. 42 or 4.2"),
    "1 for a boolean": ("tiny-clf", "member", 1, "Input should be a valid boolean",
                        'send true or false: JSON booleans, without quotes (not 1, 0, "yes" or "true")'),
    '"yes" for a boolean': ("tiny-clf", "member", "yes", "Input should be a valid boolean",
                            'send true or false: JSON booleans, without quotes (not 1, 0, "yes" or "true")'),
    '"true" for a boolean': ("tiny-clf", "member", "true", "Input should be a valid boolean",
                             'send true or false: JSON booleans, without quotes (not 1, 0, "yes" or "true")'),
    "number for a category": ("flight-delay", "carrier", 12, "Input should be a valid string",
                              "send one of its categories as a JSON string, in quotes; /docs lists them"),
    "null where never missing": ("penguins", "island", None, "Input should be a valid string",
                                 "this field is never missing in training, so null is refused: send a value"),
}


@pytest.mark.parametrize("route", ["one row", "batch"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_value_of_the_wrong_json_type_is_refused_naming_the_field_and_what_to_send(client, case, route):
    model, field, value, message, hint = CASES[case]
    good = read_card(client.app.state.registry.get(model).path).examples[0]
    body, prefix = _refusal(client, model, {**good, field: value}, route)
    assert body["message"] == f"invalid input: {prefix}{field}"
    assert body["details"] == [{"field": prefix + field, "message": message, "hint": hint}]


ACCEPTED = {
    "a whole number for a number": ("penguins", "body_mass_g", 3750),
    "a fraction for a number": ("penguins", "body_mass_g", 3750.5),
    "true for a boolean": ("tiny-clf", "member", True),
    "false for a boolean": ("tiny-clf", "member", False),
}


@pytest.mark.parametrize("route", ["one row", "batch"])
@pytest.mark.parametrize("case", ACCEPTED, ids=list(ACCEPTED))
def test_values_of_the_right_json_type_are_served(client, case, route):
    model, field, value = ACCEPTED[case]
    row = {**read_card(client.app.state.registry.get(model).path).examples[0], field: value}
    if route == "batch":
        response = client.post(f"/models/{model}/predict/batch", json={"rows": [row]})
    else:
        response = client.post(f"/models/{model}/predict", json=row)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("tolerance", [None, 0.05])
def test_an_integer_coded_category_takes_its_whole_numbers_only(tmp_path, tolerance):
    card = int_coded(read_card(EXAMPLE_MODELS / "fuel-economy"), "origin")  # Europe, Japan, USA → 1, 2, 3
    schemas = build_schemas(card, tolerance=tolerance, max_batch_rows=10)
    prop = schemas.features.model_json_schema()["properties"]["origin"]
    assert (prop["type"], prop["enum"]) == ("integer", [1, 2, 3])

    row = card.examples[0]
    for value in (1, 2, 3):
        sent = {**row, "origin": value}
        assert schemas.features.model_validate_json(json.dumps(sent)).model_dump(by_alias=True)["origin"] == value
        assert schemas.batch_rows.validate_json(json.dumps({"rows": [sent]}))["rows"][0]["origin"] == value
    refusals = [(4, "4 is not a category this model was trained on"), (0, "0 is not a category"),
                (True, "valid integer"), (1.0, "valid integer"), ("1", "valid integer"), ("USA", "valid integer")]
    for value, message in refusals:  # a list: as dict keys True, 1 and 1.0 would be one
        raw = json.dumps({"rows": [{**row, "origin": value}]})
        with pytest.raises(ValidationError):
            schemas.batch_rows.validate_json(raw)
        with pytest.raises(ValidationError) as refused:
            schemas.batch.model_validate_json(raw)
        [error] = refused.value.errors()
        assert error["loc"] == ("rows", 0, "origin") and message in error["msg"]
        if "category" in message:
            assert error["ctx"]["hint"] == "send one of 1, 2, 3"


def test_whole_numbers_are_taken_up_to_64_bits_and_refused_one_past():
    # The training columns are int64: its two ends are whole numbers the model can read, one past is not.
    card = read_card(EXAMPLE_MODELS / "flight-delay")
    schemas = build_schemas(card, tolerance=None, max_batch_rows=10)
    row = card.examples[0]
    for value in (-(2**63), 2**63 - 1):
        sent = json.dumps({"rows": [{**row, "distance": value}]})
        assert schemas.batch_rows.validate_json(sent)["rows"][0]["distance"] == value
        assert schemas.batch.model_validate_json(sent).rows[0].model_dump(by_alias=True)["distance"] == value
    for value in (-(2**63) - 1, 2**63):
        sent = json.dumps({"rows": [{**row, "distance": value}]})
        with pytest.raises(ValidationError):
            schemas.batch_rows.validate_json(sent)
        with pytest.raises(ValidationError) as refused:
            schemas.batch.model_validate_json(sent)
        [error] = refused.value.errors()
        assert error["msg"] == f"{value} does not fit in a whole number the model can read (64 bits)"
        assert error["ctx"]["hint"] == f"send a whole number from {-(2**63)} to {2**63 - 1}"


@pytest.mark.parametrize(("count", "listed"), [
    (20, ", ".join(map(str, range(1, 21)))),
    (21, ", ".join(map(str, range(1, 21))) + ", …"),
])
def test_an_integer_coded_categorys_hint_lists_twenty_codes_at_most(count, listed):
    # A hint is read beside the field in the demo: past twenty codes it says there are more.
    spec = FeatureSpec(name="code", type="category", categories=list(range(1, count + 1)))
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(explained(spec, None)).validate_python(99)
    [error] = refused.value.errors()
    assert error["msg"] == "99 is not a category this model was trained on"
    assert error["ctx"]["hint"] == f"send one of {listed}"


def test_a_category_never_seen_in_training_takes_null_only_on_both_checks():
    # A column empty in training has no category: the fast check hands it to the explaining one, so both
    # refuse any value, and the refusal says what the field takes.
    spec = FeatureSpec(name="code", type="category", categories=[], nullable=True)
    fast, slow = TypeAdapter(plain(spec, None)), TypeAdapter(explained(spec, None))
    assert fast.validate_json("null") is None and slow.validate_json("null") is None
    for value in ('"a"', "1", "true"):
        with pytest.raises(ValidationError):
            fast.validate_json(value)
    with pytest.raises(ValidationError) as refused:
        slow.validate_json('"a"')
    [error] = refused.value.errors()
    assert (error["msg"], error["ctx"]["hint"]) == (
        "'a' is not a category this model was trained on", "send null: this field had no value in training")
