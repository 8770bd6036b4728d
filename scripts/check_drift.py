"""Ask a deployed API for each model's drift report; exit 1 when a feature has drifted.

    python scripts/check_drift.py --api https://my-api.onrender.com            # every model
    ADMIN_API_KEY=… python scripts/check_drift.py --api URL --model flight-delay --days 1

Made for a schedule (.github/workflows/drift.yml): a failed run is the alert. It
waits for a sleeping free instance to wake, prints a table per model, writes the
same as Markdown to $GITHUB_STEP_SUMMARY when run by GitHub Actions, and marks
each drifted feature as an error there. Exit codes: 0 no drift, 1 drift, 2 the
API could not be asked (down, wrong key, unknown model).
Needs only requests, so the workflow installs nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

NO_DRIFT, DRIFT, UNASKED = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=os.environ.get("API_URL", ""), help="the API's base URL (or $API_URL)")
    parser.add_argument("--model", action="append", default=[], help="a model to check (repeat; default: all)")
    # Unset, the API's own defaults apply (7 days, 10,000 predictions): not restated here.
    parser.add_argument("--days", type=float, help="how far back the window reaches (the API's default: 7)")
    parser.add_argument("--limit", type=int, help="at most this many newest predictions (the API's default: 10000)")
    parser.add_argument("--wake", type=float, default=180.0, help="seconds to wait for a sleeping API (180)")
    return parser


def _get(session: requests.Session, url: str, params: dict | None, wake: float) -> requests.Response:
    """GET, retried while the instance wakes: connection errors, 502-504 and timeouts until ``wake`` s."""
    deadline, delay = time.monotonic() + wake, 2.0
    while True:
        try:
            response = session.get(url, params=params, timeout=60)
            if response.status_code not in (502, 503, 504) or time.monotonic() >= deadline:
                return response
            json_body = response.headers.get("content-type", "").startswith("application/json")
            if json_body and response.json().get("error") == "database_unavailable":
                return response  # the API is up; its database is the problem, and waiting is the caller's call
        except requests.RequestException:
            if time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 30.0)


def _table(report: dict) -> list[str]:
    lines = [
        f"{report['model']} (version {report['version']}): {report['predictions']} predictions "
        f"from {report['first_at'] or '-'} to {report['last_at'] or '-'}",
        "| feature | status | PSI | outside training |",
        "|---|---|---|---|",
    ]
    for feature in report["features"]:
        psi = "-" if feature["psi"] is None else f"{feature['psi']:.3f}"
        lines.append(f"| {feature['name']} | {feature['status']} | {psi} | {feature['outside_share']:.1%} |")
    if not report["enough_data"]:
        lines.append(f"Too few predictions to judge (fewer than {report['thresholds']['min_predictions']}).")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.api:
        print("no API: pass --api https://… or set API_URL", file=sys.stderr)
        return UNASKED
    base = args.api.rstrip("/")
    session = requests.Session()
    if os.environ.get("ADMIN_API_KEY"):
        session.headers["X-API-Key"] = os.environ["ADMIN_API_KEY"]
    try:
        names = args.model or [m["name"] for m in _get(session, f"{base}/models", None, args.wake).json()]
        outcome, summary = NO_DRIFT, []
        for name in names:
            window = {k: v for k, v in {"days": args.days, "limit": args.limit}.items() if v is not None}
            response = _get(session, f"{base}/models/{name}/drift", window, 0)
            body = response.json()
            if response.status_code == 409:  # an older card: nothing to compare with, which is no alert
                print(f"{name}: skipped, {body['message']}")
                continue
            if response.status_code != 200:
                print(f"{name}: {response.status_code} {body.get('error')}: {body.get('message')}", file=sys.stderr)
                return UNASKED
            lines = _table(body)
            print("\n".join(lines), end="\n\n")
            summary += [*lines, ""]
            for feature in body["drifted"]:
                outcome = DRIFT
                if os.environ.get("GITHUB_ACTIONS"):
                    print(f"::error title=Drift in {name}::input {feature!r} has drifted from its training data")
    except (requests.RequestException, ValueError) as exc:
        print(f"could not ask {base}: {exc}", file=sys.stderr)
        return UNASKED
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with Path(os.environ["GITHUB_STEP_SUMMARY"]).open("a", encoding="utf-8") as out:
            out.write("\n".join(summary) + "\n")
    return outcome


if __name__ == "__main__":
    raise SystemExit(main())
