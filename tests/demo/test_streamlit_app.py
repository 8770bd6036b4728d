"""The Streamlit front's logic, run by Streamlit's own app tester (AppTest) against a real API: the form
from the card, a prediction, the notes under a refused field, examples, what-if, CSV scoring, the call to
copy, the settings from secrets, and a sleeping API. The page in a real browser is test_streamlit_browser.py."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from html import unescape

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from demo_app.cards import Card
from demo_app.client import ApiClient
from demo_app.results import format_prediction
from demo_app.streamlit_front import read_settings
from tests.demo.servers import REPO, ApiProcess, free_port

ENTRY = REPO / "streamlit_app" / "streamlit_app.py"
SPACE_CARDS = REPO / "space" / "cards"


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test is a new process as far as Streamlit's caches go (cards, clients, copies of the cards)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def open_app(monkeypatch, api_url: str, **env: str) -> AppTest:
    """A visit to the app for the API at ``api_url``, configured only through the environment."""
    monkeypatch.setenv("API_URL", api_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = AppTest.from_file(str(ENTRY), default_timeout=90)
    return app.run()


def pick(app: AppTest, card: Card) -> AppTest:
    app.radio(key="fp:model").set_value(card.name)
    return app.run()


def html_text(app: AppTest) -> str:
    """The page's HTML fragments, with entities read back (``&#x27;`` as ``'``), markup kept."""
    return unescape("\n".join(element.proto.body for element in app.html))


def field(app: AppTest, card: Card, name: str):
    """The form's widget for feature ``name`` (its key is the model's and the feature's name)."""
    key = f"fp:{card.name}:field:{name}"
    for kind in (app.number_input, app.selectbox, app.checkbox):
        for widget in kind:
            if widget.key == key:
                return widget
    raise KeyError(key)


def press(app: AppTest, label: str) -> AppTest:
    next(button for button in app.button if button.label == label).click()
    return app.run()


def predict(app: AppTest) -> AppTest:
    return press(app, "Predict")


def test_streamlit_form_is_built_from_the_card_with_its_labels(monkeypatch, live_api: ApiProcess,
                                                              cards: dict[str, Card]):
    app = open_app(monkeypatch, live_api.url)
    assert not app.exception
    assert "API connected · 3 models" in html_text(app)
    # Every model one tap away, by its short name.
    assert app.radio(key="fp:model").options == ["Flight delay", "Fuel economy", "Palmer penguins"]
    card = cards["flight-delay"]
    for feature in card.features:
        widget = field(app, card, feature.name)
        assert widget.label == feature.title != feature.name
    dest = field(app, card, "dest")
    assert dest.value == card.feature("dest").default
    assert dest.format_func(dest.value) == card.feature("dest").category_title(dest.value)
    distance = field(app, card, "distance")
    assert distance.value == card.feature("distance").default
    assert "in training: 80 to 4983" in distance.help


@pytest.mark.parametrize("name", ["penguins", "fuel-economy"])
def test_streamlit_predict_shows_the_apis_answer(monkeypatch, live_api: ApiProcess, cards: dict[str, Card],
                                                 client: ApiClient, name: str):
    card = cards[name]
    expected = client.predict(name, {f.name: f.default for f in card.features}).data
    app = pick(open_app(monkeypatch, live_api.url), card)
    assert "Press <b>Predict</b>" in html_text(app)
    app = predict(app)
    assert not app.exception
    shown = html_text(app)
    assert "answered in" in shown
    if card.is_classifier:
        bars = [bar.proto.text for bar in app.get("progress")]
        chance = expected["probabilities"][expected["prediction"]]
        assert bars[0] == f"{expected['prediction']} · {chance:.0%}"  # the likeliest first
        assert len(bars) == len(card.classes)
        assert f"Most likely <b>{expected['prediction']}</b>" in shown
    else:
        assert f'data-testid="prediction-value">{format_prediction(expected["prediction"])}<' in shown
        assert "give or take about" in shown
    assert "request id" in shown  # in the Technical details fold


