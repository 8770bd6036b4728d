#!/usr/bin/env bash
# Serve one demo front on $DEMO_PORT (default 7860) for the API at $API_URL: `scripts/run_demo.sh gradio|streamlit`.
# Used by `make run` and `make demo`, so both start a front the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_PORT=${DEMO_PORT:-7860}
case "${1:-gradio}" in
  gradio)
    GRADIO_SERVER_PORT=$DEMO_PORT exec python -m demo_app ;;
  streamlit)
    # Headless: no browser opened, no e-mail prompt; usage statistics off, as Gradio's analytics are.
    # `streamlit run`, as Community Cloud starts it (not `python -m`, which would put this folder on sys.path).
    exec streamlit run streamlit_app/streamlit_app.py --server.port "$DEMO_PORT" \
      --server.address "${STREAMLIT_SERVER_ADDRESS:-127.0.0.1}" --server.headless true \
      --browser.gatherUsageStats false ;;
  *)
    echo "the demo is gradio or streamlit, got '$1'" >&2; exit 2 ;;
esac
