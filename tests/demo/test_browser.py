"""The demo in a real browser (Debian's headless Chromium, driven by Playwright) against a real API,
looked at as a visitor would: on a laptop (1366×900) and on a phone held upright (390×844).

Every test saves what it saw under artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from demo_app.cards import Card, Feature
from demo_app.client import ApiClient
from demo_app.results import format_prediction
from tests.demo.conftest import VIEWPORTS
from tests.demo.servers import REPO, ApiProcess, DemoProcess
from tests.pg import wait_until

pytestmark = pytest.mark.slow

CONNECTED = "API connected"
BOTH = pytest.mark.parametrize("viewport", ["desktop", "phone"], indirect=True)
SPACE_CARDS = REPO / "space" / "cards"


def open_demo(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#fp-api-status")).to_contain_text(CONNECTED, timeout=60_000)


def open_model(page: Page, card: Card) -> Locator:
    """One tap on the model's name in the picker."""
    page.locator("#fp-model-picker").get_by_text(card.title.split(":")[0], exact=True).click()
    panel = page.locator(f"#fp-model-{card.name}")
    expect(panel.get_by_role("button", name="Predict", exact=True)).to_be_visible()
    return panel


def choose(page: Page, panel: Locator, label: str, shown: str) -> None:
    box = panel.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(shown)
    page.get_by_role("option", name=shown, exact=True).click()
    expect(box).to_have_value(shown)


def type_into(panel: Locator, feature: Feature, text: str) -> Locator:
    """Type into a field as a visitor would, and leave it; "" clears it."""
    box = panel.get_by_label(feature.title, exact=True)
    box.fill(text)
    box.press("Tab")
    return box


def fill_form(page: Page, panel: Locator, card: Card, row: dict) -> None:
    """Type a row into the form widget by widget, by the labels the visitor reads."""
    for feature in card.features:
        value = row[feature.name]
        if feature.is_numeric:
            type_into(panel, feature, "" if value is None else str(value))
        elif feature.type == "category":
            choose(page, panel, feature.title, "Not known" if value is None else feature.category_title(value))
        else:
            panel.get_by_label(feature.title, exact=True).set_checked(bool(value))


def field_note(panel: Locator, card: Card, name: str) -> Locator:
    """The note under a field (numbered in the card's feature order)."""
    return panel.locator(f"#fp-note-{card.name}-{[f.name for f in card.features].index(name)}")


def predict(panel: Locator) -> None:
    panel.get_by_role("button", name="Predict", exact=True).click()


def in_viewport(page: Page, locator: Locator, *, whole_width: bool = True) -> bool:
    """On screen: its top-left corner, and (``whole_width``) its right edge too."""
    box = locator.bounding_box()
    size = page.viewport_size
    if box is None or not (0 <= box["y"] < size["height"] and 0 <= box["x"] < size["width"]):
        return False
    return not whole_width or box["x"] + box["width"] <= size["width"] + 1


@pytest.mark.parametrize("name", ["flight-delay", "fuel-economy", "penguins"])
def test_browser_fills_the_form_and_shows_the_apis_prediction(
    demo: DemoProcess, page: Page, cards: dict[str, Card], client: ApiClient, screenshots, name: str
):
    card = cards[name]
    row = card.examples[-1]
    expected = client.predict(name, row).data
    open_demo(page, demo.url)
    panel = open_model(page, card)
    expect(panel.locator(".block.fp-outcome")).to_contain_text("Press Predict")
    fill_form(page, panel, card, row)
    predict(panel)

    meta = panel.locator(".fp-meta")
    expect(meta).to_contain_text("answered in")
    if card.is_classifier:
        chance = expected["probabilities"][expected["prediction"]]
        expect(meta).to_contain_text(f"Most likely {expected['prediction']} ({chance:.0%})")
        expect(panel.locator(".fp-label")).to_contain_text(expected["prediction"])
    else:
        expect(panel.get_by_test_id("prediction-value")).to_have_text(format_prediction(expected["prediction"]))
    page.screenshot(path=screenshots / f"predict-{name}.png", full_page=True)