def test_streamlit_example_button_fills_the_form_and_predicts(monkeypatch, live_api: ApiProcess,
                                                             cards: dict[str, Card], client: ApiClient):
    card = cards["penguins"]
    example = card.examples[1]
    expected = client.predict(card.name, example).data["prediction"]
    app = pick(open_app(monkeypatch, live_api.url), card)
    press(app, "Example 2")
    assert field(app, card, "bill_length_mm").value == example["bill_length_mm"]
    assert f"Most likely <b>{expected}</b>" in html_text(app)


def test_streamlit_shows_the_apis_words_under_the_field_and_keeps_the_entry(monkeypatch, live_api: ApiProcess,
                                                                           cards: dict[str, Card]):
    card = cards["flight-delay"]
    app = open_app(monkeypatch, live_api.url)
    field(app, card, "distance").set_value(99999)
    app = predict(app)
    assert "Outside what the model saw in training (80 to 4983)" in html_text(app)

    # A visitor who typed an airport that is not a choice, and left the distance empty (AppTest's selectbox
    # can only pick a choice, so this visit starts with the typed text where the widget keeps it).
    app = AppTest.from_file(str(ENTRY), default_timeout=90)
    app.session_state[f"fp:{card.name}:field:dest"] = "ZZZ"
    app.session_state[f"fp:{card.name}:field:distance"] = None
    app.run()
    assert field(app, card, "dest").value == "ZZZ"  # shown as typed, among the choices
    app = predict(app)
    shown = html_text(app)
    assert "'ZZZ' is not a category this model was trained on" in shown
    assert "null is refused" in shown
    assert "See the note under <b>" in shown and "To (destination airport)" in shown
    assert field(app, card, "dest").value == "ZZZ"  # nothing typed is replaced
    assert field(app, card, "distance").value is None

    fuel = cards["fuel-economy"]
    app = pick(app, fuel)
    field(app, fuel, "cylinders").set_value(4.7)  # sent as typed, for the API to refuse
    app = predict(app)
    assert "whole number" in html_text(app)
    assert field(app, fuel, "cylinders").value == 4.7


def test_streamlit_what_if_sweeps_the_chosen_input(monkeypatch, live_api: ApiProcess, cards: dict[str, Card]):
    card = cards["flight-delay"]
    app = open_app(monkeypatch, live_api.url)
    app.selectbox(key=f"fp:{card.name}:sweep-feature").set_value("day_of_week")
    app.run()
    app.button(key=f"fp:{card.name}:sweep").click()
    app.run()
    assert not app.exception
    shown = html_text(app)
    assert "Chance of each outcome as Day of the week changes" in shown
    assert "7 values tried" in shown
    (chart,) = app.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["mark"]["type"] == "bar"
    # Bars named as in the form ("Wednesday", not the code "Wed"), ranked by the chance of the first class.
    days = spec["encoding"]["x"]["sort"]
    assert sorted(days) == sorted(card.feature("day_of_week").category_labels.values())
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]

    app.selectbox(key=f"fp:{card.name}:sweep-feature").set_value("month")
    app.run()
    app.button(key=f"fp:{card.name}:sweep").click()
    app.run()
    assert "12 values tried" in html_text(app)
    (chart,) = app.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    # A few whole numbers: one tick per month, in order, never a tick at 1.5.
    assert spec["mark"]["type"] == "line" and spec["encoding"]["x"]["sort"] == [str(m) for m in range(1, 13)]


