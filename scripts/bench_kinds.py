#!/usr/bin/env python3
"""What each kind of model costs to serve on a free instance: memory and time to first prediction.

Saves one model of each kind a student brings (from tests/zoo.py: models this
project did not write) with save_bundle, then starts ``python -m api`` with
each alone, as scripts/bench_startup.py does, and prints medians over ``--runs``:

- engine      what serves it: onnx (onnxruntime), or sklearn when it has no ONNX model
- predict s   process start to the first 200 from POST /models/<name>/predict (wall clock here)
- CPU s       CPU seconds the server used up to that prediction; on Render's 0.1 CPU, about
              ten times that is a visitor's wait after a cold start
- RSS MB      the server's resident memory once it has answered (free instances have 512 MB)

    .venv/bin/python scripts/bench_kinds.py --runs 3
    .venv/bin/python scripts/bench_kinds.py --kinds hgb-regressor,own-function
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench_startup import scenario_dirs, start_once  # noqa: E402 -- needs the path above

# The kinds the README's table shows: a bare HistGradientBoosting, a forest, a linear
# pipeline over text columns, and a custom-function pipeline served on scikit-learn.
DEFAULT_KINDS = ("hgb-regressor", "forest-multiclass", "text-gaps-onehot", "own-function")


def save_kinds(kinds: list[str], models_dir: Path) -> dict[str, str]:
    """Save each kind's model into ``models_dir``; returns each one's estimator description."""
    from api.serving.bundle import save_bundle
    from tests.zoo import ZOO

    described = {}
    for kind in kinds:
        fitted = ZOO[kind]()
        card = save_bundle(fitted.estimator, fitted.train, fitted.target, kind, features_test=fitted.test,
                           target_test=fitted.test_target, models_dir=models_dir, quiet=True, verify=False)
        described[kind] = card.estimator
    return described


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="start-ups per kind; medians are printed")
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS), help="comma-separated names from tests/zoo.py")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-kinds-") as tmp:
        scratch = Path(tmp)
        models = scratch / "models"
        described = save_kinds(kinds, models)
        print(f"python {sys.version.split()[0]} · {args.runs} run(s) per kind · medians\n")
        header = f"{'kind':<18} {'estimator':<58} {'engine':>7} {'predict s':>10} {'CPU s':>6} {'RSS MB':>7}"
        print(header)
        print("-" * len(header))
        scenarios = scenario_dirs(models, scratch)
        for kind in kinds:
            runs = [start_once(scenarios[kind], scratch, [sys.executable], args.timeout, ROOT)[0]
                    for _ in range(args.runs)]
            print(
                f"{kind:<18} {described[kind][:58]:<58} {runs[0].engines:>7}"
                f" {statistics.median(r.predict for r in runs):>10.2f}"
                f" {statistics.median(r.cpu for r in runs):>6.2f}"
                f" {statistics.median(r.rss_mb for r in runs):>7.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