@BOTH
def test_browser_speaks_plainly_with_details_one_click_away(demo: DemoProcess, page: Page, cards, viewport,
                                                             screenshots):
    card = cards["flight-delay"]
    open_demo(page, demo.url)
    panel = open_model(page, card)
    predict(panel)
    expect(panel.locator(".fp-meta")).to_contain_text("answered in")
    # Labels and names, never raw column names or bare codes, and every metric said in words.
    for feature in card.features:
        expect(panel.get_by_label(feature.title, exact=True)).to_be_visible()
    expect(panel.get_by_role("combobox", name="To (destination airport)")).to_have_value(
        card.feature("dest").category_title(card.feature("dest").default))
    summary = panel.locator(".fp-summary")
    expect(summary).to_contain_text(f"right about {card.metrics['accuracy'] * 100:.0f} % of the time")
    visible_text = panel.inner_text()
    for jargon in ("Pipeline(", "ROC AUC", card.version, "day_of_week", "dep_hour", "/predict/batch", "P(late)"):
        assert jargon not in visible_text, jargon
    # The developer's details are one click away.
    panel.get_by_text("Technical details", exact=True).click()
    technical = panel.locator(".fp-technical").first
    expect(technical).to_contain_text(card.estimator)
    expect(technical).to_contain_text(card.version)
    expect(technical).to_contain_text("request id")
    # The system's own font: codes such as EWR read as EWR, not with a display font's curly Ɛ.
    font = panel.get_by_label("From (New York airport)").evaluate("e => getComputedStyle(e).fontFamily")
    assert font.startswith("system-ui"), font
    page.screenshot(path=screenshots / f"plain-{viewport}.png", full_page=True)


@BOTH
def test_browser_shows_the_apis_message_next_to_a_bad_entry_and_changes_nothing(
    demo: DemoProcess, page: Page, cards, viewport, screenshots
):
    card = cards["flight-delay"]
    open_demo(page, demo.url)
    panel = open_model(page, card)
    distance = type_into(panel, card.feature("distance"), "99999")
    predict(panel)
    # Far outside the training range: served as typed, and the field says so.
    expect(field_note(panel, card, "distance")).to_contain_text("Outside what the model saw in training (80 to 4983)")
    expect(distance).to_have_value("99999")

    type_into(panel, card.feature("distance"), "")
    dest = panel.get_by_role("combobox", name=card.feature("dest").title)
    dest.fill("ZZZ")
    dest.press("Tab")
    predict(panel)
    expect(field_note(panel, card, "dest")).to_contain_text("'ZZZ' is not a category this model was trained on")
    expect(field_note(panel, card, "distance")).to_contain_text("null is refused")
    expect(panel.locator(".block.fp-outcome")).to_contain_text("See the note under To (destination airport)")
    expect(dest).to_have_value("ZZZ")
    expect(distance).to_have_value("")
    field_note(panel, card, "dest").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / f"refused-{viewport}.png")

    fuel = cards["fuel-economy"]
    panel = open_model(page, fuel)
    cylinders = type_into(panel, fuel.feature("cylinders"), "4.7")
    predict(panel)
    expect(field_note(panel, fuel, "cylinders")).to_contain_text("whole number")
    expect(cylinders).to_have_value("4.7")


@BOTH
def test_browser_reaches_every_model_in_one_tap_and_scrolls_the_result_into_view(
    demo: DemoProcess, page: Page, cards, client, viewport, screenshots
):
    open_demo(page, demo.url)
    picker = page.locator("#fp-model-picker")
    for card in cards.values():
        choice = picker.get_by_text(card.title.split(":")[0], exact=True)
        expect(choice).to_be_visible()
        assert in_viewport(page, choice) or viewport == "desktop"
    penguins = cards["penguins"]
    panel = open_model(page, penguins)
    for other in cards.values():
        if other.name != penguins.name:
            expect(page.locator(f"#fp-model-{other.name}")).to_be_hidden()
    expected = client.predict(penguins.name, penguins.examples[1]).data["prediction"]
    panel.get_by_role("button", name="Example 2", exact=True).click()
    label = panel.locator(".fp-label")
    expect(label).to_contain_text(expected)
    expect(panel.get_by_label(penguins.feature("bill_length_mm").title, exact=True)).to_have_value(
        str(penguins.examples[1]["bill_length_mm"]))
    expect(label).to_be_in_viewport()  # on a phone the result is below the form: the page went there
    page.screenshot(path=screenshots / f"example-result-{viewport}.png")
    if viewport == "desktop":  # a tidy grid: fields side by side line up, nullable or not
        for row in panel.locator(".fp-field-row").all():
            boxes = [field.bounding_box() for field in row.locator(".block.fp-field").all()]
            assert len({round(box["y"]) for box in boxes}) == 1, boxes


