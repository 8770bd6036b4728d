"""The keep-warm workflow: off the top of the hour, idle until configured, calling the script as it parses."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from tests.warm.test_keep_warm import keep_warm

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "keep-warm.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _minutes(field: str) -> set[int]:
    """Expand a cron minute field (lists, ranges, steps)."""
    minutes: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        start, _, end = ("0-59" if span == "*" else span).partition("-")
        minutes.update(range(int(start), int(end or start) + 1, int(step or 1)))
    return minutes


def test_keep_warm_workflow_runs_off_the_top_of_the_hour_more_often_than_render_sleeps():
    triggers = _workflow()[True]  # YAML 1.1 reads the key `on` as True
    (schedule,) = triggers["schedule"]
    minutes = sorted(_minutes(schedule["cron"].split()[0]))
    assert 0 not in minutes
    gaps = [(b - a) % 60 for a, b in zip(minutes, [*minutes[1:], minutes[0] + 60], strict=True)]
    assert max(gaps) < 15


def test_keep_warm_workflow_does_nothing_until_its_variables_are_set():
    (job,) = _workflow()["jobs"].values()
    assert "vars.KEEP_WARM_API_URL != ''" in job["if"] and "vars.KEEP_WARM_DEMO_URL != ''" in job["if"]


def test_keep_warm_workflow_calls_the_script_with_options_it_accepts(capsys):
    (job,) = _workflow()["jobs"].values()
    step = next(s for s in job["steps"] if "keep_warm.py" in s.get("run", ""))
    sample = {"$API_URL": "https://my-api.onrender.com", "$DEMO_URL": "", "$WINDOW": "07:00-23:00"}
    argv = [sample.get(arg, arg) for arg in shlex.split(step["run"])[2:]]
    assert set(step["env"]) == {name.lstrip("$") for name in sample}
    assert keep_warm.main([*argv, "--dry-run"]) == 0
    assert "https://my-api.onrender.com/health" in capsys.readouterr().out
