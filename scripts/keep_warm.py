#!/usr/bin/env python3
"""Keep a free-tier API (and its demo) awake by pinging it, and say when it was asleep.

Every round pings each URL once: the API's /health (``--api``, a base URL) and
the demo (``--demo``, pinged as given), plus any ``--url``. Each ping prints its
status and latency; a ping much slower than that URL's warm pings (or, with no
history yet, slower than ``--cold-after``) is flagged as a cold start.

No retry storms: a failed ping is retried at most ``--retries`` times per round,
with exponential backoff and jitter (honouring Retry-After, capped), and a 4xx
other than 408/429 is not retried at all (asking again will not help).
Rounds are ``--interval`` apart with ``--jitter``; outside the daily
``--window`` (UTC) a round is skipped.

Before pinging it estimates the free instance hours the schedule keeps each
service awake and warns when that exceeds what the platform gives (Render:
750 h a month per workspace, shared by every free service in it).

Exit status: 0 when every ping of every round that ran answered (2xx/3xx),
1 when any did not, 2 on bad options.

Needs only ``requests`` and the standard library, so a bare CI runner can run
it after ``pip install requests``.

    python scripts/keep_warm.py --api https://my-api.onrender.com --demo https://me-demo.hf.space
    python scripts/keep_warm.py --api https://my-api.onrender.com --rounds 1 --window 07:00-23:00
    python scripts/keep_warm.py --api https://my-api.onrender.com --interval 10m --dry-run
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock
from urllib.parse import urlsplit

import requests

# Render: a free web service sleeps after 15 minutes without inbound traffic, and a
# workspace gets 750 free instance hours a month (https://render.com/docs/free).
RENDER_SLEEP_AFTER_S = 15 * 60
RENDER_FREE_HOURS = 750.0
DAYS_PER_MONTH = 31  # the longest month: the budget must hold in every month
MAX_RETRY_AFTER_S = 60.0
NO_RETRY_STATUSES = range(400, 500)
RETRY_ANYWAY = {408, 429}


# -- options -----------------------------------------------------------------
def parse_duration(text: str) -> float:
    """'90', '90s', '10m', '1h' → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration: write e.g. 30s, 10m or 1h")
    value, unit = float(match[1]), match[2] or "s"
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


@dataclass(frozen=True)
class Window:
    """A daily UTC time window; it may cross midnight (22:00-06:00)."""

    start: clock
    end: clock

    def contains(self, moment: datetime) -> bool:
        now = moment.astimezone(UTC).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    @property
    def hours_per_day(self) -> float:
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return ((end - start) % (24 * 60) or 24 * 60) / 60

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} UTC"


def parse_window(text: str) -> Window | None:
    """'07:00-23:00' → Window; '' → None (all day)."""
    if not text.strip():
        return None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a window: write HH:MM-HH:MM in UTC, e.g. 07:00-23:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        window = Window(clock(h1 % 24 if h1 == 24 else h1, m1), clock(h2 % 24 if h2 == 24 else h2, m2))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}': {exc}") from None
    if window.start == window.end:
        raise argparse.ArgumentTypeError(f"'{text}' is an empty window; leave --window out to ping all day")
    return window


@dataclass(frozen=True)
class Target:
    label: str
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def build_targets(api: list[str], demo: list[str], urls: list[str]) -> list[Target]:
    """Empty values are ignored, so unset CI variables simply drop out."""
    targets = [Target("api", base.rstrip("/") + "/health") for base in api if base.strip()]
    targets += [Target("demo", url.strip()) for url in demo if url.strip()]
    targets += [Target("url", url.strip()) for url in urls if url.strip()]
    for target in targets:
        if urlsplit(target.url).scheme not in ("http", "https") or not urlsplit(target.url).hostname:
            raise argparse.ArgumentTypeError(f"'{target.url}' is not an http(s) URL")
    return targets


# -- the hours budget ----------------------------------------------------------
def awake_hours_per_month(interval_s: float, window: Window | None) -> float:
    """Instance hours a Render free service spends awake when pinged on this schedule.

    Pinged more often than it sleeps, it never sleeps inside the window; pinged
    less often, each ping buys it one sleep-after period awake.
    """
    hours_per_day = window.hours_per_day if window else 24.0
    awake_share = min(1.0, RENDER_SLEEP_AFTER_S / interval_s)
    return hours_per_day * DAYS_PER_MONTH * awake_share


