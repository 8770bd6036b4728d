"""The Streamlit front in a real browser (Debian's headless Chromium, driven by Playwright) against a real
API, started as `make demo DEMO=streamlit` starts it, and looked at on a laptop (1366×900) and a phone
(390×844): predict, examples, what-if, CSV scoring, the call to copy, and a sleeping API.

Every test saves what it saw under artifacts/screenshots/ (streamlit-*.png).
"""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from playwright.sync_api import Locator, Page, expect

from demo_app.cards import Card, Feature
from demo_app.client import ApiClient
from demo_app.results import format_prediction
from tests.demo.conftest import VIEWPORTS
from tests.demo.servers import REPO, ApiProcess, StreamlitProcess
from tests.demo.test_browser import send_penguins_at_one_spot
from tests.pg import wait_until

pytestmark = pytest.mark.slow

CONNECTED = "API connected"
BOTH = pytest.mark.parametrize("viewport", ["desktop", "phone"], indirect=True)
SPACE_CARDS = REPO / "space" / "cards"


@pytest.fixture(scope="module")
def streamlit_demo(live_api: ApiProcess, tmp_path_factory) -> StreamlitProcess:
    process = StreamlitProcess(tmp_path_factory.mktemp("streamlit"), live_api.url,
                               env={"DEMO_TITLE": "freeport demo", "API_WAKE_SECONDS": "30"}).start()
    yield process
    process.stop()


def status(page: Page) -> Locator:
    return page.locator(".st-key-fp-api-status")


def open_demo(page: Page, url: str) -> None:
    page.goto(url)
    expect(status(page)).to_contain_text(CONNECTED, timeout=60_000)


def open_model(page: Page, card: Card) -> Locator:
    """One tap on the model's name in the picker; the panel is the chosen model's."""
    page.get_by_role("radiogroup", name="Pick a model").get_by_text(card.title.split(":")[0], exact=True).click()
    panel = page.locator(f".st-key-fp-model-{card.name}")
    expect(panel.locator(".fp-summary")).to_contain_text(card.title)
    return panel


def type_into(panel: Locator, feature: Feature, text: str) -> Locator:
    box = panel.get_by_label(feature.title, exact=True)
    box.fill(text)
    box.press("Tab")
    return box


def choose(page: Page, panel: Locator, label: str, shown: str) -> Locator:
    """Pick ``shown`` in a dropdown by typing it, as a visitor would; a text that is no choice is kept as typed."""
    box = panel.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(shown)
    box.press("Enter")
    expect(box).to_have_value(shown)
    return box


def predict(panel: Locator) -> None:
    panel.get_by_role("button", name="Predict", exact=True).click()


def result(panel: Locator, card: Card) -> Locator:
    return panel.locator(f".st-key-fp-result-{card.name}")


