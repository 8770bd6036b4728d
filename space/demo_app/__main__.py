"""``python -m demo_app``: serve the Gradio demo for the API at $API_URL (see demo_app.settings).

The Streamlit front is started by Streamlit itself: ``streamlit run streamlit_app/streamlit_app.py``.
"""

from __future__ import annotations

from demo_app import DemoSettings
from demo_app.gradio_front import build_demo, launch_demo


def main() -> None:
    """Read the settings from the environment, build the page and serve it until interrupted."""
    launch_demo(build_demo(DemoSettings.from_env()))


if __name__ == "__main__":
    main()
