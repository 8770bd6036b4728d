"""The demo's configuration: every knob is an environment variable, read here and only here.

``DemoSettings.from_env()`` is called once when the demo starts; the object is
then passed around and never changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DemoSettings"]

DEFAULT_DESCRIPTION = (
    "Try the models behind this API: change the inputs, press **Predict**, see what each "
    "input does with **What if**, score a whole CSV file, and copy the call to make it yourself."
)


@dataclass(frozen=True)
class DemoSettings:
    """Where the API is, how to authenticate, and what the page says about itself.

    Environment variables: ``API_URL``, ``API_KEY``, ``DEMO_TITLE``,
    ``DEMO_DESCRIPTION``, ``API_WAKE_SECONDS`` (how long to keep retrying
    a sleeping API before calling it down) and ``DEMO_CARDS_DIR`` (a folder of
    model cards, ``<name>.json``, whose forms are shown until the API first
    answers; a Space ships one, see space/app.py).
    """

    api_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    title: str = "freeport · model demo"
    description: str = DEFAULT_DESCRIPTION
    # Free instances take 30–90 s to wake (Render); two minutes covers a slow wake plus model loading.
    wake_seconds: float = 120.0
    cards_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.api_url.startswith(("http://", "https://")):
            raise ValueError(f"API_URL must start with http:// or https://, got {self.api_url!r}")
        if self.wake_seconds <= 0:
            raise ValueError(f"API_WAKE_SECONDS must be positive, got {self.wake_seconds}")
        if self.cards_dir is not None and not self.cards_dir.is_dir():
            raise ValueError(f"DEMO_CARDS_DIR must be a folder of model cards (<name>.json), got {self.cards_dir}")
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DemoSettings:
        """Read the settings from ``environ`` (``os.environ`` by default); unset or empty means the default."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field, variable in (
            ("api_url", "API_URL"),
            ("api_key", "API_KEY"),
            ("title", "DEMO_TITLE"),
            ("description", "DEMO_DESCRIPTION"),
        ):
            text = env.get(variable, "").strip()
            if text:
                values[field] = text
        wake = env.get("API_WAKE_SECONDS", "").strip()
        if wake:
            try:
                values["wake_seconds"] = float(wake)
            except ValueError:
                raise ValueError(f"API_WAKE_SECONDS must be a number of seconds, got {wake!r}") from None
        cards = env.get("DEMO_CARDS_DIR", "").strip()
        if cards:
            values["cards_dir"] = Path(cards)
        return cls(**values)
