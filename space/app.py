"""The Hugging Face Space's entry point: the freeport demo for the API at $API_URL.

``demo_app/`` beside this file is a copy made by ``scripts/build_space.py`` in the
freeport repository; edit the original there. So is ``cards/``: the models' cards,
whose forms a first visitor sees while the API still sleeps. Settings come from the
Space's variables and secrets (API_URL, API_KEY, DEMO_TITLE, DEMO_DESCRIPTION), read
by ``demo_app.settings``.
"""

try:  # preinstalled on ZeroGPU hardware only; it asks to be imported before anything else
    import spaces
except ImportError:
    spaces = None

from dataclasses import replace
from pathlib import Path

import gradio as gr

from demo_app import DemoSettings
from demo_app.gradio_front import build_demo, launch_demo

SHIPPED_CARDS = Path(__file__).resolve().with_name("cards")

settings = DemoSettings.from_env()
if settings.cards_dir is None and SHIPPED_CARDS.is_dir():  # DEMO_CARDS_DIR, when set, wins
    settings = replace(settings, cards_dir=SHIPPED_CARDS)
demo = build_demo(settings)

if spaces is not None:
    # ZeroGPU, the free hardware for Gradio Spaces, stops an app that declares no GPU function
    # ("No @spaces.GPU function detected during startup"). The demo needs no GPU: it only calls
    # the API over HTTP. This function is declared and wired to a hidden control that is not
    # part of the public API, and it is never called, so it never asks for GPU time.
    @spaces.GPU(duration=1)
    def zerogpu_probe() -> str:
        return "the demo runs on the CPU"

    with demo:
        gr.Button(visible=False).click(zerogpu_probe, api_visibility="private")

if __name__ == "__main__":
    launch_demo(demo)
