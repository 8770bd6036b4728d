#!/usr/bin/env bash
# Re-pin every requirements*.txt from requirements/*.in (needs uv: `make install-dev`).
# The demo and dev locks are constrained by the service's, so one environment
# can hold all three without a version conflict.
set -euo pipefail
cd "$(dirname "$0")/.."
# uv is a dev requirement: `make install-dev` puts it in .venv/bin.
export PATH="$PWD/.venv/bin:$PATH"
compile() { uv pip compile --quiet --python-version 3.11 --no-header "requirements/$1" -o "$2"; }
compile serve.in requirements.txt
compile demo.in requirements-demo.txt
compile dev.in requirements-dev.txt
# The Space's pins follow the demo's (universal, Python 3.10 to 3.12).
python3 scripts/build_space.py --lock
echo "locked: requirements.txt requirements-demo.txt requirements-dev.txt space/requirements.txt"
