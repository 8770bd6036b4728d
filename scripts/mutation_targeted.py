"""Run mutants against the test files that concern them, the module's own first (docs/mutation.md).

    python scripts/mutation_targeted.py [--minutes N] [--workers N] [--again] [PATTERN ...]

mutmut runs every test that reaches a mutated function: for code that saving a bundle reaches, that is
a minute or more for each mutant that survives. This runs each mutant mutmut has not run yet (those
matching a PATTERN only, e.g. 'api.serving.engines.probes.*'; with --again, those run already too)
the way mutmut runs one, with its name in MUTANT_UNDER_TEST, but against its module's own test files
first (TARGETS) and, only if it survives them, against the broader ones; each in a child forked from a
process that imported the heavy libraries once, so a caught mutant costs a few seconds. Verdicts go
into mutmut's own results (mutants/*.meta: 1 caught, 0 missed), which scripts/mutation_scores.py
reads. Needs the mutants/ a `make mutation` run made. Run from the repository's root.
"""

from __future__ import annotations

import os

# One OpenMP thread before NumPy loads: a fork of a process whose OpenMP pool ran deadlocks (mutation.sh).
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse  # noqa: E402
import fcntl  # noqa: E402
import fnmatch  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

RESULTS = Path("mutants")
ENGINES = "tests/engines/"
# module (as mutmut names it) → (its own test files, fastest first; the broader files for what survives them)
TARGETS = {
    "api.serving.bundle.": (
        ["tests/test_bundle_refusals.py", "tests/test_bundle.py", "tests/test_bundle_save.py"],
        [f"{ENGINES}test_agreement.py", f"{ENGINES}test_engine_choice.py", f"{ENGINES}test_conversion.py"],
    ),
    "api.serving.engines.sklearn.": (
        [f"{ENGINES}test_sklearn_engine.py"], [f"{ENGINES}test_conversion.py", f"{ENGINES}test_agreement.py"]
    ),
    "api.serving.engines.probes.": ([f"{ENGINES}test_probes.py"], [f"{ENGINES}test_conversion.py"]),
    "api.serving.engines.convert.": (
        [f"{ENGINES}test_conversion_inputs.py", f"{ENGINES}test_conversion_reasons.py", f"{ENGINES}test_conversion.py"],
        [f"{ENGINES}test_agreement.py", f"{ENGINES}test_engine_choice.py", "tests/test_bundle.py"],
    ),
    "api.serving.engines.onnx.": (
        [f"{ENGINES}test_onnx_engine.py", f"{ENGINES}test_conversion.py"],
        [f"{ENGINES}test_agreement.py", "tests/test_bundle_save.py"],
    ),
    "api.serving.engines.parity.": ([f"{ENGINES}test_agreement.py"], [f"{ENGINES}test_conversion.py"]),
    "api.serving.engines.double_trees.": (
        [f"{ENGINES}test_double_trees.py", f"{ENGINES}test_conversion.py"], [f"{ENGINES}test_agreement.py"]
    ),
    "api.serving.card.": (["tests/test_card.py"], ["tests/test_bundle.py", "tests/test_schemas.py"]),
    "api.serving.fields.": (
        ["tests/test_openapi_snapshot.py", "tests/test_strict_types.py", "tests/test_ranges.py",
         "tests/test_schemas.py"],
        ["tests/test_batch_rules.py", "tests/test_out_of_range.py", "tests/test_unreadable_bodies.py"],
    ),
    "api.serving.schemas.": (
        ["tests/test_schemas.py", "tests/test_batch_rules.py"],
        ["tests/test_strict_types.py", "tests/test_openapi_snapshot.py", "tests/test_contracts.py"],
    ),
    "api.serving.predictor.": (["tests/test_predictor.py"], [f"{ENGINES}test_batching.py", "tests/test_predict.py"]),
    "api.serving.batching.": ([f"{ENGINES}test_batching.py"], ["tests/test_predict.py", "tests/test_contracts.py"]),
    "api.serving.registry.": (["tests/test_registry.py"], ["tests/test_contracts.py", "tests/test_out_of_range.py"]),
    "api.errors.": (["tests/test_errors.py"], ["tests/test_contracts.py", "tests/test_predict.py"]),
    "api.storage.predlog.": (["tests/test_spill.py", "tests/test_predlog.py"], ["tests/test_contracts.py"]),
}


