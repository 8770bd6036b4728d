"""The demo in a real browser (Debian's headless Chromium, driven by Playwright) against a real API.

Every test saves what it saw under artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Locator, Page, expect

from demo_app.cards import Card
from demo_app.client import ApiClient
from demo_app.results import format_prediction
from tests.demo.servers import ApiProcess, DemoProcess

pytestmark = pytest.mark.slow

CONNECTED = "API connected"


def open_demo(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#fp-api-status")).to_contain_text(CONNECTED, timeout=60_000)


def open_model(page: Page, card: Card) -> Locator:
    page.get_by_role("tab", name=card.title.split(":")[0], exact=True).click()
    tab = page.locator(f"#fp-tab-{card.name}")
    expect(tab.get_by_role("button", name="Predict", exact=True)).to_be_visible()
    return tab


def choose(page: Page, tab: Locator, label: str, value: str) -> None:
    box = tab.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(value)
    page.get_by_role("option", name=value, exact=True).click()
    expect(box).to_have_value(value)


def set_number(tab: Locator, label: str, value: float) -> None:
    box = tab.get_by_label(f"number input for {label}", exact=True)
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def fill_form(page: Page, tab: Locator, card: Card, row: dict) -> None:
    """Type a row into the form widget by widget, as a visitor would."""
    for feature in card.features:
        value = row[feature.name]
        if feature.is_numeric:
            unknown = tab.get_by_label(f"{feature.name} not known (send null)") if feature.nullable else None
            if value is None:
                unknown.check()
                continue
            if unknown is not None:
                unknown.uncheck()
            set_number(tab, feature.name, value)
        elif feature.type == "category":
            choose(page, tab, feature.name, "(not known)" if value is None else value)
        else:
            checkbox = tab.get_by_label(feature.name, exact=True)
            checkbox.set_checked(bool(value))


@pytest.mark.parametrize("name", ["flight-delay", "fuel-economy", "penguins"])
def test_browser_fills_the_form_and_shows_the_apis_prediction(
    demo: DemoProcess, page: Page, cards: dict[str, Card], client: ApiClient, screenshots, name: str
):
    card = cards[name]
    row = card.examples[-1]
    expected = client.predict(name, row).data
    open_demo(page, demo.url)
    tab = open_model(page, card)
    expect(tab.locator(".block.fp-outcome")).to_contain_text("Press Predict")
    fill_form(page, tab, card, row)
    tab.get_by_role("button", name="Predict", exact=True).click()

    meta = tab.locator(".fp-meta")
    expect(meta).to_contain_text("API answered in")
    expect(meta).to_contain_text(f"model version {card.version}")
    if card.is_classifier:
        chance = expected["probabilities"][expected["prediction"]]
        expect(meta).to_contain_text(f"Most likely {expected['prediction']} ({chance:.0%})")
        expect(tab.locator(".fp-label")).to_contain_text(expected["prediction"])
    else:
        expect(tab.get_by_test_id("prediction-value")).to_have_text(format_prediction(expected["prediction"]))
    first_metric = next(iter(card.metrics))
    expect(meta).to_contain_text(f"{card.metrics[first_metric]:.3f}")
    page.screenshot(path=screenshots / f"predict-{name}.png", full_page=True)


def test_browser_example_button_fills_and_predicts(demo: DemoProcess, page: Page, cards, client, screenshots):
    card = cards["penguins"]
    expected = client.predict(card.name, card.examples[1]).data["prediction"]
    open_demo(page, demo.url)
    tab = open_model(page, card)
    tab.get_by_role("button", name="Example 2", exact=True).click()
    expect(tab.locator(".fp-label")).to_contain_text(expected)
    expect(tab.get_by_label("number input for bill_length_mm", exact=True)).to_have_value(
        str(card.examples[1]["bill_length_mm"]))


def test_browser_what_if_sweep_draws_the_chart(demo: DemoProcess, page: Page, cards, screenshots):
    card = cards["penguins"]
    open_demo(page, demo.url)
    tab = open_model(page, card)
    tab.get_by_role("button", name="Example 3", exact=True).click()
    expect(tab.locator(".fp-label")).to_be_visible()
    choose(page, tab, "Input to vary", "flipper_length_mm")
    tab.get_by_role("button", name="Sweep", exact=True).click()
    expect(tab).to_contain_text("flipper_length_mm across 40 values")
    chart = tab.locator(".fp-sweep-plot").filter(visible=True)
    expect(chart.locator("canvas, svg").first).to_be_visible()
    expect(chart).to_contain_text("Probability as flipper_length_mm varies")
    chart.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "whatif-penguins-flipper.png", full_page=True)

    fuel = cards["fuel-economy"]
    tab = open_model(page, fuel)
    choose(page, tab, "Input to vary", "origin")
    tab.get_by_role("button", name="Sweep", exact=True).click()
    expect(tab).to_contain_text("origin across 3 values")
    bars = tab.locator(".fp-sweep-plot").filter(visible=True)
    expect(bars).to_contain_text("miles_per_gallon as origin varies")
    bars.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "whatif-fuel-economy-origin.png", full_page=True)


def test_browser_csv_with_a_bad_row_scores_the_rest(demo: DemoProcess, page: Page, cards, tmp_path, screenshots):
    card = cards["flight-delay"]
    rows = [dict(example) for example in card.examples]
    rows.insert(1, {**card.examples[0], "dest": "ZZZ"})
    path = tmp_path / "flights.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in card.features])
        writer.writeheader()
        writer.writerows(rows)

    open_demo(page, demo.url)
    tab = open_model(page, card)
    tab.get_by_text("Score a CSV file", exact=True).click()
    tab.locator("input[type=file]").set_input_files(path)
    summary = tab.locator(".fp-banner").filter(has_text="Scored")
    expect(summary).to_contain_text(f"Scored {len(card.examples)} of {len(rows)} rows")
    expect(summary).to_contain_text("row 2: dest: 'ZZZ' is not a category this model was trained on")
    table = tab.locator(".fp-batch-table")
    expect(table).to_contain_text("not scored: dest")
    expect(table).to_contain_text("predicted arrival")

    with page.expect_download() as download_info:
        tab.get_by_role("button", name="Download the predictions (CSV)").click()
    downloaded = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [line["status"] == "ok" for line in downloaded] == [True, False, True, True]
    assert all(line["predicted arrival"] in card.classes for line in downloaded if line["status"] == "ok")
    table.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "batch-flight-delay.png", full_page=True)


def test_browser_api_panel_shows_the_call_for_the_current_inputs(demo: DemoProcess, page: Page, cards,
                                                                 screenshots):
    card = cards["fuel-economy"]
    open_demo(page, demo.url)
    tab = open_model(page, card)
    set_number(tab, "weight_lbs", 3500)
    choose(page, tab, "origin", "Japan")
    tab.get_by_text("Call the API yourself", exact=True).click()
    curl = tab.locator(".fp-curl")
    expect(curl).to_contain_text(f"{demo.api_url}/models/fuel-economy/predict")
    expect(curl).to_contain_text('"weight_lbs": 3500')
    expect(curl).to_contain_text('"origin": "Japan"')
    expect(tab.locator(".fp-python")).to_contain_text("'origin': 'Japan'")
    docs = tab.get_by_role("link", name="interactive API docs (/docs)")
    expect(docs).to_have_attribute("href", f"{demo.api_url}/docs")
    curl.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "api-panel-fuel-economy.png", full_page=True)


def test_browser_sleeping_api_shows_waking_then_down_then_recovers(page: Page, cards, tmp_path, screenshots):
    api = ApiProcess(tmp_path)  # not started: the page must come up without it
    demo = DemoProcess(tmp_path, api.url, env={"API_WAKE_SECONDS": "20"}).start()
    try:
        page.goto(demo.url)
        status = page.locator("#fp-api-status")
        expect(status).to_contain_text("Waking up the API", timeout=30_000)
        expect(status).to_contain_text("attempt", timeout=10_000)
        page.screenshot(path=screenshots / "api-waking.png")
        expect(status).to_contain_text("The API is not answering", timeout=60_000)
        expect(page.get_by_role("button", name="Try again")).to_be_visible()
        page.screenshot(path=screenshots / "api-down.png")

        api.start()  # the page checks again by itself and builds the forms
        expect(status).to_contain_text(CONNECTED, timeout=60_000)
        card = cards["penguins"]
        tab = open_model(page, card)
        page.screenshot(path=screenshots / "api-recovered.png", full_page=True)

        api.stop()  # asleep again: a prediction waits for it instead of failing
        tab.get_by_role("button", name="Predict", exact=True).click()
        outcome = tab.locator(".block.fp-outcome")
        expect(outcome).to_contain_text("Waking up the API", timeout=30_000)
        page.screenshot(path=screenshots / "predict-waking.png", full_page=True)
        api.start(wait=False)
        expect(tab.locator(".fp-meta")).to_contain_text("API answered in", timeout=60_000)
        expect(tab.locator(".fp-label")).to_be_visible()
    finally:
        demo.stop()
        api.stop()
