"""The Hugging Face Space's entry point: the freeport demo for the API at $API_URL.

``demo_app/`` beside this file is a copy made by ``scripts/build_space.py`` in the
freeport repository; edit the original there. Settings come from the Space's
variables and secrets (API_URL, API_KEY, DEMO_TITLE, DEMO_DESCRIPTION), read by
``demo_app.settings``.
"""

try:  # preinstalled on ZeroGPU hardware only; it asks to be imported before anything else
    import spaces
except ImportError:
    spaces = None

import gradio as gr

from demo_app import DemoSettings, build_demo, launch_demo

demo = build_demo(DemoSettings.from_env())

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