@BOTH
def test_browser_what_if_charts_fit_the_screen_with_whole_number_ticks(demo: DemoProcess, page: Page, cards,
                                                                        viewport, screenshots):
    card = cards["penguins"]
    open_demo(page, demo.url)
    panel = open_model(page, card)
    panel.get_by_role("button", name="Example 3", exact=True).click()
    expect(panel.locator(".fp-label")).to_be_visible()
    choose(page, panel, "Input to change", card.feature("flipper_length_mm").title)
    panel.get_by_role("button", name="Show", exact=True).click()
    expect(panel.locator(".fp-sweep-title")).to_contain_text("Chance of each species as Flipper length (mm) changes")
    chart = panel.locator(".fp-sweep-plot").filter(visible=True)
    expect(chart.locator("canvas, svg").first).to_be_visible()
    chart.scroll_into_view_if_needed()
    assert in_viewport(page, chart)  # as wide as the screen at most
    page.screenshot(path=screenshots / f"whatif-penguins-{viewport}.png")

    flights = cards["flight-delay"]
    panel = open_model(page, flights)
    choose(page, panel, "Input to change", "Month")
    panel.get_by_role("button", name="Show", exact=True).click()
    expect(panel.locator(".fp-sweep-title")).to_contain_text("12 values tried")
    chart = panel.locator(".fp-sweep-plot").filter(visible=True)
    expect(chart.locator("svg text").filter(has_text="12")).to_have_count(1)
    ticks = [t.strip() for t in chart.locator("svg text").all_text_contents()]
    assert [str(month) for month in range(1, 13)] == [t for t in ticks if t.isdigit()]
    assert not any(t.endswith(".5") for t in ticks)
    chart.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / f"whatif-month-{viewport}.png")

    # A category's bars are named as in the form: "Monday", not the code "Mon".
    choose(page, panel, "Input to change", flights.feature("day_of_week").title)
    panel.get_by_role("button", name="Show", exact=True).click()
    expect(panel.locator(".fp-sweep-title")).to_contain_text("7 values tried")
    chart = panel.locator(".fp-sweep-plot").filter(visible=True)
    expect(chart.locator("svg text").filter(has_text="Wednesday")).to_have_count(1)
    ticks = [t.strip() for t in chart.locator("svg text").all_text_contents()]
    assert not {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} & set(ticks), ticks
    chart.scroll_into_view_if_needed()
    assert in_viewport(page, chart)
    page.screenshot(path=screenshots / f"whatif-day-{viewport}.png")


@BOTH
def test_browser_csv_keeps_predictions_in_view_and_lists_reasons_below(demo: DemoProcess, page: Page, cards,
                                                                       tmp_path, viewport, screenshots):
    card = cards["flight-delay"]
    rows = [dict(example) for example in card.examples]
    rows.insert(1, {**card.examples[0], "dest": "ZZZ"})
    path = tmp_path / "flights.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in card.features])
        writer.writeheader()
        writer.writerows(rows)

    open_demo(page, demo.url)
    panel = open_model(page, card)
    panel.get_by_text("Score a CSV file", exact=True).click()
    upload = panel.locator("input[type=file]")
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    upload.set_input_files(picture)
    expect(panel.locator(".fp-banner").filter(has_text="cannot be scored")).to_contain_text(
        "This .png file cannot be scored")

    panel.get_by_role("button", name="Clear").first.click()
    upload.set_input_files(path)
    summary = panel.locator(".fp-banner").filter(has_text="Scored")
    expect(summary).to_contain_text(f"Scored {len(card.examples)} of {len(rows)} rows")
    expect(summary).to_contain_text("1 row not scored: the reasons are under the table")
    expect(panel.locator(".fp-problems")).to_contain_text(
        "Row 2: dest: 'ZZZ' is not a category this model was trained on")
    table = panel.locator(".fp-batch-table")
    expect(table).to_contain_text("not scored")
    expect(table).to_contain_text("chance of late")
    header = table.get_by_text(f"predicted {card.target_title}", exact=True).first
    header.scroll_into_view_if_needed()
    # The predictions are not pushed off the screen by a long reason, and the page is no wider than the screen.
    assert in_viewport(page, header, whole_width=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]

    with page.expect_download() as download_info:
        panel.get_by_role("button", name="Download the predictions (CSV)").click()
    downloaded = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [line["status"] for line in downloaded] == ["ok", "not scored", "ok", "ok"]
    assert "'ZZZ' is not a category" in downloaded[1]["reason"]
    assert all(line[f"predicted {card.target_title}"] in card.classes for line in downloaded if line["status"] == "ok")
    table.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / f"batch-{viewport}.png")


