"""Fixtures for the demo's tests: a live API over the bundled models, another over a
tiny odd-shaped bundle, the demo itself, and headless Chromium (Debian's, never a download)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from api.serving.bundle import save_bundle
from demo_app.cards import Card, parse_models
from demo_app.client import ApiClient
from tests.demo.servers import SCREENSHOTS, ApiProcess, DemoProcess

# Debian's Chromium by default; CHROMIUM names another (scripts/browser.sh says how to get one).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ODD_MODEL = "odd-shape"
ODD_BATCH_ROWS = 7


@pytest.fixture(scope="session")
def live_api(tmp_path_factory) -> Iterator[ApiProcess]:
    """``python -m api`` over the bundled example models, shared by read-only tests.

    Its per-client rate limits are raised: every test of both fronts calls it from one address, far
    more often in a minute than one visitor does (the default is 20 batch calls a minute)."""
    api = ApiProcess(tmp_path_factory.mktemp("live-api"),
                     env={"RATE_LIMIT_PREDICT": "1000/minute", "RATE_LIMIT_BATCH": "1000/minute"}).start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def client(live_api: ApiProcess) -> Iterator[ApiClient]:
    with ApiClient(live_api.url) as api_client:
        yield api_client


@pytest.fixture(scope="session")
def cards(client: ApiClient) -> dict[str, Card]:
    """The example models' cards, as the demo reads them from GET /models."""
    return {m.name: m.card for m in parse_models(client.fetch_models()) if m.card}


def _save_odd_bundle(models_dir: Path) -> None:
    """A bundle unlike the examples: a boolean, a nullable category and a column name with a space and a $."""
    rng = np.random.default_rng(7)
    rows = 160
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype("int64"),
            "income k$": rng.normal(50, 15, rows).round(1),
            "colour": rng.choice(["red", "green", "blue"], rows).astype(object),
            "member": rng.choice([True, False], rows),
        }
    )
    frame.loc[frame.index % 11 == 0, "colour"] = np.nan
    target = pd.Series(np.where(frame["age"] + rng.normal(0, 5, rows) > 50, "yes", "no"), name="bought")
    categories = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    prepare = ColumnTransformer(
        [("numbers", "passthrough", ["age", "income k$"]), ("categories", categories, ["colour", "member"])]
    )
    model = make_pipeline(prepare, LogisticRegression(max_iter=1000)).fit(frame.iloc[:120], target.iloc[:120])
    save_bundle(
        model, frame.iloc[:120], target.iloc[:120], ODD_MODEL,
        features_test=frame.iloc[120:], target_test=target.iloc[120:], models_dir=models_dir,
        title="Odd shape: <b>bold</b> & friends", description="A card whose text holds <script>alert(1)</script>.",
        descriptions={"income k$": "Yearly income, thousands of dollars"},
    )


@pytest.fixture(scope="session")
def odd_api(tmp_path_factory) -> Iterator[ApiProcess]:
    """The API over a tiny odd-shaped bundle, with batches limited to a few rows and strict ranges,
    so that a number far outside the training range is one more thing the API itself refuses."""
    models_dir = tmp_path_factory.mktemp("odd-models")
    _save_odd_bundle(models_dir)
    api = ApiProcess(tmp_path_factory.mktemp("odd-api"), models_dir=models_dir,
                     env={"MAX_BATCH_ROWS": str(ODD_BATCH_ROWS), "STRICT_RANGES": "true"}).start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def odd_client(odd_api: ApiProcess) -> Iterator[ApiClient]:
    with ApiClient(odd_api.url) as api_client:
        yield api_client


@pytest.fixture(scope="session")
def odd_card(odd_client: ApiClient) -> Card:
    (served,) = parse_models(odd_client.fetch_models())
    assert served.card is not None
    return served.card


@pytest.fixture(scope="session")
def demo(live_api: ApiProcess, tmp_path_factory) -> Iterator[DemoProcess]:
    """``python -m demo_app`` pointed at the live API."""
    process = DemoProcess(tmp_path_factory.mktemp("demo"), live_api.url,
                          env={"DEMO_TITLE": "freeport demo", "API_WAKE_SECONDS": "30"}).start()
    yield process
    process.stop()


# Package scope: Playwright's sync API keeps an event loop running in the main thread while
# it is open, which would break asyncio.run() in the tests that come after tests/demo.
@pytest.fixture(scope="package")
def browser():
    """Debian's Chromium driven by Playwright; `playwright install` is never needed or run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# The two screens the demo is checked on: a laptop, and a phone held upright.
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def viewport(request) -> str:
    """``desktop`` unless a test asks for both with ``@pytest.mark.parametrize("viewport", [...], indirect=True)``."""
    return getattr(request, "param", "desktop")


@pytest.fixture
def page(browser, viewport: str):
    context = browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True,
                                  is_mobile=viewport == "phone", has_touch=viewport == "phone")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """artifacts/screenshots/ (gitignored): what the browser tests saw, to look at after a run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
