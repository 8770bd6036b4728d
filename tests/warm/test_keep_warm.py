"""keep_warm.py against real local servers: healthy, slow, down, failing, asleep."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.warm.servers import always, closed_port, http_server, sequence

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "keep_warm.py"
_spec = importlib.util.spec_from_file_location("keep_warm", SCRIPT)
keep_warm = importlib.util.module_from_spec(_spec)
sys.modules["keep_warm"] = keep_warm  # dataclasses look their module up there
_spec.loader.exec_module(keep_warm)

FAST = ["--interval", "0.05s", "--jitter", "0", "--backoff", "0.01s"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = keep_warm.main(list(argv))
    except SystemExit as exc:  # argparse refusing options
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


def ping_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line[:4].isdigit()]


def test_keep_warm_pings_health_and_demo_each_round_and_exits_zero(capsys):
    with http_server(always(200)) as api, http_server(always(200)) as demo:
        status, out, _ = run(
            capsys, "--api", api.base_url + "/", "--demo", demo.base_url + "/app", "--rounds", "3", *FAST
        )
    assert status == 0
    assert api.paths == ["/health"] * 3
    assert demo.paths == ["/app"] * 3
    lines = ping_lines(out)
    assert len(lines) == 6
    assert all(" 200 " in line and " s " in line for line in lines)
    assert "COLD START" not in out and "FAILED" not in out


def test_keep_warm_flags_a_ping_much_slower_than_the_warm_ones(capsys):
    asleep = sequence((200, 0, {}), (200, 0, {}), (200, 1.3, {}), (200, 0, {}))
    with http_server(asleep) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--rounds", "4", *FAST)
    assert status == 0
    lines = ping_lines(out)
    assert ["COLD START" in line for line in lines] == [False, False, True, False]


def test_keep_warm_flags_a_slow_first_ping_as_cold_without_history(capsys):
    with http_server(sequence((200, 0.6, {}), (200, 0, {}))) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--rounds", "2", "--cold-after", "0.5s", *FAST)
    assert status == 0
    assert ["COLD START" in line for line in ping_lines(out)] == [True, False]


def test_keep_warm_retries_a_failing_server_a_bounded_number_of_times_and_exits_one(capsys):
    with http_server(always(500)) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--rounds", "2", "--retries", "2", *FAST)
    assert status == 1
    assert len(api.paths) == 2 * 3  # two rounds of one try and two retries: no storm
    lines = ping_lines(out)
    assert len(lines) == 2
    assert all("FAILED: HTTP 500" in line and "(3 attempts)" in line for line in lines)


def test_keep_warm_does_not_retry_a_not_found(capsys):
    with http_server(always(404)) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--rounds", "1", *FAST)
    assert status == 1
    assert api.paths == ["/health"]
    assert "FAILED: HTTP 404" in out


def test_keep_warm_honours_retry_after_then_succeeds(capsys):
    waking = sequence((503, 0, {"Retry-After": "0"}), (200, 0, {}))
    with http_server(waking) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--rounds", "1", "--backoff", "30s",
                             "--interval", "0.05s")
    assert status == 0  # a 30 s backoff would have blown the test's time: Retry-After: 0 was used
    assert len(api.paths) == 2
    assert "(2 attempts)" in out and "FAILED" not in out


def test_keep_warm_times_out_on_a_server_that_never_answers(capsys):
    with http_server(always(200, delay=5)) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--rounds", "1", "--timeout", "0.3s",
                             "--retries", "1", *FAST)
    assert status == 1
    assert len(api.paths) == 2
    assert "FAILED: timed out" in out


def test_keep_warm_reports_a_server_that_is_down_and_still_pings_the_others(capsys):
    down = f"http://127.0.0.1:{closed_port()}"
    with http_server(always(200)) as demo:
        status, out, _ = run(capsys, "--api", down, "--demo", demo.base_url, "--rounds", "1", *FAST)
    assert status == 1
    assert demo.paths == ["/"]
    api_line, demo_line = ping_lines(out)
    assert "FAILED: connection failed" in api_line and "(3 attempts)" in api_line
    assert " 200 " in demo_line and "FAILED" not in demo_line


def test_keep_warm_skips_rounds_outside_its_daily_window(capsys):
    now = datetime.now(UTC)
    later = f"{(now + timedelta(hours=2)):%H:%M}-{(now + timedelta(hours=3)):%H:%M}"
    with http_server(always(200)) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--rounds", "2", "--window", later, *FAST)
    assert status == 0
    assert api.paths == []
    assert out.count("round skipped") == 2


def test_keep_warm_pings_inside_a_window_that_crosses_midnight_or_not(capsys):
    now = datetime.now(UTC)
    around_now = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    with http_server(always(200)) as api:
        status, _, _ = run(capsys, "--api", api.base_url, "--rounds", "1", "--window", around_now, *FAST)
    assert status == 0
    assert api.paths == ["/health"]


def test_keep_warm_dry_run_pings_nothing(capsys):
    with http_server(always(200)) as api:
        status, out, _ = run(capsys, "--api", api.base_url, "--dry-run")
    assert status == 0
    assert api.paths == []
    assert "dry run" in out and f"{api.base_url}/health" in out


@pytest.mark.parametrize(
    ("argv", "over_budget"),
    [
        (["--api", "https://one.onrender.com"], False),  # ~744 h: one service fits in 750
        (["--api", "https://one.onrender.com", "--demo", "https://two.onrender.com"], True),
        (["--api", "https://one.onrender.com", "--other-hours", "100"], True),
        (["--api", "https://one.onrender.com", "--demo", "https://two.onrender.com", "--window", "08:00-18:00"], False),
        (["--api", "https://one.onrender.com", "--demo", "https://two.onrender.com", "--interval", "1h"], False),
    ],
)
def test_keep_warm_warns_when_the_schedule_spends_more_than_renders_free_hours(capsys, argv, over_budget):
    status, _, err = run(capsys, *argv, "--dry-run")
    assert status == 0
    assert ("more than the 750 free instance hours" in err) is over_budget


def test_keep_warm_warns_that_an_interval_past_renders_sleep_does_not_keep_it_warm(capsys):
    _, _, err = run(capsys, "--api", "https://one.onrender.com", "--interval", "20m", "--dry-run")
    assert "fall asleep between pings" in err


def test_keep_warm_warns_that_pinging_fly_or_railway_costs_money(capsys):
    _, _, err = run(capsys, "--api", "https://x.fly.dev", "--url", "https://y.up.railway.app", "--dry-run")
    assert err.count("billed as running time") == 2


def test_keep_warm_awake_hours_follow_interval_and_window():
    window = keep_warm.parse_window("22:00-06:00")
    assert window.hours_per_day == 8
    assert keep_warm.awake_hours_per_month(600, None) == 24 * 31
    assert keep_warm.awake_hours_per_month(600, window) == 8 * 31
    assert keep_warm.awake_hours_per_month(3600, None) == pytest.approx(24 * 31 / 4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to ping"),
        (["--api", "", "--demo", ""], "nothing to ping"),  # unset CI variables
        (["--api", "ftp://x"], "not an http(s) URL"),
        (["--api", "http://x", "--interval", "soon"], "not a duration"),
        (["--api", "http://x", "--window", "7-23"], "not a window"),
        (["--api", "http://x", "--window", "25:00-23:00"], "hour must be"),
        (["--api", "http://x", "--rounds", "-1"], "must be ≥ 0"),
    ],
)
def test_keep_warm_refuses_bad_options_with_status_two(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert message in err


def test_keep_warm_exit_status_from_the_command_line():
    """The script runs standalone (as in the workflow) and its status says whether all answered."""
    with http_server(always(200)) as healthy, http_server(always(502)) as broken:
        ok = subprocess.run([sys.executable, str(SCRIPT), "--api", healthy.base_url, "--rounds", "1"],
                            capture_output=True, text=True, timeout=60)
        bad = subprocess.run([sys.executable, str(SCRIPT), "--api", broken.base_url, "--rounds", "1",
                              "--retries", "0"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert bad.returncode == 1
    assert "FAILED: HTTP 502" in bad.stdout
