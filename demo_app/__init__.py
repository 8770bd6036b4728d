"""The freeport demo: a Gradio app that is a client of the API over HTTP, and nothing more.

It never imports ``api``: it reads ``GET /models`` and builds each model's
form, what-if chart, CSV scoring and API panel from the card it gets back.
Start it with ``API_URL=… python -m demo_app``.
"""

from demo_app.page import build_demo, launch_demo
from demo_app.settings import DemoSettings

__all__ = ["DemoSettings", "build_demo", "launch_demo"]
