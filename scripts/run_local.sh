#!/usr/bin/env bash
# `make run`: the API (bundled models, SQLite) and the demo beside it, stopped together by Ctrl-C.
# DEMO=gradio (the default, the Hugging Face Space's front) or DEMO=streamlit (Streamlit Community Cloud's).
set -euo pipefail
cd "$(dirname "$0")/.."
API_PORT=${API_PORT:-8000}
DEMO_PORT=${DEMO_PORT:-7860}
DEMO=${DEMO:-gradio}

PORT=$API_PORT HOST=${HOST:-127.0.0.1} python -m api &
api_pid=$!
trap 'kill $api_pid 2>/dev/null; wait $api_pid 2>/dev/null' EXIT INT TERM

echo "API:  http://127.0.0.1:$API_PORT/docs"
echo "Demo: http://127.0.0.1:$DEMO_PORT  ($DEMO; it waits for the API to finish loading)"
API_URL="http://127.0.0.1:$API_PORT" DEMO_PORT=$DEMO_PORT scripts/run_demo.sh "$DEMO"
