"""A pipeline the repository has never seen is served, typed, from save_bundle alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from api.serving.bundle import save_bundle


def _loans(rows: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "amount": rng.uniform(1_000, 40_000, rows).round(2),
            "term months": rng.choice([12, 24, 36, 60], rows).astype("int64"),
            "purpose": rng.choice(["car", "home", "study", "travel"], rows).astype(object),
            "employed": rng.choice([True, False], rows),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "purpose"] = np.nan
    risky = (frame["amount"].fillna(20_000) > 25_000) | ~frame["employed"]
    return frame, pd.Series(np.where(risky, "decline", "approve"), name="decision")


def test_an_unseen_pipeline_is_served_with_a_typed_schema(serve, tmp_path):
    frame, target = _loans()
    pipeline = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), ["amount", "term months"]),
            (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             ["purpose", "employed"]),
        ),
        RandomForestClassifier(n_estimators=20, random_state=0),
    ).fit(frame.iloc[:240], target.iloc[:240])
    save_bundle(pipeline, frame.iloc[:240], target.iloc[:240], "loans", features_test=frame.iloc[240:],
                target_test=target.iloc[240:], models_dir=tmp_path / "models")

    with serve(models_dir=tmp_path / "models", strict_ranges=True, range_tolerance=0) as client:
        openapi = client.get("/openapi.json").json()
        schema = openapi["components"]["schemas"]["LoansFeatures"]
        props = schema["properties"]
        assert list(props) == ["amount", "term months", "purpose", "employed"]
        assert {v.get("type") for v in props["amount"]["anyOf"]} == {"number", "null"}
        assert props["term months"]["type"] == "integer"
        assert (props["term months"]["minimum"], props["term months"]["maximum"]) == (12, 60)
        purpose = next(v for v in props["purpose"]["anyOf"] if v.get("type") == "string")
        assert purpose["enum"] == ["car", "home", "study", "travel"]
        assert props["employed"]["type"] == "boolean"

        row = {"amount": None, "term months": 36, "purpose": None, "employed": False}
        response = client.post("/models/loans/predict", json=row)
        assert response.status_code == 200
        assert response.json()["prediction"] == pipeline.predict(pd.DataFrame([row]).astype({"amount": float}))[0]

        bad = client.post("/models/loans/predict", json={**row, "purpose": "studies"})
        assert bad.status_code == 422 and bad.json()["details"][0]["hint"] == "did you mean 'study'?"
