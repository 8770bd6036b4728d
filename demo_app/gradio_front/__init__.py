"""The Gradio front (the Hugging Face Space's): the page and each model's panel as Gradio Blocks.

Everything it shows comes from the UI-free core in demo_app (cards, client,
forms, results, what-if, CSV scoring, snippets, waking); this package only
lays it out and wires it to Gradio events. ``python -m demo_app`` serves it.
"""

from demo_app.gradio_front.page import build_demo, launch_demo

__all__ = ["build_demo", "launch_demo"]
