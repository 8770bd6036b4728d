#!/usr/bin/env python3
"""Re-make the README's pictures from the real pages, in headless Chromium.

    python scripts/screenshots.py          start the API and the demo, photograph them into docs/screenshots/
    python scripts/screenshots.py --check  change nothing; exit 1 if a picture is missing or older than the demo

The pictures: the demo on a laptop and on a phone (a real prediction from the
first example model), and /docs with that model's request schema open. The
API and the demo are started exactly as the browser tests start them
(tests/demo/servers.py), over the bundled example models. docs/screenshots/SOURCE
records a fingerprint of the Gradio demo (demo_app/'s core and gradio_front/): when
it changes, --check (and the test that runs it) says the pictures are stale until this script is run again
(`make screenshots`). Chromium is $CHROMIUM or Debian's (scripts/browser.sh).

/docs loads Swagger UI from a CDN, as FastAPI serves it. On a machine that cannot
reach the CDN, point SWAGGER_UI_DIST at an unpacked swagger-ui-dist (e.g.
`npm pack swagger-ui-dist@5 && tar -xzf swagger-ui-dist-*.tgz`, then
SWAGGER_UI_DIST=package): the browser is then handed those same files for the CDN's URLs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
FINGERPRINT = OUT / "SOURCE"
PICTURES = ("demo-desktop.png", "demo-phone.png", "api-docs.png")
MODEL = "flight-delay"


def demo_fingerprint() -> str:
    """A hash of the demo's code: the pictures are stale once it differs from the one they were taken at."""
    digest = hashlib.sha256()
    # The pictures are of the Gradio front: the Streamlit front's code does not change them.
    demo = REPO / "demo_app"
    for path in [*sorted(demo.glob("*.py")), *sorted((demo / "gradio_front").glob("*.py"))]:
        digest.update(path.relative_to(demo).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def stale() -> list[str]:
    """What is wrong with docs/screenshots/, as sentences; empty when the pictures are current."""
    problems = [f"{name} is missing" for name in PICTURES if not (OUT / name).is_file()]
    recorded = FINGERPRINT.read_text().strip() if FINGERPRINT.is_file() else None
    if recorded != demo_fingerprint():
        problems.append("demo_app/ changed since the pictures were taken" if recorded else "SOURCE is missing")
    return problems


def _serve_swagger_locally(page, dist: Path) -> None:
    """Answer the CDN's requests for Swagger UI with the same files from ``dist`` (see the module docstring)."""
    def fulfil(route) -> None:
        name = route.request.url.rsplit("/", 1)[-1].split("?")[0]
        local = dist / name
        if local.is_file():
            route.fulfill(path=str(local))
        else:
            route.abort()
    page.route("**/swagger-ui-dist@*/**", fulfil)


def take(out: Path) -> None:
    # The same launchers and browser flags as the browser tests: one way to start the pieces.
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import expect, sync_playwright

    from tests.demo.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS
    from tests.demo.servers import ApiProcess, DemoProcess

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="freeport-screenshots-") as work:
        api = ApiProcess(Path(work)).start()
        demo = DemoProcess(Path(work), api.url, env={"API_WAKE_SECONDS": "30"}).start()
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for viewport, name in (("desktop", "demo-desktop.png"), ("phone", "demo-phone.png")):
                page = browser.new_page(viewport=VIEWPORTS[viewport], is_mobile=viewport == "phone")
                page.goto(demo.url)
                expect(page.locator("#fp-api-status")).to_contain_text("API connected", timeout=60_000)
                panel = page.locator(f"#fp-model-{MODEL}")
                panel.get_by_role("button", name="Example 1", exact=True).click()
                expect(panel.locator(".fp-meta")).to_contain_text("answered in", timeout=30_000)
                if viewport == "desktop":
                    page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_timeout(600)  # the bars' animation
                page.screenshot(path=out / name)
                page.close()

            page = browser.new_page(viewport=VIEWPORTS["desktop"])
            if os.environ.get("SWAGGER_UI_DIST"):
                _serve_swagger_locally(page, Path(os.environ["SWAGGER_UI_DIST"]))
            page.goto(f"{api.url}/docs")
            operation = page.locator(f"#operations-{MODEL.replace('-', '_')}-predict_models_{MODEL.replace('-', '_')}"
                                     "_predict_post")
            if not operation.count():  # the operation id is FastAPI's; fall back to the path shown
                operation = page.locator(".opblock").filter(has_text=f"/models/{MODEL}/predict").first
            operation.locator(".opblock-summary").first.click()
            schema = operation.get_by_text("Schema", exact=True).first
            schema.click()
            operation.locator(".model-box").first.scroll_into_view_if_needed()
            page.wait_for_timeout(400)
            page.screenshot(path=out / "api-docs.png")
            browser.close()
        finally:
            playwright.stop()
            demo.stop()
            api.stop()
    (out / FINGERPRINT.name).write_text(demo_fingerprint() + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the pictures are current")
    args = parser.parse_args()
    if args.check:
        problems = stale()
        for problem in problems:
            print(f"docs/screenshots: {problem}; run `make screenshots`")
        return 1 if problems else 0
    take(OUT)
    print(f"{', '.join(PICTURES)} written to {OUT.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
