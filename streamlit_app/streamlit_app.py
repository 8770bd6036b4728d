"""Streamlit Community Cloud's entry point: the freeport demo for the API at API_URL.

Deploy this file (``streamlit_app/streamlit_app.py``); Community Cloud installs
``requirements.txt`` beside it. Settings come from the app's secrets (TOML:
``API_URL = "https://my-api.onrender.com"``, optionally ``API_KEY``) or the
environment, read by ``demo_app.settings``. Locally: ``DEMO=streamlit make run``.
"""

import sys
from pathlib import Path

# Community Cloud runs `streamlit run` from the repository's root, but Python looks for imports in this
# file's folder, not in the working directory: put the root first so `demo_app` is found.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo_app.streamlit_front import run_app  # noqa: E402 (needs the root on sys.path first)

# The cards the Space ships (kept fresh by scripts/build_space.py): a first visitor sees the forms while
# the API still sleeps. DEMO_CARDS_DIR, when set, wins.
run_app(default_cards=ROOT / "space" / "cards")
