"""The yardstick: any bundle's pipeline served the way most tutorials do it.

Not something to deploy: what scripts/bench.py measures freeport against, on the
same artifact. A typed pydantic body built from the bundle's card, a sync
endpoint (so every request hops to the threadpool), a one-row pandas DataFrame
per request, and ``predict_proba`` (or ``predict``) on the joblib pipeline.

    BASELINE_BUNDLE=models/flight-delay uvicorn bench.baseline_server:app --port 8001
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, create_model

BUNDLE = Path(os.environ.get("BASELINE_BUNDLE", "models/flight-delay"))
_TYPES = {"number": float, "integer": int, "boolean": bool}

card = json.loads((BUNDLE / "card.json").read_text())
model = joblib.load(BUNDLE / card.get("artifact", {}).get("path", "model.joblib"))
columns = [feature["name"] for feature in card["features"]]


def _field_type(feature: dict) -> type:
    if feature["type"] == "category":
        categories = feature.get("categories") or [""]
        kind = type(categories[0])
    else:
        kind = _TYPES[feature["type"]]
    return Optional[kind] if feature.get("nullable") else kind  # noqa: UP045 -- create_model needs a type object


# Column names such as "weight (kg)" are not identifiers: field i, with the column name as its alias.
Row = create_model(
    "Row",
    __config__=ConfigDict(populate_by_name=True),
    **{f"f{i}": (_field_type(f), Field(alias=f["name"])) for i, f in enumerate(card["features"])},
)


class Rows(BaseModel):
    rows: list[Row]  # type: ignore[valid-type]


app = FastAPI(title="baseline")
scores = getattr(model, "predict_proba", None) if card["task"] == "classification" else None


def _answers(frame: pd.DataFrame) -> list[dict]:
    if scores is None:
        return [{"prediction": p.item() if hasattr(p, "item") else p} for p in model.predict(frame)]
    classes = model.classes_
    return [
        {
            "prediction": str(classes[p.argmax()]),
            "probabilities": {str(c): float(v) for c, v in zip(classes, p, strict=True)},
        }
        for p in scores(frame)
    ]


@app.post("/predict")
def predict(row: Row) -> dict:  # type: ignore[valid-type]
    frame = pd.DataFrame([row.model_dump(by_alias=True)], columns=columns)
    return _answers(frame)[0]


@app.post("/predict/batch")
def predict_batch(body: Rows) -> dict:
    frame = pd.DataFrame([row.model_dump(by_alias=True) for row in body.rows], columns=columns)
    return {"predictions": _answers(frame)}