def _csv(card: Card, rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in card.features])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_streamlit_csv_scores_the_good_rows_and_says_why_not_the_others(monkeypatch, live_api: ApiProcess,
                                                                       cards: dict[str, Card]):
    card = cards["flight-delay"]
    rows = [dict(example) for example in card.examples]
    rows.insert(1, {**card.examples[0], "dest": "ZZZ"})
    app = open_app(monkeypatch, live_api.url)
    upload = app.get("file_uploader")[0]
    upload.upload("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "image/png")
    app.run()
    assert "This .png file cannot be scored" in html_text(app)

    app.get("file_uploader")[0].upload("flights.csv", _csv(card, rows), "text/csv")
    app.run()
    assert not app.exception
    shown = html_text(app)
    assert f"Scored {len(card.examples)} of {len(rows)} rows" in shown
    assert "Row 2</b>: dest: 'ZZZ' is not a category this model was trained on" in shown
    table = app.dataframe[0].value
    assert list(table["status"]) == ["ok", "not scored", "ok", "ok"]
    assert f"predicted {card.target_title}" in table.columns
    assert "chance of late" in table.columns
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Download a template", "Download the predictions (CSV)"]


def test_streamlit_snippets_send_the_inputs_last_sent(monkeypatch, live_api: ApiProcess, cards: dict[str, Card]):
    card = cards["fuel-economy"]
    app = pick(open_app(monkeypatch, live_api.url), card)
    field(app, card, "weight_lbs").set_value(3500)
    field(app, card, "origin").set_value("Japan")
    app = predict(app)
    curl, python = (block.value for block in app.code)
    assert f"{live_api.url}/models/fuel-economy/predict" in curl
    assert '"weight_lbs": 3500' in curl and '"origin": "Japan"' in curl
    assert "'origin': 'Japan'" in python and "X-API-Key" not in curl
    shown = html_text(app)
    assert f'href="{live_api.url}/docs"' in shown
    assert "<code>weight_lbs</code>" in shown  # the one place the API's own names appear


def test_streamlit_settings_come_from_secrets_over_the_environment(monkeypatch, live_api: ApiProcess):
    settings = read_settings({"API_URL": "https://from-secrets.example", "API_KEY": "s3cret", "extra": {"a": 1}},
                             {"API_URL": "https://from-env.example", "DEMO_TITLE": "From env"})
    assert (settings.api_url, settings.api_key, settings.title) == ("https://from-secrets.example", "s3cret",
                                                                    "From env")
    # In the app: st.secrets (Community Cloud's Settings → Secrets) wins over a stale environment.
    monkeypatch.setenv("API_URL", f"http://127.0.0.1:{free_port()}")
    app = AppTest.from_file(str(ENTRY), default_timeout=90)
    app.secrets["API_URL"] = live_api.url
    app.run()
    assert "API connected" in html_text(app)


def test_streamlit_bad_setting_stops_the_app_with_a_sentence(monkeypatch):
    app = open_app(monkeypatch, "my-api.onrender.com")
    assert "API_URL must start with http:// or https://" in app.exception[0].message


def test_streamlit_sleeping_api_shows_the_shipped_forms_then_gives_up_and_offers_to_try_again(
        monkeypatch, tmp_path, cards: dict[str, Card]):
    shipped = tmp_path / "cards"
    shutil.copytree(SPACE_CARDS, shipped)
    asleep = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = open_app(monkeypatch, asleep, API_WAKE_SECONDS="3", DEMO_CARDS_DIR=str(shipped))
    assert not app.exception
    shown = html_text(app)
    assert "the forms below come from the cards shipped with this demo" in shown
    assert "The API is not answering." in shown and "did not answer within 3 s" in shown
    assert any(button.label == "Try again" for button in app.button)
    card = cards["flight-delay"]
    assert [field(app, card, f.name).label for f in card.features] == [f.title for f in card.features]


def test_streamlit_key_from_secrets_is_sent_never_shown_and_a_refused_one_is_said(monkeypatch, tmp_path,
                                                                                 cards: dict[str, Card]):
    api = ApiProcess(tmp_path, env={"API_KEYS": "right-key"}).start()
    try:
        monkeypatch.setenv("API_URL", api.url)
        card = cards["flight-delay"]
        for key, answered in (("right-key", True), ("wrong-key", False)):
            st.cache_resource.clear()  # a new key is a new client, as on a restarted app
            app = AppTest.from_file(str(ENTRY), default_timeout=90)
            app.secrets["API_KEY"] = key
            app = predict(app.run())
            shown = html_text(app)
            assert ("answered in" in shown) is answered
            assert ("Access refused." in shown) is not answered
            curl, python = (block.value for block in app.code)
            assert '-H "X-API-Key: $API_KEY"' in curl and 'os.environ["API_KEY"]' in python
            assert key not in curl + python + shown  # the page is public: the key never appears on it
        assert f"{card.title}" in shown  # the forms stay, only the calls are refused
    finally:
        api.stop()
