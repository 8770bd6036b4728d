"""A saved bundle loaded in a fresh Python, as the server loads it, and the report of a save.

The interpreter that saved a model has every function of its notebook or script
imported already, so loading there proves nothing. :func:`verify_in_fresh_python`
runs ``python -m api.bundle probe`` on the staged bundle, which loads it on the
server's engine, answers the card's examples, and reports the time and memory
that took; the answers must match the estimator in memory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from api.errors import BundleError
from api.serving.bundle import ARTIFACT_FILE, ONNX_FILE, REPOSITORY, load_engine, load_estimator
from api.serving.card import ModelCard, read_card
from api.serving.engines import EngineChoice

__all__ = ["describe_save", "probe", "verify_in_fresh_python"]


def verify_in_fresh_python(bundle_dir: Path, card: ModelCard, estimator: Any) -> dict[str, Any]:
    """Load the staged bundle in a new interpreter as the server would, and compare its answers.

    A new interpreter is the only honest test: the one that saved the model has every
    function of the notebook or script imported already. Returns the probe's report
    (engine, load time, peak memory).
    """
    from api.serving.engines.sklearn import SklearnEngine
    from api.serving.predictor import Predictor

    expected = Predictor(card, SklearnEngine(card, estimator)).predict(card.examples)
    root = str(REPOSITORY)  # so `api` imports from a notebook anywhere
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "api.bundle", "probe", str(Path(bundle_dir).resolve())]
    # Run where the server runs (make run, the Procfile, the Dockerfile's WORKDIR): `-m` puts the working
    # directory on sys.path, so a module beside the notebook would import here and not on the server.
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root, timeout=900, check=False)
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    if done.returncode != 0 or "error" in report or not report:
        problem = report.get("error") or (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BundleError(f"the bundle does not load in a fresh Python the way the server loads it: {problem}")
    answered = report["outcomes"]
    agree = (
        [o["prediction"] for o in answered] == [o["prediction"] for o in expected]
        if card.task == "classification"
        else all(abs(a["prediction"] - b["prediction"]) <= _value_tolerance(card, b["prediction"])
                 for a, b in zip(answered, expected, strict=True))
    )
    if not agree:
        raise BundleError(
            f"loaded in a fresh Python, the bundle answers its examples differently ({answered}) from the "
            f"estimator in memory ({expected}); the model depends on state the saved file does not hold."
        )
    return report


def _value_tolerance(card: ModelCard, value: float) -> float:
    if card.onnx is not None:
        return card.onnx.check.max_difference_allowed
    return 1e-9 * max(1.0, abs(value))


def probe(bundle_dir: Path, engine: EngineChoice) -> dict[str, Any]:
    """What ``python -m api.bundle probe`` reports: the bundle loaded as the server loads it."""
    from api.serving.predictor import Predictor

    started = time.perf_counter()
    card = read_card(bundle_dir)
    loaded, notes = load_engine(bundle_dir, card, engine=engine, allow_version_mismatch=False)
    outcomes = Predictor(card, loaded).predict(card.examples)
    seconds = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    if loaded.name == "onnx":  # the fallback engine must load too: ENGINE=sklearn and a missing model.onnx use it
        _, more = load_estimator(bundle_dir, card, allow_version_mismatch=False)
        notes += more
    return {"engine": loaded.name, "load_seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1),
            "outcomes": outcomes, "notes": notes}


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec, where getrusage's
    ru_maxrss keeps the high-water mark of the process that spawned it (a notebook, pytest)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 1024
    except (OSError, AttributeError):  # not Linux: the best figure the platform gives
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def describe_save(card: ModelCard, where: Path, probe: dict[str, Any] | None) -> str:
    """The report printed after a save: what serves it, what it weighs, how good it is, what next."""
    if card.onnx is not None:
        check = card.onnx.check
        engine = (f"onnx (onnxruntime), agrees with scikit-learn on {check.rows} held-out and "
                  f"{check.probe_rows} probe rows; largest difference {check.max_difference:.2g}")
    else:
        engine = f"scikit-learn — no ONNX model: {card.onnx_unavailable}"
    sizes = f"{ARTIFACT_FILE} {card.artifact.size_bytes / 1e6:.2f} MB"
    if card.onnx is not None:
        sizes += f", {ONNX_FILE} {card.onnx.size_bytes / 1e6:.2f} MB"
    metrics = ", ".join(f"{k} {v:.3g}" for k, v in card.metrics.items())
    held_out = f"{metrics} on {card.metrics_rows} held-out rows" if metrics else "none: pass features_test/target_test"
    lines = [
        f"saved {where} ({card.task}, {len(card.features)} inputs"
        + (f"; not read, so not asked for: {', '.join(card.unused_columns)}" if card.unused_columns else "") + ")",
        f"  engine    {engine}",
        f"  files     {sizes}",
        f"  held-out  {held_out}",
    ]
    if probe is not None:
        lines.append(
            f"  serving   loads and answers in {probe['load_seconds']:.2f} s in a fresh Python "
            f"(about {probe['load_seconds'] * 10:.0f} s on a free instance's 0.1 CPU); a process serving "
            f"only this model peaks at {probe['peak_rss_mb']:.0f} MB of the 512 MB"
        )
        lines += [f"  note      {note}" for note in probe["notes"]]
    models = where.parent.resolve()
    serve = "make run" if models == REPOSITORY / "models" else f"MODELS_DIR={models} make run"
    lines.append(f"  next      {serve} (in {REPOSITORY}), then open http://127.0.0.1:8000/docs")
    return "\n".join(lines)
