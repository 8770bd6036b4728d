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
# So do Streamlit Community Cloud's, beside the entry file, where it looks first (streamlit and requests
# as requirements-demo.txt pins them; no gradio, no API: the app installs only what it imports).
{
  echo "# Streamlit Community Cloud installs this file (it sits beside the entry file), pinned for Python 3.11"
  echo "# to 3.12 by scripts/lock.sh from requirements-demo.txt's streamlit and requests. Do not edit by hand."
  grep -E '^(streamlit|requests)==' requirements-demo.txt |
    uv pip compile --quiet --universal --python-version 3.11 --no-header --no-annotate -
} > streamlit_app/requirements.txt
echo "locked: requirements.txt requirements-demo.txt requirements-dev.txt space/requirements.txt streamlit_app/requirements.txt"
