"""The drift section's words and chart, from a real API's report on traffic we sent it."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import requests

from demo_app.cards import Card, parse_models
from demo_app.client import ApiClient
from demo_app.drift import SHIFT, check_drift
from tests.demo.servers import ApiProcess
from tests.pg import wait_until

ADMIN = "admin-key-for-the-drift-test-0123"


def _said(text: str) -> str:
    return f'<p class="fp-drift-summary">{text}</p>'


def traffic_like_training(card: dict, count: int, seed: int) -> list[dict]:
    """Rows drawn from the training distribution the card records: a quiet week's traffic."""
    rng = random.Random(seed)
    features = {f["name"]: f for f in card["features"]}
    rows = [{} for _ in range(count)]
    for name, profile in card["training_profile"]["features"].items():
        spec = features[name]
        if profile["edges"] is None:
            values = rng.choices(profile["values"], weights=profile["shares"], k=count)
        else:  # a bin by its share, then a value inside it
            bounds = [spec["minimum"], *profile["edges"], spec["maximum"] + 1]
            bins = rng.choices(range(len(profile["shares"])), weights=profile["shares"], k=count)
            values = [rng.uniform(bounds[b], max(bounds[b], bounds[b + 1] - 1e-9)) for b in bins]
            if spec["type"] == "integer":
                values = [min(int(v), int(spec["maximum"])) for v in values]
        for row, value in zip(rows, values, strict=True):
            row[name] = value
    return rows


@pytest.fixture
def quiet_api(tmp_path) -> Iterator[ApiProcess]:
    """An API of our own: the shared one's log holds whatever the other tests sent."""
    api = ApiProcess(tmp_path, env={"PREDLOG_FLUSH_SECONDS": "0.05"}).start()
    yield api
    api.stop()


def _card(client: ApiClient, name: str) -> tuple[Card, dict]:
    models = client.fetch_models()
    raw = next(m["card"] for m in models if m["name"] == name)
    return next(m.card for m in parse_models(models) if m.name == name), raw


def test_too_few_predictions_are_said_and_not_drawn(quiet_api: ApiProcess):
    with ApiClient(quiet_api.url) as client:
        card, _ = _card(client, "flight-delay")
        view = check_drift(client, card)
    assert view.summary == _said("Only 0 predictions in the last 7 days: at least 100 are needed to judge.")
    assert view.chart is None


def test_a_shifted_input_is_named_in_words_and_stands_out_in_the_chart(quiet_api: ApiProcess):
    with ApiClient(quiet_api.url) as client:
        card, raw = _card(client, "flight-delay")
        rows = traffic_like_training(raw, 2000, seed=7)
        for row in rows:  # every flight now leaves at dawn
            row["dep_hour"] = 5
        for start in (0, 1000):
            client.predict_batch("flight-delay", rows[start:start + 1000])
        assert wait_until(lambda: requests.get(f"{quiet_api.url}/ready", timeout=5).json()["database"]["written"]
                          == 2000, timeout=60)
        view = check_drift(client, card)
    assert view.summary == _said(
        "Of the last 2,000 predictions (7 days), 1 input no longer looks like the training data: "
        "<b>Departure hour</b>. The model's answers may be less reliable than its held-out record says."
    )
    chart = view.chart
    assert chart.kind == "bar" and chart.x_order == [f.title for f in card.features]
    verdicts = dict(zip(chart.frame["input"], chart.frame["verdict"], strict=True))
    assert verdicts.pop("Departure hour") == "drifted"
    assert set(verdicts.values()) == {"steady"}  # drawn from the training spread, so none moved
    shift = dict(zip(chart.frame["input"], chart.frame[SHIFT], strict=True))
    assert shift["Departure hour"] > 1 and max(v for k, v in shift.items() if k != "Departure hour") < 0.1
    assert chart.y_domain[1] >= shift["Departure hour"]


def test_behind_the_admin_key_the_demo_says_how_to_ask_for_it(tmp_path):
    api = ApiProcess(tmp_path, env={"ADMIN_API_KEY": ADMIN}).start()
    try:
        with ApiClient(api.url) as client:
            card, _ = _card(client, "penguins")
            view = check_drift(client, card)
    finally:
        api.stop()
    assert view.chart is None
    assert "behind the API's admin key" in view.summary
    assert f"{api.url}/models/penguins/drift" in view.summary