def plan_warnings(targets: list[Target], interval_s: float, window: Window | None, other_hours: float) -> list[str]:
    """What is wrong or costly about this schedule, per the platforms' free terms."""
    warnings = []
    render = [t for t in targets if t.host.endswith(".onrender.com")]
    if render:
        per_service = awake_hours_per_month(interval_s, window)
        total = per_service * len(render) + other_hours
        if total > RENDER_FREE_HOURS:
            warnings.append(
                f"this schedule keeps {len(render)} Render service(s) awake about {per_service:.0f} h each a month"
                f" ({total:.0f} h with --other-hours), more than the {RENDER_FREE_HOURS:.0f} free instance hours"
                " a workspace gets: Render suspends every free service in the workspace when they run out."
                " Narrow --window, or keep only one service warm"
            )
        if interval_s >= RENDER_SLEEP_AFTER_S:
            warnings.append(
                f"--interval {interval_s / 60:.0f} min is not shorter than Render's 15 min sleep: the service will"
                " fall asleep between pings"
            )
    for target in targets:
        if target.host.endswith((".fly.dev", ".up.railway.app", ".railway.app")):
            warnings.append(
                f"{target.url}: pinging defeats this platform's auto-stop/sleep and is billed as running time"
            )
        if target.host.endswith(".hf.space") and interval_s < 24 * 3600:
            warnings.append(
                f"{target.url}: a Space sleeps only after 48 h without visits; one ping a day is enough for it"
            )
    return warnings


# -- pinging -------------------------------------------------------------------
@dataclass
class History:
    """Warm latencies seen per URL, to tell a cold start from an ordinary ping."""

    warm: dict[str, list[float]] = field(default_factory=dict)

    def is_cold(self, url: str, seconds: float, factor: float, cold_after: float) -> bool:
        seen = self.warm.get(url)
        if seen:
            return seconds > max(factor * statistics.median(seen), 1.0)
        return seconds > cold_after

    def add_warm(self, url: str, seconds: float) -> None:
        self.warm.setdefault(url, []).append(seconds)
        del self.warm[url][:-20]  # recent pings only


@dataclass
class Outcome:
    ok: bool
    status: int | None
    seconds: float
    attempts: int
    error: str | None = None


def retry_delay(response: requests.Response | None, attempt: int, backoff: float) -> float:
    """Exponential backoff with full jitter, or the server's Retry-After (capped)."""
    if response is not None:
        after = response.headers.get("Retry-After", "")
        if after.isdigit():
            return min(float(after), MAX_RETRY_AFTER_S)
    return random.uniform(0.5, 1.0) * backoff * 2**attempt


def ping(session: requests.Session, url: str, args: argparse.Namespace) -> Outcome:
    """One ping with bounded retries; the latency reported is the last attempt's."""
    attempts = 1 + args.retries
    for attempt in range(attempts):
        started = time.perf_counter()
        response = None
        try:
            response = session.get(url, timeout=(args.connect_timeout, args.timeout), allow_redirects=True)
            seconds = time.perf_counter() - started
            response.close()
            if response.status_code < 400:
                return Outcome(True, response.status_code, seconds, attempt + 1)
            outcome = Outcome(False, response.status_code, seconds, attempt + 1, f"HTTP {response.status_code}")
            if response.status_code in NO_RETRY_STATUSES and response.status_code not in RETRY_ANYWAY:
                return outcome
        except requests.RequestException as exc:
            outcome = Outcome(False, None, time.perf_counter() - started, attempt + 1, _describe(exc))
        if attempt + 1 < attempts:
            time.sleep(retry_delay(response, attempt, args.backoff))
    return outcome


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed (down or unreachable)"
    return type(exc).__name__


