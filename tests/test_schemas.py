"""/docs is derived from the cards: every field typed, bounded, described, with working examples."""

from __future__ import annotations

import pytest

from api.bundle import load_estimator
from api.card import read_card
from tests.factories import EXAMPLE_MODELS

MODELS = sorted(p.name for p in EXAMPLE_MODELS.iterdir())


def _resolve(openapi: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    return openapi["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _request_schema(openapi: dict, path: str) -> dict:
    content = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return content, _resolve(openapi, content["schema"])


@pytest.mark.parametrize("name", MODELS)
def test_schema_fields_are_exactly_the_estimators_features(examples_client, name):
    card = read_card(EXAMPLE_MODELS / name)
    estimator, _ = load_estimator(EXAMPLE_MODELS / name, card, allow_version_mismatch=False)
    _, schema = _request_schema(examples_client.get("/openapi.json").json(), f"/models/{name}/predict")
    assert list(schema["properties"]) == list(estimator.feature_names_in_)
    assert schema["required"] == list(estimator.feature_names_in_)
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", MODELS)
def test_docs_show_type_range_categories_and_description_of_each_field(examples_client, name):
    card = read_card(EXAMPLE_MODELS / name)
    openapi = examples_client.get("/openapi.json").json()
    _, schema = _request_schema(openapi, f"/models/{name}/predict")
    for spec in card.features:
        prop = schema["properties"][spec.name]
        variants = prop.get("anyOf", [prop])
        typed = next(v for v in variants if v.get("type") != "null")
        assert spec.description.rstrip(".") in prop["description"]
        assert any(v.get("type") == "null" for v in variants) == spec.nullable
        if spec.type in ("number", "integer"):
            assert typed["type"] == spec.type
            assert typed["minimum"] <= spec.minimum and typed["maximum"] >= spec.maximum
            assert f"{spec.minimum:g} to {spec.maximum:g}" in prop["description"]
        elif spec.type == "category":
            assert typed["type"] == "string" and typed["enum"] == spec.categories


@pytest.mark.parametrize("name", MODELS)
def test_every_docs_example_works_when_sent(examples_client, name):
    openapi = examples_client.get("/openapi.json").json()
    for path in (f"/models/{name}/predict", f"/models/{name}/predict/batch"):
        content, schema = _request_schema(openapi, path)
        examples = [e["value"] for e in content["examples"].values()] + schema.get("examples", [])
        assert examples, f"{path} has no example in /docs"
        for example in examples:
            response = examples_client.post(path, json=example)
            assert response.status_code == 200, response.json()


@pytest.mark.parametrize("name", MODELS)
def test_docs_describe_the_typed_response(examples_client, name):
    card = read_card(EXAMPLE_MODELS / name)
    openapi = examples_client.get("/openapi.json").json()
    response = openapi["paths"][f"/models/{name}/predict"]["post"]["responses"]["200"]
    schema = _resolve(openapi, response["content"]["application/json"]["schema"])
    assert {"model", "version", "request_id", "prediction"} <= set(schema["properties"])
    if card.task == "classification":
        assert schema["properties"]["prediction"]["enum"] == card.classes
        assert "probabilities" in schema["properties"]
    else:
        assert schema["properties"]["prediction"]["type"] == "number"
    for code in ("404", "415", "422", "503"):
        assert code in openapi["paths"][f"/models/{name}/predict"]["post"]["responses"]