def test_browser_api_panel_shows_the_call_for_the_current_inputs(demo: DemoProcess, page: Page, cards,
                                                                 screenshots):
    card = cards["fuel-economy"]
    open_demo(page, demo.url)
    panel = open_model(page, card)
    type_into(panel, card.feature("weight_lbs"), "3500")
    choose(page, panel, card.feature("origin").title, "Japan")
    panel.get_by_text("Call the API yourself", exact=True).click()
    curl = panel.locator(".fp-curl")
    expect(curl).to_contain_text(f"{demo.api_url}/models/fuel-economy/predict")
    expect(curl).to_contain_text('"weight_lbs": 3500')
    expect(curl).to_contain_text('"origin": "Japan"')
    expect(panel.locator(".fp-python")).to_contain_text("'origin': 'Japan'")
    # The one place the API's own field names are shown, beside the labels.
    names = panel.locator(".fp-field-names")
    expect(names).to_contain_text("weight_lbs")
    expect(names).to_contain_text(card.feature("weight_lbs").title)
    docs = panel.get_by_role("link", name="interactive API docs (/docs)")
    expect(docs).to_have_attribute("href", f"{demo.api_url}/docs")
    curl.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "api-panel-fuel-economy.png", full_page=True)


def test_browser_sleeping_api_shows_waking_then_down_then_recovers(page: Page, browser, cards, tmp_path,
                                                                   screenshots):
    api = ApiProcess(tmp_path)  # not started: the page must come up without it
    demo = DemoProcess(tmp_path, api.url, env={"API_WAKE_SECONDS": "20"}).start()
    try:
        page.goto(demo.url)
        status = page.locator("#fp-api-status")
        expect(status).to_contain_text("Waking up the API", timeout=30_000)
        expect(status).to_contain_text("s so far", timeout=10_000)
        page.screenshot(path=screenshots / "api-waking.png")
        expect(status).to_contain_text("The API is not answering", timeout=60_000)
        expect(page.get_by_role("button", name="Try again")).to_be_visible()
        page.screenshot(path=screenshots / "api-down.png")

        api.start()  # the page checks again by itself and builds the forms
        expect(status).to_contain_text(CONNECTED, timeout=60_000)
        card = cards["penguins"]
        panel = open_model(page, card)
        page.screenshot(path=screenshots / "api-recovered.png", full_page=True)

        api.stop()  # asleep again: a prediction waits for it, and the whole page says so
        predict(panel)
        expect(panel.locator(".block.fp-outcome")).to_contain_text("Waking up the API", timeout=30_000)
        expect(status).to_contain_text("Waking up the API")
        page.screenshot(path=screenshots / "predict-waking.png", full_page=True)

        # A new visitor meanwhile gets the forms from the API's last answer, and is told so.
        visitor = browser.new_page(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True)
        try:
            visitor.goto(demo.url)
            expect(visitor.locator("#fp-api-status")).to_contain_text("Waking up the API", timeout=30_000)
            expect(visitor.locator("#fp-copy-note")).to_contain_text("the forms below come from the API's last answer")
            for other in cards.values():
                expect(visitor.locator("#fp-model-picker").get_by_text(other.title.split(":")[0],
                                                                       exact=True)).to_be_visible()
            open_model(visitor, card)
            visitor.screenshot(path=screenshots / "api-waking-last-answer-phone.png", full_page=True)
        finally:
            visitor.close()

        api.start(wait=False)
        expect(panel.locator(".fp-meta")).to_contain_text("answered in", timeout=60_000)
        expect(panel.locator(".fp-label")).to_be_visible()
        expect(status).to_contain_text(CONNECTED)
    finally:
        demo.stop()
        api.stop()