def in_viewport(page: Page, locator: Locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (box is not None and 0 <= box["y"] < size["height"] and box["x"] >= 0
            and box["x"] + box["width"] <= size["width"] + 1)


@BOTH
@pytest.mark.parametrize("name", ["flight-delay", "fuel-economy"])
def test_streamlit_browser_fills_the_form_and_shows_the_apis_prediction(
        streamlit_demo: StreamlitProcess, page: Page, cards: dict[str, Card], client: ApiClient, viewport,
        screenshots, name: str):
    card = cards[name]
    row = card.examples[-1]
    expected = client.predict(name, row).data
    open_demo(page, streamlit_demo.url)
    panel = open_model(page, card)
    expect(result(panel, card)).to_contain_text("Press Predict")
    for feature in card.features:
        if feature.is_numeric:
            type_into(panel, feature, str(row[feature.name]))
        else:
            choose(page, panel, feature.title, feature.category_title(row[feature.name]))
    predict(panel)
    answer = result(panel, card)
    expect(answer.locator(".fp-meta")).to_contain_text("answered in")
    if card.is_classifier:
        chance = expected["probabilities"][expected["prediction"]]
        expect(answer).to_contain_text(f"Most likely {expected['prediction']} ({chance:.0%})")
        expect(answer.get_by_text(f"{expected['prediction']} · {chance:.0%}")).to_be_visible()
    else:
        expect(answer.get_by_test_id("prediction-value")).to_have_text(format_prediction(expected["prediction"]))
    assert in_viewport(page, answer.locator(".fp-meta"))  # the answer is where the visitor looks
    page.screenshot(path=screenshots / f"streamlit-predict-{name}-{viewport}.png")


@BOTH
def test_streamlit_browser_example_fills_predicts_and_brings_the_result_into_view(
        streamlit_demo: StreamlitProcess, page: Page, cards, client, viewport, screenshots):
    card = cards["penguins"]
    expected = client.predict(card.name, card.examples[1]).data["prediction"]
    open_demo(page, streamlit_demo.url)
    panel = open_model(page, card)
    panel.get_by_role("button", name="Example 2", exact=True).click()
    answer = result(panel, card)
    expect(answer).to_contain_text(f"Most likely {expected}")
    expect(panel.get_by_label(card.feature("bill_length_mm").title, exact=True)).to_have_value(
        str(card.examples[1]["bill_length_mm"]))
    expect(answer.locator(".fp-meta")).to_be_in_viewport()  # on a phone the page went down to it
    page.screenshot(path=screenshots / f"streamlit-example-{viewport}.png")


def test_streamlit_browser_shows_the_apis_message_under_a_bad_entry_and_keeps_it(
        streamlit_demo: StreamlitProcess, page: Page, cards, screenshots):
    card = cards["flight-delay"]
    open_demo(page, streamlit_demo.url)
    panel = open_model(page, card)
    dest = choose(page, panel, card.feature("dest").title, "ZZZ")  # typed: not one of the airports
    type_into(panel, card.feature("distance"), "")
    predict(panel)
    expect(panel.locator(".fp-note-refused").first).to_be_visible()
    expect(panel).to_contain_text("'ZZZ' is not a category this model was trained on")
    expect(panel).to_contain_text("null is refused")
    expect(result(panel, card)).to_contain_text("See the note under To (destination airport)")
    expect(dest).to_have_value("ZZZ")
    expect(panel.get_by_label(card.feature("distance").title, exact=True)).to_have_value("")
    page.screenshot(path=screenshots / "streamlit-refused.png", full_page=True)


@BOTH
def test_streamlit_browser_what_if_chart_fits_the_screen(streamlit_demo: StreamlitProcess, page: Page, cards,
                                                        viewport, screenshots):
    card = cards["flight-delay"]
    open_demo(page, streamlit_demo.url)
    panel = open_model(page, card)
    choose(page, panel, "Input to change", "Month")
    panel.get_by_role("button", name="Show", exact=True).click()
    expect(panel.locator(".fp-sweep-title")).to_contain_text("Chance of each outcome as Month changes")
    expect(panel.locator(".fp-sweep-title")).to_contain_text("12 values tried")
    chart = panel.get_by_test_id("stVegaLiteChart")
    expect(chart.locator("canvas, svg").first).to_be_visible()
    chart.scroll_into_view_if_needed()
    assert in_viewport(page, chart)  # as wide as the screen at most
    page.screenshot(path=screenshots / f"streamlit-whatif-{viewport}.png")


def _flights_csv(card: Card, tmp_path) -> tuple[list[dict], object]:
    rows = [dict(example) for example in card.examples]
    rows.insert(1, {**card.examples[0], "dest": "ZZZ"})
    path = tmp_path / "flights.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in card.features])
        writer.writeheader()
        writer.writerows(rows)
    return rows, path


@BOTH
def test_streamlit_browser_csv_scores_lists_reasons_and_downloads(streamlit_demo: StreamlitProcess, page: Page,
                                                                 cards, tmp_path, viewport, screenshots):
    card = cards["flight-delay"]
    rows, path = _flights_csv(card, tmp_path)
    open_demo(page, streamlit_demo.url)
    panel = open_model(page, card)
    panel.get_by_text("Score a CSV file", exact=True).click()
    upload = panel.locator("input[type=file]")
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    upload.set_input_files(picture)
    expect(panel.locator(".fp-banner").filter(has_text="cannot be scored")).to_contain_text(
        "This .png file cannot be scored")

    upload.set_input_files(path)
    summary = panel.locator(".fp-banner").filter(has_text="Scored")
    expect(summary).to_contain_text(f"Scored {len(card.examples)} of {len(rows)} rows")
    expect(summary).to_contain_text("1 row not scored: the reasons are under the table")
    expect(panel.locator(".fp-problems")).to_contain_text(
        "Row 2: dest: 'ZZZ' is not a category this model was trained on")
    table = panel.get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]

    with page.expect_download() as download_info:
        panel.get_by_role("button", name="Download the predictions (CSV)").click()
    downloaded = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [line["status"] for line in downloaded] == ["ok", "not scored", "ok", "ok"]
    assert "'ZZZ' is not a category" in downloaded[1]["reason"]
    assert all(line[f"predicted {card.target_title}"] in card.classes for line in downloaded if line["status"] == "ok")
    # The download asked nothing of the API again: the summary is still the same file's.
    expect(summary).to_contain_text(f"Scored {len(card.examples)} of {len(rows)} rows")
    table.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / f"streamlit-batch-{viewport}.png")