def targets(name: str) -> tuple[list[str], list[str]] | None:
    return next((files for prefix, files in TARGETS.items() if name.startswith(prefix)), None)


def pending(patterns: list[str], again: bool) -> list[tuple[Path, str]]:
    """(results file, mutant name) for each mutant to run: matching a pattern if any, not run yet unless again."""
    found = []
    for meta in sorted(RESULTS.rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            matches = not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)
            if matches and (again or code is None) and targets(name):
                found.append((meta.resolve(), name))
    return found


def run(name: str, files: list[str], limit: float = 600.0) -> int:
    """pytest's exit code for ``files`` with mutant ``name`` in place, in a forked child; 1 when it runs too long."""
    import pytest

    child = os.fork()
    if child == 0:
        os.environ["MUTANT_UNDER_TEST"] = name
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        os._exit(int(pytest.main(["-q", "-x", "-p", "no:randomly", "-p", "no:cacheprovider", "--timeout", "60",
                                  *files])))
    started = time.monotonic()
    while True:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() - started > limit:  # a hang is a change the tests noticed, as mutmut counts it
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return 1
        time.sleep(0.05)


def clean(todo: list[tuple[Path, str]]) -> bool:
    """Whether every test file the mutants will meet passes with no mutant in place, as mutmut checks first:
    otherwise each mutant would count as caught by a test that fails anyway."""
    files = sorted({file for _, name in todo for group in targets(name) for file in group})
    if files and run("", files) != 0:
        print(f"the tests fail with no mutant in place: python -m pytest {' '.join(files)} (in mutants/)",
              file=sys.stderr)
        return False
    return True


def record(meta: Path, name: str, code: int) -> None:
    """Into mutmut's results. Workers share a module's file: each reads and writes it under a lock, so
    neither writes over the verdict the other has just added."""
    with meta.with_name(f"{meta.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = json.loads(meta.read_text())
        results["exit_code_by_key"][name] = code
        partial = meta.with_name(f"{meta.name}.{os.getpid()}")
        partial.write_text(json.dumps(results, indent=4))
        os.replace(partial, meta)  # whole, for a reader such as mutation_scores.py


def work(todo: list[tuple[Path, str]], deadline: float) -> None:
    # Imported here, before the forks: what each child would otherwise import for itself.
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import sklearn.ensemble
    import sklearn.linear_model
    import sklearn.pipeline  # noqa: F401

    for meta, name in todo:
        if time.time() > deadline:
            return
        started = time.monotonic()
        own, broader = targets(name)
        caught = run(name, own) != 0 or run(name, broader) != 0
        record(meta, name, 1 if caught else 0)
        print(f"{'caught' if caught else 'MISSED'} {name} {time.monotonic() - started:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="mutant names or globs (default: every mutant)")
    parser.add_argument("--again", action="store_true", help="run those already run too (default: only those not)")
    parser.add_argument("--minutes", type=float, default=60, help="start no mutant after this long")
    parser.add_argument("--workers", type=int, default=1, help="mutants run at once (default 1)")
    args = parser.parse_args()
    if not RESULTS.is_dir():
        print("no mutants/ here: run `make mutation` first", file=sys.stderr)
        return 2
    todo = pending(args.patterns, args.again)
    print(f"{len(todo)} mutants to run", flush=True)
    deadline = time.time() + args.minutes * 60
    os.chdir(RESULTS)  # mutmut's mutated copy of the repository, tests included
    sys.path.insert(0, os.getcwd())
    if not clean(todo):
        return 1
    index, children = 0, []
    for worker in range(1, args.workers):  # worker i takes every workers-th mutant
        pid = os.fork()
        if pid == 0:
            index, children = worker, []
            break
        children.append(pid)
    work(todo[index :: args.workers], deadline)
    if index:
        os._exit(0)
    for pid in children:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
