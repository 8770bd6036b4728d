"""The mutation score of each module, from the results `mutmut run` keeps in mutants/ (docs/mutation.md).

    python scripts/mutation_scores.py [module ...] [--fail-under PERCENT]

A mutant is caught when a test failed with it in place (or ran past its time limit: the change made
the code hang); it is missed when every test that exercises its function passed, or when no test
exercises it at all. The score is caught / (caught + missed), over the mutants run so far; those
not yet run (a run stopped at its time bound) are counted apart, and a module none of whose
mutants has run is shown without a score and fails no threshold. The package api/engines is
scored as one module. Survivors are listed by name: `mutmut show NAME` prints the change.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

RESULTS = Path("mutants")

# mutmut's exit codes per mutant (mutmut 3: status_by_exit_code in mutmut/__main__.py).
CAUGHT = {1, 3, -24, 24, 36, 152, 255}  # a test failed, pytest broke, or the tests ran out of time
MISSED = {0, 5, 33}  # every test passed, or no test exercises the mutated function
NOT_RUN = {None, 2, 34}  # not run yet, interrupted, skipped


def module_of(meta: Path) -> str:
    """``mutants/api/serving/engines/onnx.py.meta`` → ``api.serving.engines``;
    ``mutants/api/errors.py.meta`` → ``api.errors``: the engines package counts as one module."""
    parts = meta.relative_to(RESULTS).with_suffix("").with_suffix("").parts
    return ".".join(parts[:3]) if parts[:3] == ("api", "serving", "engines") else ".".join(parts)


def _kind(code: int | None) -> str:
    if code in CAUGHT:
        return "caught"
    if code in MISSED:
        return "missed"
    return "not run" if code in NOT_RUN else "odd"


def tally(results: Path = RESULTS) -> tuple[dict[str, Counter], dict[str, list[str]]]:
    """Per module: counts of caught, missed, not run and other outcomes; and the names of the missed."""
    counts: dict[str, Counter] = {}
    missed: dict[str, list[str]] = {}
    for meta in sorted(results.rglob("*.py.meta")):
        module = module_of(meta)
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        count = counts.setdefault(module, Counter())
        for name, code in codes.items():
            kind = _kind(code)
            count[kind] += 1
            if kind == "missed":
                missed.setdefault(module, []).append(name)
    return counts, missed


def score(count: Counter) -> float | None:
    judged = count["caught"] + count["missed"]
    return 100 * count["caught"] / judged if judged else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules", nargs="*", help="e.g. api.serving.batching api.serving.engines (default: every module run)"
    )
    parser.add_argument("--fail-under", type=float, help="exit 1 if a module scores below this percentage")
    parser.add_argument("--survivors", action="store_true", help="list each missed mutant by name")
    args = parser.parse_args(argv)
    if not RESULTS.is_dir():
        print("no mutmut results here: run `make mutation` first", file=sys.stderr)
        return 2
    counts, missed = tally()
    modules = args.modules or sorted(counts)
    low = []
    print(f"{'module':<16} {'mutants':>7} {'caught':>6} {'missed':>6} {'not run':>7} {'score':>7}")
    for module in modules:
        count = counts.get(module, Counter())
        value = score(count)
        shown = f"{value:6.1f}%" if value is not None else "      -"
        total = sum(count.values())
        print(f"{module:<16} {total:>7} {count['caught']:>6} {count['missed']:>6} {count['not run']:>7} {shown}")
        if args.fail_under is not None and value is not None and value < args.fail_under:
            low.append(module)
        if args.survivors:
            for name in missed.get(module, []):
                print(f"    missed: {name}")
    if low:
        print(f"below {args.fail_under:g} %: {', '.join(low)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
