"""The Streamlit front (for Streamlit Community Cloud): the page and each model's panel as a Streamlit script.

Everything it shows comes from the UI-free core in demo_app (cards, client,
forms, results, what-if, CSV scoring, snippets, waking); this package only lays
it out with Streamlit's elements. ``streamlit run streamlit_app/streamlit_app.py``
serves it.
"""

from demo_app.streamlit_front.app import read_settings, run_app

__all__ = ["read_settings", "run_app"]
