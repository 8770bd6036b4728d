"""/docs is derived from the cards: every field typed, bounded, described, with working examples."""

from __future__ import annotations

import pytest

from api.serving.bundle import load_estimator
from api.serving.card import FeatureSpec, read_card
from api.serving.fields import describe
from api.serving.schemas import build_schemas
from tests.factories import EXAMPLE_MODELS, save_tiny_classifier, saved

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
            # By default the training range is information, not a limit: schemathesis (and any client
            # generator) must not read it as one. It is in the text and in extension keywords.
            assert "minimum" not in typed and "maximum" not in typed
            assert (typed["x-training-minimum"], typed["x-training-maximum"]) == (spec.minimum, spec.maximum)
            assert f"Seen in training: {spec.minimum:g} to {spec.maximum:g}; a value outside is served" \
                in prop["description"]
        elif spec.type == "category":
            assert typed["type"] == "string" and typed["enum"] == spec.categories


@pytest.mark.parametrize("name", MODELS)
def test_every_docs_example_works_when_sent(examples_client, name):
    # Each example is answered with the model's own answer for it, and is a real row: inside every range.
    predictor = examples_client.app.state.registry.predictor(name)
    openapi = examples_client.get("/openapi.json").json()
    for path in (f"/models/{name}/predict", f"/models/{name}/predict/batch"):
        content, schema = _request_schema(openapi, path)
        examples = [e["value"] for e in content["examples"].values()] + schema.get("examples", [])
        assert examples, f"{path} has no example in /docs"
        for example in examples:
            response = examples_client.post(path, json=example)
            assert response.status_code == 200, response.json()
            answer = response.json()
            assert (answer["model"], answer["version"]) == (name, read_card(EXAMPLE_MODELS / name).version)
            if path.endswith("/batch"):
                outcomes = answer["predictions"]
                expected = predictor.predict(example["rows"])
            else:
                outcomes = [{k: v for k, v in answer.items() if k not in ("model", "version", "request_id")}]
                expected = predictor.predict([example])
            assert outcomes == [{**outcome, "out_of_range": []} for outcome in expected]


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
    flags = schema["properties"]["out_of_range"]
    assert flags["type"] == "array" and flags["items"] == {"type": "string"}
    assert "out_of_range" in schema["required"] and "always present, empty when none" in flags["description"]
    batch = openapi["paths"][f"/models/{name}/predict/batch"]["post"]["responses"]["200"]
    outcome = _resolve(openapi, _resolve(openapi, batch["content"]["application/json"]["schema"])
                       ["properties"]["predictions"]["items"])
    assert outcome["properties"]["out_of_range"] == flags and "out_of_range" in outcome["required"]
    for code in ("404", "415", "422", "503"):
        assert code in openapi["paths"][f"/models/{name}/predict"]["post"]["responses"]


# With STRICT_RANGES the accepted bounds are hard limits, widened by RANGE_TOLERANCE and rounded
# outwards to clean numbers; a tolerance never makes a quantity that was never negative negative.
STRICT_BOUNDS = {
    ("flight-delay", "distance"): (0, 5300, "80 to 4983"),  # 80 - 245.15 would be -165
    ("flight-delay", "month"): (1, 12, "1 to 12"),  # whole numbers: 0.45 and 12.55 round inwards
    ("penguins", "bill_length_mm"): (31, 61, "33.1 to 59.6"),  # not 31.775 and 60.925000000000004
    ("penguins", "bill_depth_mm"): (12.6, 22, "13.1 to 21.5"),
    ("fuel-economy", "acceleration_s"): (7.1, 25.7, "8 to 24.8"),  # margin 0.84: rounded to tenths
    ("fuel-economy", "model_year"): (1970, 1982, "1970 to 1982"),
}


@pytest.mark.parametrize(("name", "field"), list(STRICT_BOUNDS), ids=[f"{m}.{f}" for m, f in STRICT_BOUNDS])
def test_strict_ranges_document_clean_bounds_that_never_cross_zero(serve, name, field):
    low, high, seen = STRICT_BOUNDS[(name, field)]
    with serve(strict_ranges=True, range_tolerance=0.05) as client:
        openapi = client.get("/openapi.json").json()
    _, schema = _request_schema(openapi, f"/models/{name}/predict")
    prop = schema["properties"][field]
    typed = next(v for v in prop.get("anyOf", [prop]) if v.get("type") != "null")
    assert (typed["minimum"], typed["maximum"]) == (low, high)
    assert f"Seen in training: {seen}; accepted: {low:g} to {high:g}" in prop["description"]


