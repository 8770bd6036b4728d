"""The HTTP floor: a FastAPI endpoint that reads a JSON body and does no other work.

scripts/bench.py serves it on the same core, under the same load, as freeport:
what it reaches is the most any FastAPI service on uvicorn could, so freeport's
throughput is read as a share of it.

    uvicorn bench.hello_server:app --port 8002
"""

from __future__ import annotations

from fastapi import FastAPI, Request

app = FastAPI(title="hello")


@app.post("/predict")
async def predict(request: Request) -> dict:
    await request.json()
    return {"hello": "world"}