def test_streamlit_browser_api_panel_shows_the_call_for_the_inputs_sent(streamlit_demo: StreamlitProcess,
                                                                        page: Page, cards, screenshots):
    card = cards["fuel-economy"]
    open_demo(page, streamlit_demo.url)
    panel = open_model(page, card)
    type_into(panel, card.feature("weight_lbs"), "3500")
    choose(page, panel, card.feature("origin").title, "Japan")
    predict(panel)
    expect(result(panel, card).locator(".fp-meta")).to_contain_text("answered in")
    panel.get_by_text("Call the API yourself", exact=True).click()
    code = panel.get_by_test_id("stCode")
    expect(code.first).to_contain_text(f"{streamlit_demo.api_url}/models/fuel-economy/predict")
    expect(code.first).to_contain_text('"weight_lbs": 3500')
    expect(code.first).to_contain_text('"origin": "Japan"')
    expect(code.nth(1)).to_contain_text("'origin': 'Japan'")
    expect(panel.locator(".fp-field-names")).to_contain_text("weight_lbs")
    docs = panel.get_by_role("link", name="interactive API docs (/docs)")
    expect(docs).to_have_attribute("href", f"{streamlit_demo.api_url}/docs")
    code.first.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "streamlit-api-panel.png")


def test_streamlit_browser_sleeping_api_waking_then_down_then_recovers(page: Page, browser, cards, tmp_path,
                                                                       screenshots):
    api = ApiProcess(tmp_path)  # not started: the page must come up without it
    demo = StreamlitProcess(tmp_path, api.url, env={"API_WAKE_SECONDS": "12"}).start()
    try:
        page.goto(demo.url)
        banner = status(page)
        expect(banner).to_contain_text("Waking up the API", timeout=30_000)
        expect(banner).to_contain_text("s so far", timeout=10_000)
        expect(banner.locator(".fp-progress")).to_be_visible()
        page.screenshot(path=screenshots / "streamlit-api-waking.png")
        expect(banner).to_contain_text("The API is not answering", timeout=60_000)
        expect(page.get_by_role("button", name="Try again")).to_be_visible()
        page.screenshot(path=screenshots / "streamlit-api-down.png")

        api.start()  # the page checks again by itself (every 10 s) and draws the forms
        expect(banner).to_contain_text(CONNECTED, timeout=60_000)
        expect(page.get_by_role("button", name="Try again")).to_have_count(0)
        card = cards["penguins"]
        panel = open_model(page, card)

        api.stop()  # asleep again: a prediction waits for it, and the whole page says so
        predict(panel)
        expect(result(panel, card)).to_contain_text("Waking up the API", timeout=30_000)
        expect(banner).to_contain_text("Waking up the API")
        page.screenshot(path=screenshots / "streamlit-predict-waking.png")

        # A new visitor meanwhile gets the forms from the API's last answer, and is told so.
        visitor = browser.new_page(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True)
        try:
            visitor.goto(demo.url)
            expect(status(visitor)).to_contain_text("Waking up the API", timeout=30_000)
            expect(visitor.locator("#fp-copy-note")).to_contain_text(
                "the forms below come from the API's last answer")
            open_model(visitor, card)
            visitor.screenshot(path=screenshots / "streamlit-api-waking-last-answer-phone.png")
        finally:
            visitor.close()

        api.start(wait=False)
        expect(result(panel, card).locator(".fp-meta")).to_contain_text("answered in", timeout=60_000)
        expect(banner).to_contain_text(CONNECTED)
    finally:
        demo.stop()
        api.stop()