def test_a_label_only_classifier_documents_no_probabilities():
    card = read_card(EXAMPLE_MODELS / "penguins").model_copy(update={"probabilities": False})
    schemas = build_schemas(card, tolerance=None, max_batch_rows=10)
    for response in (schemas.prediction.model_json_schema(),
                     schemas.batch_prediction.model_json_schema()["$defs"]["PenguinsOutcome"]):
        assert "probabilities" not in response["properties"]
        assert response["properties"]["prediction"]["enum"] == card.classes
        assert "out_of_range" in response["required"]
    with_probabilities = build_schemas(read_card(EXAMPLE_MODELS / "penguins"), tolerance=None, max_batch_rows=10)
    assert "probabilities" in with_probabilities.prediction.model_json_schema()["required"]


def test_a_field_sent_under_its_python_name_is_an_unknown_field(serve):
    # The features model names its fields f0, f1, … so that any column name is safe; clients see and send
    # the aliases only, and f0 is no more a field than any other unknown key. (An app of the test's own:
    # the schemas are built while it runs, so mutation testing credits it with them.)
    row = read_card(EXAMPLE_MODELS / "penguins").examples[0]
    renamed = {("f0" if key == "island" else key): value for key, value in row.items()}
    with serve() as client:
        answers = {at: client.post(f"/models/penguins/{route}", json=body) for route, body, at in (
            ("predict", renamed, ""), ("predict/batch", {"rows": [renamed]}, "rows.0."))}
    for at, response in answers.items():
        assert response.status_code == 422
        assert response.json()["details"] == [
            {"field": f"{at}island", "message": "this field is required", "hint": None},
            {"field": f"{at}f0", "message": "unknown field", "hint": "remove it; /docs lists the fields"},
        ]


@pytest.mark.parametrize("tolerance", [None, 0.05])
def test_each_kind_of_field_has_its_exact_json_schema(tmp_path, tolerance):
    # The example models have no boolean field: the tiny one has each kind (integer, nullable number,
    # nullable category, boolean), and a client generator reads exactly these keywords.
    card = saved(save_tiny_classifier, tmp_path)
    properties = build_schemas(card, tolerance=tolerance, max_batch_rows=10).features.model_json_schema()["properties"]
    for name, prop in properties.items():
        assert prop.pop("examples") == [next(s.default for s in card.features if s.name == name)]
    served = "a value outside is served and named in the response's `out_of_range`"
    age_limits = {"minimum": 14, "maximum": 83} if tolerance else {}
    age_words = "accepted: 14 to 83" if tolerance else served
    assert properties == {
        "age": {"description": f"Age in years. Seen in training: 18 to 79; {age_words}.", "format": "int64",
                "title": "Age", "type": "integer", "x-training-maximum": 79, "x-training-minimum": 18, **age_limits},
        "income k$": {
            "anyOf": [{"type": "number", "x-training-maximum": 80, "x-training-minimum": 14.5,
                       **({"minimum": 11, "maximum": 84} if tolerance else {})}, {"type": "null"}],
            "description": f"Seen in training: 14.5 to 80; {'accepted: 11 to 84' if tolerance else served}; "
                           "null when unknown.",
            "title": "Income K$",
        },
        "colour": {"anyOf": [{"enum": ["blue", "green", "red"], "type": "string"}, {"type": "null"}],
                   "description": "One of 3 categories; null when unknown.", "title": "Colour"},
        "member": {"description": "true or false.", "title": "Member", "type": "boolean"},
    }


DESCRIBED = [
    # The card's words as written, only a closing full stop dropped; then what the field takes.
    (FeatureSpec(name="x", type="number"), "Any finite number."),
    (FeatureSpec(name="x", type="integer", description="Floors above street level."), "Floors above street level. "
     "Any whole number."),
    (FeatureSpec(name="x", type="number", nullable=True, description="Reading of gauge X"),
     "Reading of gauge X. Any finite number; null when unknown."),
    (FeatureSpec(name="x", type="integer", minimum=1, maximum=12, description="Month..."),
     "Month. Seen in training: 1 to 12; a value outside is served and named in the response's `out_of_range`."),
    (FeatureSpec(name="x", type="category", categories=["a", "b"], description="Grade"), "Grade. One of 2 categories."),
    (FeatureSpec(name="x", type="boolean"), "true or false."),
]


@pytest.mark.parametrize(("spec", "words"), DESCRIBED)
def test_a_fields_description_in_docs_is_the_cards_words_then_what_it_takes(spec, words):
    # A number whose training range is unknown (an uploaded ONNX model's card may have none) is "any".
    assert describe(spec, None) == words
