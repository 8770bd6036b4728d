"""Every pipeline of the zoo, saved with save_bundle and served by one real `python -m api`,
answers as the estimator in this process does: held-out rows, and rows built to break it.

A row the estimator itself cannot take must be a 422 naming that row; anything else
must be the estimator's own answer (labels exactly, numbers within the card's tolerance).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from api.serving.bundle import save_bundle
from api.serving.card import ModelCard, read_card
from tests.hardening.server import running_api
from tests.zoo import ZOO, Fitted

# Kinds skl2onnx cannot convert (a custom function, HistGradientBoosting's own categories,
# booleans one-hot encoded after an imputer): served on scikit-learn, and the card says why.
SKLEARN_ONLY = {"log-transform", "own-function", "int-categories", "booleans-gaps"}


@pytest.fixture(scope="module")
def zoo_models(tmp_path_factory):
    return tmp_path_factory.mktemp("zoo") / "models"


@pytest.fixture(scope="module")
def zoo(zoo_models) -> dict[str, tuple[Fitted, ModelCard]]:
    models = zoo_models
    saved = {}
    for name, build in ZOO.items():
        fitted = build()
        save_bundle(fitted.estimator, fitted.train, fitted.target, name, features_test=fitted.test,
                    target_test=fitted.test_target, models_dir=models, quiet=True)
        saved[name] = (fitted, read_card(models / name))
    return saved


@pytest.fixture(scope="module")
def zoo_api(zoo, zoo_models, tmp_path_factory):
    with running_api(tmp_path_factory.mktemp("zoo-api"), MODELS_DIR=str(zoo_models)) as api:
        yield api.url


def _json_rows(frame: pd.DataFrame, card: ModelCard) -> list[dict[str, Any]]:
    """Rows as a client sends them: the columns the API asks for, plain JSON values, null where missing."""
    rows = []
    for record in frame[card.feature_names].astype(object).to_dict("records"):
        rows.append({k: None if v is None or (isinstance(v, float) and math.isnan(v)) else _plain(v)
                     for k, v in record.items()})
    return rows


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _expected(fitted: Fitted, card: ModelCard, frame: pd.DataFrame) -> list[dict[str, Any] | None]:
    """The estimator's own answer for each row, one row at a time; None where it raises or gives NaN."""
    answers: list[dict[str, Any] | None] = []
    for index in range(len(frame)):
        row = frame.iloc[[index]]
        try:
            with np.errstate(all="ignore"):
                if card.task == "regression":
                    value = float(fitted.estimator.predict(row)[0])
                    answers.append({"prediction": value} if math.isfinite(value) else None)
                    continue
                label = str(fitted.estimator.predict(row)[0])
                answer: dict[str, Any] = {"prediction": label}
                if card.probabilities:
                    proba = fitted.estimator.predict_proba(row)[0]
                    if not np.isfinite(proba).all():
                        answers.append(None)
                        continue
                    answer["probabilities"] = dict(zip(card.classes, proba.tolist(), strict=True))
                answers.append(answer)
        except Exception:  # the estimator's own refusal: the API must refuse that row too
            answers.append(None)
    return answers


def _tolerance(card: ModelCard, value: float = 1.0) -> float:
    if card.onnx is not None:
        return card.onnx.check.max_difference_allowed
    return 1e-9 * max(1.0, abs(value))


