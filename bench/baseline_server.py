"""The reference: the flight-delay model served the way most tutorials do it.

Kept as the benchmark's yardstick (scripts/bench.py), not as something to
deploy: a sync endpoint (so every request hops to the threadpool), a one-row
pandas DataFrame per request, and ``predict_proba`` on the joblib pipeline.

    uvicorn bench.baseline_server:app --port 8001
"""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_PATH = Path(os.environ.get("BASELINE_MODEL", "models/flight-delay/model.joblib"))

app = FastAPI(title="baseline")
model = joblib.load(MODEL_PATH)


class Flight(BaseModel):
    carrier: str
    origin: str
    dest: str
    month: int
    day_of_week: str
    dep_hour: int
    distance: int


class Flights(BaseModel):
    rows: list[Flight]


@app.post("/predict")
def predict(flight: Flight) -> dict:
    frame = pd.DataFrame([flight.model_dump()])
    probabilities = model.predict_proba(frame)[0]
    best = probabilities.argmax()
    return {
        "prediction": str(model.classes_[best]),
        "probabilities": {str(c): float(p) for c, p in zip(model.classes_, probabilities, strict=True)},
    }


@app.post("/predict/batch")
def predict_batch(flights: Flights) -> dict:
    frame = pd.DataFrame([flight.model_dump() for flight in flights.rows])
    probabilities = model.predict_proba(frame)
    return {
        "predictions": [
            {"prediction": str(model.classes_[p.argmax()]),
             "probabilities": {str(c): float(v) for c, v in zip(model.classes_, p, strict=True)}}
            for p in probabilities
        ]
    }
