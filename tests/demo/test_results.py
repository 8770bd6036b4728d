"""Rendering real answers from the live API: a chart for classifiers, a number for regressors, the
model's record in plain sentences, and the developer's details (version, raw metrics, request id) in a fold."""

from __future__ import annotations

import re

from demo_app.cards import Card
from demo_app.client import ApiAuthError, ApiClient, ApiDownError, ApiRejectedError, ErrorDetail
from demo_app.connection import banner_connected, banner_for_error, banner_waking
from demo_app.forms import Form
from demo_app.results import (
    format_prediction,
    metric_sentence,
    model_summary,
    prediction_meta,
    probabilities,
    regression_value,
    technical_details,
)
from demo_app.waking import Waiting


def _predict_defaults(client: ApiClient, card: Card):
    return client.predict(card.name, Form(card).default_row())


def test_results_classifier_gives_a_probability_per_class_for_the_chart(client: ApiClient, cards: dict[str, Card]):
    card = cards["penguins"]
    reply = _predict_defaults(client, card)
    chart = probabilities(reply.data)
    assert set(chart) == set(card.classes)
    assert abs(sum(chart.values()) - 1) < 1e-6
    assert max(chart, key=chart.get) == reply.data["prediction"]


def test_results_classifier_meta_names_the_winner_and_latency_and_keeps_jargon_in_the_fold(
        client: ApiClient, cards: dict[str, Card]):
    card = cards["flight-delay"]
    reply = _predict_defaults(client, card)
    html = prediction_meta(card, reply.data, reply.seconds)
    chance = reply.data["probabilities"][reply.data["prediction"]]
    assert f"Most likely <b>{reply.data['prediction']}</b> ({chance:.0%})" in html
    assert re.search(r"answered in <b>[\d,]+ ms</b>", html)
    for jargon in (card.version, reply.data["request_id"], "ROC AUC", "Pipeline"):
        assert jargon not in html
    details = technical_details(card, reply.data)
    for detail in (card.version, reply.data["request_id"], card.estimator, f"{card.metrics['roc_auc']:.3f}",
                   "ROC AUC"):
        assert detail in details


def test_results_meta_names_the_inputs_outside_the_training_range(client: ApiClient, cards: dict[str, Card]):
    card = cards["flight-delay"]
    inside = _predict_defaults(client, card)
    assert inside.data["out_of_range"] == [] and "outside the training range" not in prediction_meta(
        card, inside.data, inside.seconds)
    distance = card.feature("distance")
    row = {**Form(card).default_row(), "distance": int(distance.maximum) + 1}
    outside = client.predict(card.name, row)  # served: the range is information, not a wall
    assert outside.data["out_of_range"] == ["distance"]
    assert ("outside the training range: <b>Distance (miles)</b>"
            in prediction_meta(card, outside.data, outside.seconds))


def test_results_regressor_shows_the_value_and_its_typical_error(client: ApiClient, cards: dict[str, Card]):
    card = cards["fuel-economy"]
    reply = _predict_defaults(client, card)
    html = regression_value(card, reply.data)
    assert format_prediction(reply.data["prediction"]) in html
    assert "predicted miles per gallon" in html
    assert f"give or take about {format_prediction(card.metrics['mae'])}" in html
    meta = prediction_meta(card, reply.data, reply.seconds)
    assert "Most likely" not in meta and "R²" not in meta and "R²" in technical_details(card)


def test_results_summary_says_each_metric_in_a_plain_sentence(cards: dict[str, Card]):
    flights, fuel = cards["flight-delay"], cards["fuel-economy"]
    summary = model_summary(flights)
    assert f"right about {flights.metrics['accuracy'] * 100:.0f} % of the time" in summary
    assert f"Tested on {flights.metrics_rows:,} examples it had never seen" in summary
    for jargon in ("ROC AUC", "accuracy", flights.version, flights.estimator):
        assert jargon not in summary
    assert f"typically off by {format_prediction(fuel.metrics['mae'])} miles per gallon" in model_summary(fuel)
    assert metric_sentence(fuel, "r2", 0.905) == (
        "explains about 90 % of the differences in miles per gallon from one case to the next")
    assert metric_sentence(fuel, "log_loss", 0.41234) == "log loss 0.412"  # a metric it has no words for


def test_results_name_the_target_by_the_cards_label(cards: dict[str, Card]):
    flights = cards["flight-delay"]
    assert flights.target_label and flights.target_label != flights.target
    summary = model_summary(flights)
    assert f"It gives the chance of each {flights.target_label}: late, on time." in summary
    assert flights.target not in summary


def test_results_summary_escapes_card_text(odd_card: Card):
    html = model_summary(odd_card)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; friends" in html
    assert "It gives the chance of each bought: no, yes." in html


def test_results_numbers_are_formatted_for_people():
    assert format_prediction(24.1449) == "24.14"
    assert format_prediction(1234.56) == "1,235"
    assert format_prediction(123.456) == "123.5"
    assert format_prediction(0.04213) == "0.0421"
    assert format_prediction(0) == "0.00"


def test_results_banners_say_waking_with_progress_then_down_or_refused():
    waking = banner_waking(Waiting(attempt=3, elapsed=24.4, limit=120, reason="cannot connect"), "https://x.test")
    assert "Waking up the API" in waking and "24 s so far" in waking and "attempt 3" in waking
    assert "most are ready within 90 s" in waking
    assert 'style="width:27%"' in waking  # the progress bar fills towards a typical wake-up (90 s)
    late = banner_waking(Waiting(attempt=9, elapsed=110, limit=120, reason="cannot connect"), "https://x.test")
    assert 'style="width:95%"' in late  # never "done" before the API answers

    down = banner_for_error(ApiDownError("The API did not answer within 120 s."), "https://x.test")
    assert "The API is not answering" in down and "Try again" in down

    refused = banner_for_error(ApiAuthError("The API refused the demo's key (HTTP 401)."), "https://x.test")
    assert "Access refused" in refused and "HTTP 401" in refused

    invalid = banner_for_error(
        ApiRejectedError(422, "invalid input: dest", [ErrorDetail("dest", "'LAXX' is not a category", "did you "
                                                                   "mean 'LAX'?")]),
        "https://x.test",
    )
    assert "<b>dest</b>: &#x27;LAXX&#x27; is not a category — did you mean &#x27;LAX&#x27;?" in invalid

    ok = banner_connected("https://x.test", 3, "https://x.test/docs")
    assert "API connected · 3 models" in ok and 'href="https://x.test/docs"' in ok