def _assert_same(card: ModelCard, served: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    if card.task == "regression":
        tolerance = _tolerance(card, expected["prediction"])
        assert served["prediction"] == pytest.approx(expected["prediction"], abs=tolerance), where
        return
    if card.probabilities:
        assert served["probabilities"] == pytest.approx(expected["probabilities"], abs=_tolerance(card)), where
        chances = expected["probabilities"]
        # A tie (a forest's 50/50 vote) may be broken either way: both classes are the model's answer.
        assert max(chances.values()) - chances[served["prediction"]] <= _tolerance(card), where
        if max(chances.values()) - sorted(chances.values())[-2] > _tolerance(card):
            assert served["prediction"] == expected["prediction"], where
    else:
        assert served["prediction"] == expected["prediction"], where
        assert "probabilities" not in served, where


def _probe_frame(fitted: Fitted, card: ModelCard) -> pd.DataFrame:
    """Rows built to break a model: each nullable column null, all of them null, every category,
    each end of every numeric range and past it, both booleans. Real rows carry the rest."""
    base = fitted.test.iloc[[0]]
    rows = []

    def with_values(**values):
        row = base.copy()
        for column, value in values.items():
            if value is None and row[column].dtype.kind in "biu":  # a gap turns ints and bools into floats/objects
                row[column] = row[column].astype(object if row[column].dtype.kind == "b" else float)
            row.loc[row.index[0], column] = np.nan if value is None and row[column].dtype.kind == "f" else value
        rows.append(row)

    nullable = [f.name for f in card.features if f.nullable]
    for name in nullable:
        with_values(**{name: None})
    if nullable:
        with_values(**dict.fromkeys(nullable))
    for spec in card.features:
        if spec.type == "category":
            for category in spec.categories:
                with_values(**{spec.name: category})
        elif spec.type == "boolean":
            with_values(**{spec.name: True})
            with_values(**{spec.name: False})
        else:
            width = spec.maximum - spec.minimum
            for value in (spec.minimum, spec.maximum, spec.minimum - width / 2, spec.maximum + width / 2):
                with_values(**{spec.name: round(value) if spec.type == "integer" else value})
    return pd.concat(rows, ignore_index=True)


def _post(url: str, path: str, body: Any) -> requests.Response:
    return requests.post(f"{url}{path}", json=body, timeout=60)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_answers_held_out_rows_as_the_estimator_does(zoo, zoo_api, name):
    fitted, card = zoo[name]
    expected = _expected(fitted, card, fitted.test)
    rows = _json_rows(fitted.test, card)
    assert all(answer is not None for answer in expected)
    response = _post(zoo_api, f"/models/{name}/predict/batch", {"rows": rows})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == card.version
    for index, (served, answer) in enumerate(zip(body["predictions"], expected, strict=True)):
        _assert_same(card, served, answer, f"{name} held-out row {index}")
    for index in range(3):  # the single-row route gives the same answers
        single = _post(zoo_api, f"/models/{name}/predict", rows[index])
        assert single.status_code == 200, single.text
        _assert_same(card, single.json(), expected[index], f"{name} single row {index}")


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_answers_rows_built_to_break_it_or_names_them(zoo, zoo_api, name):
    fitted, card = zoo[name]
    frame = _probe_frame(fitted, card)
    if name == "log-transform":  # the log of (−5 + 1) is NaN: the model itself cannot answer
        frame = pd.concat([frame, frame.iloc[[0]].assign(bp=-5.0)], ignore_index=True)
    expected = _expected(fitted, card, frame)
    rows = _json_rows(frame, card)
    good = [i for i, answer in enumerate(expected) if answer is not None]
    bad = [i for i, answer in enumerate(expected) if answer is None]

    response = _post(zoo_api, f"/models/{name}/predict/batch", {"rows": [rows[i] for i in good]})
    assert response.status_code == 200, response.text
    for index, served in zip(good, response.json()["predictions"], strict=True):
        _assert_same(card, served, expected[index], f"{name} probe row {index}: {rows[index]}")

    if bad:
        mixed = _post(zoo_api, f"/models/{name}/predict/batch", {"rows": rows})
        assert mixed.status_code == 422, mixed.text
        body = mixed.json()
        assert body["error"] == "prediction_failed"
        assert [d["field"] for d in body["details"]] == [f"rows.{i}" for i in bad]
        single = _post(zoo_api, f"/models/{name}/predict", rows[bad[0]])
        assert single.status_code == 422 and single.json()["error"] == "prediction_failed"
        assert single.json()["details"][0]["field"] is None
    if name == "log-transform":
        assert bad == [len(rows) - 1]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_is_documented_with_exactly_the_columns_it_reads(zoo, zoo_api, name):
    fitted, card = zoo[name]
    openapi = requests.get(f"{zoo_api}/openapi.json", timeout=10).json()
    ref = openapi["paths"][f"/models/{name}/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = openapi["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    assert list(schema["properties"]) == card.feature_names
    assert set(card.feature_names) | set(card.unused_columns) == {str(c) for c in fitted.estimator.feature_names_in_}
    if name == "dropped-text":
        assert "note" in card.unused_columns and "note" not in schema["properties"]
    model = requests.get(f"{zoo_api}/models/{name}", timeout=10).json()
    assert model["state"] == "ready"
    assert model["engine"] == ("sklearn" if name in SKLEARN_ONLY else "onnx"), card.onnx_unavailable
    if name in SKLEARN_ONLY:
        assert card.onnx_unavailable and "\n" not in card.onnx_unavailable and len(card.onnx_unavailable) <= 180
