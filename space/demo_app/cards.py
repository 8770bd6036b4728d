"""The model cards as the demo sees them: plain objects parsed from ``GET /models``.

The demo never imports the API's code; it reads the same JSON any client
would, and ignores keys it does not know so a newer API does not break it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Card", "CardCopies", "Feature", "ServedModel", "parse_models", "read_shipped_models"]


@dataclass(frozen=True)
class Feature:
    """One input column: its type, training range or categories, and default."""

    name: str
    type: str  # number | integer | category | boolean
    description: str = ""
    label: str = ""  # a human name from the card; the raw name when the card gives none
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str | int, ...] = ()  # whole numbers for an integer-coded category
    category_labels: dict[str, str] = field(default_factory=dict)  # keyed by the category as text
    nullable: bool = False
    default: Any = None

    @property
    def is_numeric(self) -> bool:
        return self.type in ("number", "integer")

    @property
    def title(self) -> str:
        """What a visitor reads: the card's label, else the column's own name."""
        return self.label or self.name

    def category_title(self, category: str | int) -> str:
        """``IAH`` → ``IAH — George Bush Intercontinental`` when the card names it, else ``IAH``."""
        return self.category_labels.get(str(category), str(category))

    def category_value(self, text: str) -> str | int:
        """The category a widget or a CSV cell shows as ``text``, typed as the API takes it
        (an integer-coded category is sent as a JSON number, never as its text)."""
        return {str(category): category for category in self.categories}.get(text, text)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Feature:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            description=data.get("description") or "",
            label=data.get("label") or "",
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
            categories=tuple(data.get("categories") or ()),
            category_labels={str(k): str(v) for k, v in (data.get("category_labels") or {}).items()},
            nullable=bool(data.get("nullable", False)),
            default=data.get("default"),
        )


@dataclass(frozen=True)
class Card:
    """What a model takes and returns, how it scored on held-out data, and real example rows."""

    name: str
    title: str
    description: str
    version: str
    task: str  # classification | regression
    target: str
    classes: tuple[str, ...]
    estimator: str
    features: tuple[Feature, ...]
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_rows: int | None = None
    training_rows: int | None = None
    examples: tuple[dict[str, Any], ...] = ()
    target_label: str = ""  # a human name for the target from the card; the raw name when the card gives none

    @property
    def is_classifier(self) -> bool:
        return self.task == "classification"

    @property
    def target_title(self) -> str:
        """What a visitor reads for the target: the card's label, else ``miles_per_gallon`` as ``miles per gallon``."""
        return self.target_label or self.target.replace("_", " ")

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def title_of(self, name: str) -> str:
        """What a visitor reads for the field ``name``: its label, or the name itself when it is not a feature."""
        try:
            return self.feature(name).title
        except KeyError:
            return name

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Card:
        return cls(
            name=str(data["name"]),
            title=data.get("title") or data["name"],
            description=data.get("description") or "",
            version=str(data.get("version", "")),
            task=str(data["task"]),
            target=str(data.get("target", "prediction")),
            classes=tuple(data.get("classes") or ()),
            estimator=data.get("estimator") or "",
            features=tuple(Feature.from_json(f) for f in data["features"]),
            metrics=dict(data.get("metrics") or {}),
            metrics_rows=data.get("metrics_rows"),
            training_rows=data.get("training_rows"),
            examples=tuple(data.get("examples") or ()),
            target_label=data.get("target_label") or "",
        )


@dataclass(frozen=True)
class ServedModel:
    """One entry of ``GET /models``: the card (when readable) and whether the model serves."""

    name: str
    state: str  # pending | ready | failed
    error: str | None
    card: Card | None

    @property
    def ready(self) -> bool:
        return self.state == "ready" and self.card is not None


def parse_models(payload: Any) -> list[ServedModel]:
    """Parse the body of ``GET /models``; ValueError when it is not the list the API returns."""
    if not isinstance(payload, list):
        raise ValueError("GET /models did not return a list: is API_URL the freeport API?")
    models = []
    for entry in payload:
        try:
            card = Card.from_json(entry["card"]) if entry.get("card") else None
            models.append(ServedModel(str(entry["name"]), str(entry.get("state", "ready")), entry.get("error"), card))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"GET /models returned an entry the demo cannot read ({exc!r})") from exc
    return models


def read_shipped_models(folder: Path) -> list[dict[str, Any]]:
    """The cards in ``folder`` (``<name>.json``, as scripts/build_space.py copies them), shaped as
    ``GET /models`` answers: what the page shows until the API itself answers.

    ValueError names a file that is not a card the demo can read: a broken copy should stop the
    demo at start-up, not show a visitor half a page.
    """
    payload = []
    for path in sorted(folder.glob("*.json")):
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
            parse_models([{"name": card["name"], "card": card}])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a model card the demo can read ({exc}); "
                             "rebuild it with `python scripts/build_space.py`") from exc
        payload.append({"name": card["name"], "state": "ready", "card": card})
    return payload


class CardCopies:
    """The copies of the cards a page shows while the API does not answer, best first: the API's last
    answer to this process, else the cards shipped with the demo (DEMO_CARDS_DIR; a Space ships its own).

    One per process, shared by every visit, so a visitor after the API fell asleep still gets forms.
    """

    LAST_ANSWER = "the API's last answer"
    SHIPPED = "the cards shipped with this demo"

    def __init__(self, shipped: list[dict[str, Any]] | None = None) -> None:
        self._shipped = shipped or []
        self._last: list[dict[str, Any]] | None = None

    @classmethod
    def from_folder(cls, folder: Path | None) -> CardCopies:
        """The copies for a demo whose shipped cards are in ``folder`` (none when it is None)."""
        return cls(read_shipped_models(folder) if folder else None)

    def remember(self, payload: list[dict[str, Any]]) -> None:
        """Keep the API's latest answer to ``GET /models``."""
        self._last = payload

    def best(self) -> tuple[list[dict[str, Any]], str] | None:
        """The best copy there is and where it comes from (words for the page), or None when there is none."""
        if self._last is not None:
            return self._last, self.LAST_ANSWER
        if self._shipped:
            return self._shipped, self.SHIPPED
        return None