def run_round(session: requests.Session, targets: list[Target], history: History, args: argparse.Namespace) -> bool:
    """Ping every target once; True when all answered."""
    all_ok = True
    for target in targets:
        outcome = ping(session, target.url, args)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = outcome.status if outcome.status is not None else "---"
        line = f"{stamp}  {target.label:<4}  {status:>3}  {outcome.seconds:7.3f} s  {target.url}"
        if outcome.attempts > 1:
            line += f"  ({outcome.attempts} attempts)"
        if not outcome.ok:
            all_ok = False
            line += f"  FAILED: {outcome.error}"
        elif history.is_cold(target.url, outcome.seconds, args.cold_factor, args.cold_after):
            line += "  COLD START (much slower than a warm ping: it was asleep)"
        else:
            history.add_warm(target.url, outcome.seconds)
        print(line, flush=True)
    return all_ok


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Ping a free-tier API's /health and its demo on a schedule; flag cold starts.",
        epilog="Exit status: 0 when everything answered, 1 when something did not, 2 on bad options.",
    )
    parser.add_argument("--api", action="append", default=[], metavar="BASE_URL", help="the API; /health is pinged")
    parser.add_argument("--demo", action="append", default=[], metavar="URL", help="the demo (e.g. a Space URL)")
    parser.add_argument("--url", action="append", default=[], metavar="URL", help="any other URL to ping as given")
    parser.add_argument("--interval", type=parse_duration, default=parse_duration("10m"),
                        help="time between rounds (30s, 10m, 1h; default 10m: under Render's 15 min sleep)")
    parser.add_argument("--jitter", type=float, default=0.1,
                        help="spread each interval by ± this fraction (default 0.1)")
    parser.add_argument("--window", type=parse_window, default=None, metavar="HH:MM-HH:MM",
                        help="ping only inside this daily UTC window (may cross midnight); default all day")
    parser.add_argument("--rounds", type=int, default=0, help="rounds to run; 0 = until stopped (default)")
    parser.add_argument("--timeout", type=parse_duration, default=parse_duration("120s"),
                        help="how long to wait for an answer (a cold start takes 30-90 s on Render; default 120s)")
    parser.add_argument("--connect-timeout", type=parse_duration, default=parse_duration("10s"))
    parser.add_argument("--retries", type=int, default=2, help="retries of a failed ping per round (default 2)")
    parser.add_argument("--backoff", type=parse_duration, default=parse_duration("5s"),
                        help="first retry delay, doubled each retry (default 5s)")
    parser.add_argument("--cold-factor", type=float, default=5.0,
                        help="a ping this many times slower than the warm median is a cold start (default 5)")
    parser.add_argument("--cold-after", type=parse_duration, default=parse_duration("5s"),
                        help="with no warm history yet, a ping slower than this is a cold start (default 5s)")
    parser.add_argument("--other-hours", type=float, default=0.0,
                        help="free instance hours other services in the same Render workspace use a month")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and its warnings; ping nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        targets = build_targets(args.api, args.demo, args.url)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not targets:
        parser.error("nothing to ping: give --api, --demo or --url")
    if args.rounds < 0 or args.retries < 0 or not 0 <= args.jitter < 1 or args.interval <= 0:
        parser.error("--rounds and --retries must be ≥ 0, --interval > 0 and --jitter in [0, 1)")

    rounds = "until stopped" if args.rounds == 0 else f"{args.rounds} round(s)"
    print(f"keep-warm: {len(targets)} URL(s) every {args.interval:g} s ± {args.jitter:.0%}, "
          f"{args.window or 'all day'}, {rounds}")
    for target in targets:
        print(f"  {target.label:<4}  {target.url}")
    for warning in plan_warnings(targets, args.interval, args.window, args.other_hours):
        print(f"WARNING: {warning}", file=sys.stderr)
    if args.dry_run:
        print("dry run: nothing pinged")
        return 0

    history, all_ok, done = History(), True, 0
    with requests.Session() as session:
        session.headers["User-Agent"] = "freeport-keep-warm"
        while True:
            if args.window and not args.window.contains(datetime.now(UTC)):
                print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}  outside {args.window}: round skipped", flush=True)
            else:
                all_ok = run_round(session, targets, history, args) and all_ok
            done += 1
            if args.rounds and done >= args.rounds:
                break
            time.sleep(args.interval * random.uniform(1 - args.jitter, 1 + args.jitter))
    return 0 if all_ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
