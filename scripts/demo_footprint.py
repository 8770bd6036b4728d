#!/usr/bin/env python3
"""Measure what each demo front costs a host: start-up time and memory, the figures the README compares.

    python scripts/demo_footprint.py [--runs 3]

For each front (Gradio: ``python -m demo_app``; Streamlit: ``scripts/run_demo.sh
streamlit``), started exactly as the browser tests start it (tests/demo/servers.py)
beside a local API over the example models, it records:

- start-up: seconds from launching the process until its server answers HTTP;
- first page: seconds from opening the page in headless Chromium until it says
  "API connected" (the forms are drawn);
- RSS idle (MB): the front's resident memory once started, before any visit;
- RSS after a visit (MB): after that visit made a prediction and a what-if sweep.

It prints the median of ``--runs`` runs as a Markdown table. Chromium is $CHROMIUM
or Debian's (scripts/browser.sh); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.demo.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 (needs the repository on sys.path)
from tests.demo.servers import ApiProcess, DemoProcess, StreamlitProcess  # noqa: E402

FRONTS = {"gradio": DemoProcess, "streamlit": StreamlitProcess}


def _rss_mb(pid: int) -> float:
    """The process's resident memory and its children's (a server may fork helpers), in MB."""
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 1e6


def _visit(browser, url: str) -> float:
    """Open the page, wait for the forms, predict and sweep; the seconds until the forms were there."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    try:
        started = time.monotonic()
        page.goto(url)
        page.get_by_text("API connected").first.wait_for(timeout=120_000)
        ready = time.monotonic() - started
        page.get_by_role("button", name="Predict", exact=True).first.click()
        page.get_by_text("answered in").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Show", exact=True).first.click()
        page.locator(".fp-sweep-title").first.wait_for(timeout=60_000)
        return ready
    finally:
        page.close()


def measure(front: str, api: ApiProcess, browser, workdir: Path) -> dict[str, float]:
    demo = FRONTS[front](workdir, api.url)
    started = time.monotonic()
    demo.start()
    startup = time.monotonic() - started
    try:
        time.sleep(2)  # let start-up's last allocations settle
        idle = _rss_mb(demo.process.pid)
        first_page = _visit(browser, demo.url)
        time.sleep(1)
        visited = _rss_mb(demo.process.pid)
    finally:
        demo.stop()
    return {"start-up (s)": startup, "first page (s)": first_page, "RSS idle (MB)": idle,
            "RSS after a visit (MB)": visited}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, float]]] = {front: [] for front in FRONTS}
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        api = ApiProcess(Path(scratch)).start()
        try:
            for run in range(args.runs):
                for front in FRONTS:
                    results[front].append(measure(front, api, browser, Path(scratch)))
                    print(f"run {run + 1}: {front} {results[front][-1]}", file=sys.stderr)
        finally:
            api.stop()
            browser.close()
    columns = list(next(iter(results.values()))[0])
    print(f"| front (median of {args.runs}) | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for front, runs in results.items():
        cells = [f"{statistics.median(run[c] for run in runs):.1f}" for c in columns]
        print(f"| {front} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
