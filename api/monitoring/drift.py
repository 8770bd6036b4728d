"""Drift: the inputs a model was sent lately, compared with those it was trained on.

Per feature, the logged values are counted in the card's training bins (numbers)
or by value (categories, booleans), with a bin for missing values and, for a
category, one for values training never saw. The two spreads are compared by
the population stability index, PSI = Σ (seen − trained) · ln(seen / trained),
the usual yardstick of credit-scoring and ML monitoring: under 0.1 the spread is
stable, 0.1 to 0.25 it is shifting, above 0.25 it has drifted. Categories rare in
training are pooled into one bin, so sampling noise over many small bins does not
read as drift. A feature is also
flagged when many values lie where training had none (out of its range, or an
unseen category), which a PSI over a few bins can understate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from api.monitoring.bins import bin_counts, bin_labels
from api.serving.card import FeatureProfile, FeatureSpec, ModelCard

__all__ = ["DriftReport", "DriftThresholds", "FeatureDrift", "compare"]

# A share of 0 on either side makes PSI infinite; an empty bin counts as this share instead.
EMPTY_SHARE = 1e-4
# Categories rarer than this in training share one bin. PSI grows with the number of bins at a
# given sample size (by about (bins - 1) / predictions when nothing changed), so a hundred
# destinations with a few flights each would read as drift in a quiet week.
RARE_SHARE = 0.01

Status = Literal["stable", "shifting", "drifted", "too_few"]


class DriftThresholds(BaseModel):
    """When a feature is called shifting or drifted."""

    psi_shifting: float = Field(0.1, description="PSI from which a feature is reported as shifting.")
    psi_drifted: float = Field(0.25, description="PSI from which a feature is flagged as drifted.")
    outside_drifted: float = Field(
        0.05, description="Share of values out of the training range or unseen in training that flags a feature."
    )
    min_predictions: int = Field(100, description="Fewer predictions than this in the window: nothing is flagged.")


class BinShare(BaseModel):
    """One bin of a feature: its share of the training rows and of the predictions looked at."""

    bin: str = Field(description="e.g. `< 6`, `6 – 9`, `IAH`, `missing`, `unseen`.")
    training: float
    seen: float


class FeatureDrift(BaseModel):
    """How one input's spread in the window compares with training."""

    name: str
    type: str
    psi: float | None = Field(description="Population stability index; null when no prediction was looked at.")
    outside_share: float = Field(
        description="Share of values outside the training range (numbers) or not seen in training (categories)."
    )
    null_share_training: float
    null_share_seen: float
    status: Status
    flagged: bool = Field(description="Drifted: PSI or the outside share is past its threshold.")
    bins: list[BinShare]


class DriftReport(BaseModel):
    """The logged inputs of a window against the training distribution recorded in the card."""

    model: str
    version: str = Field(description="The card's version, whose training distribution is the baseline.")
    predictions: int = Field(description="Predictions looked at: the window's, newest first, up to the limit.")
    window_days: float
    limit: int
    first_at: str | None = Field(description="The oldest prediction looked at (UTC, ISO 8601).")
    last_at: str | None = Field(description="The newest prediction looked at.")
    versions_seen: dict[str, int] = Field(description="Predictions looked at, by the model version that answered.")
    thresholds: DriftThresholds
    enough_data: bool = Field(description="At least min_predictions were looked at; otherwise nothing is flagged.")
    drifted: list[str] = Field(description="The flagged features' names.")
    features: list[FeatureDrift]


def compare(card: ModelCard, inputs: Sequence[dict[str, Any]], thresholds: DriftThresholds) -> list[FeatureDrift]:
    """Each feature of ``card`` over the logged ``inputs`` (the card must hold a training profile)."""
    assert card.training_profile is not None
    enough = len(inputs) >= thresholds.min_predictions
    return [
        _feature(spec, card.training_profile.features[spec.name], [row.get(spec.name) for row in inputs],
                 thresholds, enough)
        for spec in card.features
    ]


def _feature(
    spec: FeatureSpec, trained: FeatureProfile, values: list[Any], thresholds: DriftThresholds, enough: bool
) -> FeatureDrift:
    present = [v for v in values if v is not None]
    if trained.edges is not None:
        labels, expected, counts, outside = _numbers(spec, trained, present)
    else:
        labels, expected, counts, outside = _categories(spec, trained, present)
    labels.append("missing")
    expected.append(trained.null_share)
    counts.append(len(values) - len(present))
    total = len(values)
    seen = [c / total for c in counts] if total else [0.0] * len(counts)
    psi = _psi(expected, seen) if total else None
    outside_share = outside / total if total else 0.0
    flagged = enough and (psi >= thresholds.psi_drifted or outside_share >= thresholds.outside_drifted)
    if not enough:
        status: Status = "too_few"
    elif flagged:
        status = "drifted"
    else:
        status = "shifting" if psi >= thresholds.psi_shifting else "stable"
    return FeatureDrift(
        name=spec.name,
        type=spec.type,
        psi=None if psi is None else round(psi, 4),
        outside_share=round(outside_share, 4),
        null_share_training=trained.null_share,
        null_share_seen=round(seen[-1], 4),
        status=status,
        flagged=flagged,
        bins=[BinShare(bin=b, training=t, seen=round(s, 4)) for b, t, s in zip(labels, expected, seen, strict=True)],
    )


def _numbers(spec: FeatureSpec, trained: FeatureProfile, present: list[Any]):
    numbers = np.asarray([v for v in present if isinstance(v, int | float) and not isinstance(v, bool)], dtype=float)
    edges = trained.edges or []
    counts = [int(c) for c in bin_counts(numbers, edges)]
    low = -math.inf if spec.minimum is None else spec.minimum
    high = math.inf if spec.maximum is None else spec.maximum
    outside = int(np.count_nonzero((numbers < low) | (numbers > high)))
    return bin_labels(edges), list(trained.shares), counts, outside


def _categories(spec: FeatureSpec, trained: FeatureProfile, present: list[Any]):
    known = list(trained.values or [])
    own = [i for i, share in enumerate(trained.shares) if share >= RARE_SHARE]
    rare = [i for i, share in enumerate(trained.shares) if share < RARE_SHARE]
    # Bins: each common category, then the rare ones together (if any), then the unseen.
    bin_of = {i: position for position, i in enumerate(own)} | dict.fromkeys(rare, len(own))
    unseen_bin = len(own) + (1 if rare else 0)
    # Keyed by (type, value): True == 1 in Python, but a boolean is not an integer-coded category.
    index = {(type(v), v): bin_of[i] for i, v in enumerate(known)}
    counts = [0] * (unseen_bin + 1)
    for value in present:
        counts[index.get((type(value), value), unseen_bin)] += 1
    labels = [str(known[i]).lower() if isinstance(known[i], bool) else str(known[i]) for i in own]
    expected = [trained.shares[i] for i in own]
    if rare:
        labels.append(f"{len(rare)} rare in training")
        expected.append(round(sum(trained.shares[i] for i in rare), 6))
    if spec.type == "boolean":  # the API takes nothing but true and false: no bin for the unseen
        return labels, expected, counts[:-1], 0
    return [*labels, "unseen"], [*expected, 0.0], counts, counts[-1]


def _psi(expected: list[float], seen: list[float]) -> float:
    trained = np.maximum(np.asarray(expected, dtype=float), EMPTY_SHARE)
    now = np.maximum(np.asarray(seen, dtype=float), EMPTY_SHARE)
    return float(np.sum((now - trained) * np.log(now / trained)))