@BOTH
def test_streamlit_browser_first_visit_to_a_sleeping_api_shows_the_shipped_forms(page: Page, cards, tmp_path,
                                                                                viewport, screenshots):
    shipped = tmp_path / "cards"
    shutil.copytree(SPACE_CARDS, shipped)
    api = ApiProcess(tmp_path)  # asleep: not started
    demo = StreamlitProcess(tmp_path, api.url, env={"API_WAKE_SECONDS": "120", "DEMO_CARDS_DIR": str(shipped)}).start()
    try:
        page.goto(demo.url)
        banner = status(page)
        expect(banner).to_contain_text("Waking up the API", timeout=30_000)
        expect(banner).to_contain_text("s so far", timeout=10_000)
        progress = banner.locator(".fp-progress")
        expect(progress).to_be_visible()
        # On a phone too. Streamlit redraws the banner every second, so one look may catch the bar mid-layout:
        # wait (with a deadline) for both on screen.
        assert wait_until(lambda: in_viewport(page, banner) and in_viewport(page, progress), timeout=10)
        note = page.locator("#fp-copy-note")
        expect(note).to_contain_text("the forms below come from the cards shipped with this demo")
        flights = cards["flight-delay"]
        panel = open_model(page, flights)
        for feature in flights.features:
            expect(panel.get_by_label(feature.title, exact=True)).to_be_visible()
        page.screenshot(path=screenshots / f"streamlit-api-waking-shipped-{viewport}.png")

        api.start(wait=False)  # it wakes: the page says so, the copy's note goes, the form answers
        expect(banner).to_contain_text(CONNECTED, timeout=90_000)
        expect(note).to_have_count(0)
        predict(panel)
        expect(result(panel, flights).locator(".fp-meta")).to_contain_text("answered in", timeout=30_000)
    finally:
        demo.stop()
        api.stop()


@BOTH
def test_streamlit_browser_drift_names_the_inputs_that_moved_and_its_chart_fits(
    streamlit_demo: StreamlitProcess, live_api: ApiProcess, client: ApiClient, page: Page, cards, viewport, screenshots
):
    card = cards["penguins"]
    send_penguins_at_one_spot(live_api, client, card)
    open_demo(page, streamlit_demo.url)
    panel = open_model(page, card)
    panel.get_by_text("Are recent inputs like the training data?").click()
    panel.get_by_role("button", name="Check", exact=True).click()
    summary = panel.locator(".fp-drift-summary")
    expect(summary).to_contain_text("no longer look like the training data")
    expect(summary).to_contain_text(card.feature("island").title)
    chart = panel.get_by_test_id("stVegaLiteChart").last
    expect(chart.locator("canvas, svg").first).to_be_visible()
    chart.scroll_into_view_if_needed()
    assert in_viewport(page, chart)
    page.screenshot(path=screenshots / f"streamlit-drift-{viewport}.png")
