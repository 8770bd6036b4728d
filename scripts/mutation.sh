#!/usr/bin/env bash
# Mutation testing of the serving core (docs/mutation.md): mutmut changes the code in small ways,
# one change at a time, and runs the tests that exercise it; a change no test notices is a gap
# in the suite. Then the score of each module.
#
#   scripts/mutation.sh [module ...]     e.g. scripts/mutation.sh api.serving.batching api.errors
#
# Bounded: it stops after MUTATION_MINUTES (default 60). mutmut keeps each result in mutants/, so
# a run of every module resumes where the last one stopped and re-tests only the functions that
# changed since; naming modules re-tests all of their mutants (delete mutants/ to start afresh).
# MUTATION_CHILDREN mutants run at once (default 1: it is CPU-heavy). Needs `make install-dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
minutes=${MUTATION_MINUTES:-60}
# mutmut runs the tests once in its own process, then forks that process for each mutant. A fork of a process
# that has run OpenMP code (scikit-learn's HistGradientBoosting predicts with it) deadlocks in the child's first
# OpenMP region (https://gcc.gnu.org/bugzilla/show_bug.cgi?id=60035), beyond pytest-timeout's reach, until
# mutmut's own limit (15 times the tests' time) kills it and counts the mutant caught. One thread each: no pool.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
children=${MUTATION_CHILDREN:-1}
# Every module pyproject's [tool.mutmut] only_mutate lists, unless some are named.
patterns=()
for module in "$@"; do patterns+=("$module.*"); done
status=0
timeout --signal=INT --kill-after=60 "${minutes}m" mutmut run --max-children "$children" ${patterns[@]+"${patterns[@]}"} \
  || status=$?
python scripts/mutation_scores.py "$@" ${MUTATION_FAIL_UNDER:+--fail-under "$MUTATION_FAIL_UNDER"}
case $status in
  0) ;;
  124) echo "mutation: stopped at the ${minutes}-minute bound; run it again to go on" ;;
  *) exit "$status" ;;
esac