@BOTH
def test_browser_first_visit_to_a_sleeping_api_shows_the_shipped_forms_and_the_wake_up(
    page: Page, cards, tmp_path, viewport, screenshots
):
    # The cards a Space ships (space/cards), one of them older than the live API's.
    shipped = tmp_path / "cards"
    shutil.copytree(SPACE_CARDS, shipped)
    penguins = cards["penguins"]
    older = shipped / f"{penguins.name}.json"
    older.write_text(older.read_text().replace(json.dumps(penguins.title), json.dumps("Penguins (an older card)")))
    api = ApiProcess(tmp_path)  # asleep: not started
    demo = DemoProcess(tmp_path, api.url, env={"API_WAKE_SECONDS": "120", "DEMO_CARDS_DIR": str(shipped)}).start()
    try:
        page.goto(demo.url)
        status = page.locator("#fp-api-status")
        expect(status).to_contain_text("Waking up the API", timeout=30_000)
        expect(status).to_contain_text("s so far", timeout=10_000)
        progress = status.locator(".fp-progress")
        expect(progress).to_be_visible()
        # The wake-up and its progress fit the screen, on a phone too.
        assert in_viewport(page, status) and in_viewport(page, progress)
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        note = page.locator("#fp-copy-note")
        expect(note).to_contain_text("the forms below come from the cards shipped with this demo")
        picker = page.locator("#fp-model-picker")
        expect(picker.get_by_text("Penguins (an older card)", exact=True)).to_be_visible()
        flights = cards["flight-delay"]
        panel = open_model(page, flights)
        for feature in flights.features:
            expect(panel.get_by_label(feature.title, exact=True)).to_be_visible()
        page.screenshot(path=screenshots / f"api-waking-shipped-{viewport}.png", full_page=True)

        api.start(wait=False)  # it wakes: its own cards replace the shipped ones, and the form answers
        expect(status).to_contain_text(CONNECTED, timeout=90_000)
        expect(note).to_be_hidden()
        expect(picker.get_by_text(penguins.title.split(":")[0], exact=True)).to_be_visible()
        expect(picker.get_by_text("Penguins (an older card)", exact=True)).to_have_count(0)
        panel = open_model(page, flights)
        predict(panel)
        expect(panel.locator(".fp-meta")).to_contain_text("answered in", timeout=30_000)
    finally:
        demo.stop()
        api.stop()


def send_penguins_at_one_spot(live_api: ApiProcess, client: ApiClient, card: Card, count: int = 300) -> None:
    """Traffic that has drifted: every penguin the same, and stored before the visitor looks."""
    before = requests.get(f"{live_api.url}/ready", timeout=5).json()["database"]["written"]
    client.predict_batch(card.name, [dict(card.examples[0])] * count)
    assert wait_until(lambda: requests.get(f"{live_api.url}/ready", timeout=5).json()["database"]["written"]
                      >= before + count, timeout=60)


@BOTH
def test_browser_drift_names_the_inputs_that_moved_and_its_chart_fits(demo: DemoProcess, live_api: ApiProcess,
                                                                      client: ApiClient, page: Page, cards,
                                                                      viewport, screenshots):
    card = cards["penguins"]
    send_penguins_at_one_spot(live_api, client, card)
    open_demo(page, demo.url)
    panel = open_model(page, card)
    panel.get_by_text("Are recent inputs like the training data?").click()
    panel.get_by_role("button", name="Check", exact=True).click()
    summary = panel.locator(".fp-drift-summary")
    expect(summary).to_contain_text("no longer look like the training data")
    expect(summary).to_contain_text(card.feature("island").title)
    chart = panel.locator(".fp-drift-plot").filter(visible=True)
    expect(chart.locator("svg text").filter(has_text="drifted").first).to_be_visible()
    chart.scroll_into_view_if_needed()
    assert in_viewport(page, chart)
    page.screenshot(path=screenshots / f"drift-{viewport}.png")
