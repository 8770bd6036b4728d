"""The freeport demo: a client of the API over HTTP, and nothing more, with two fronts.

It never imports ``api``: it reads ``GET /models`` and builds each model's
form, what-if chart, CSV scoring and API panel from the card it gets back.

The modules directly in this package are the core, which imports no UI toolkit:
settings, cards, client, waking, connection, forms, field_notes, results,
whatif, charts, batch, batch_report, snippets, look. Two thin fronts draw it:

- ``demo_app.gradio_front``: Gradio, for a Hugging Face Space (``python -m demo_app``);
- ``demo_app.streamlit_front``: Streamlit, for Streamlit Community Cloud
  (``streamlit run streamlit_app/streamlit_app.py``).
"""

from demo_app.settings import DemoSettings

__all__ = ["DemoSettings"]
