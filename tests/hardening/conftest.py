"""Shared by the hardening tests: a known-good penguin row."""

from __future__ import annotations

from api.serving.card import read_card
from tests.factories import EXAMPLE_MODELS

PENGUIN = read_card(EXAMPLE_MODELS / "penguins").examples[0]
PREDICT = "/models/penguins/predict"
BATCH = "/models/penguins/predict/batch"
