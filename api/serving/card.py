"""The model card: the one contract between a saved bundle and everything that serves it.

``card.json`` is written by :func:`api.serving.bundle.save_bundle` (inferred from the
estimator and its training data, never by hand) and read here at start-up. The
API's request and response schemas, the /docs examples, the demo's form and
the tests are all derived from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.errors import BundleError

__all__ = [
    "CARD_FILE",
    "NAME_PATTERN",
    "ArtifactInfo",
    "FeatureProfile",
    "FeatureSpec",
    "ModelCard",
    "OnnxArtifact",
    "OnnxCheck",
    "TrainingProfile",
    "read_card",
]

CARD_FILE = "card.json"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"

FeatureType = Literal["number", "integer", "category", "boolean"]
Task = Literal["classification", "regression"]


class FeatureSpec(BaseModel):
    """One input column, as observed in the training frame."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: FeatureType
    description: str = ""
    label: str = Field("", description="A human name for the column (e.g. `Departure hour`), shown by the demo.")
    minimum: float | None = Field(None, description="Smallest value seen in training.")
    maximum: float | None = Field(None, description="Largest value seen in training.")
    categories: list[str] | list[int] | None = Field(
        None, description="Values seen in training: text, or whole numbers for an integer-coded category."
    )
    category_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Human names of some or all categories, keyed by the category as text "
        "(e.g. `IAH` → `IAH — Houston George Bush`), shown by the demo.",
    )
    nullable: bool = Field(False, description="Missing values occurred in training.")
    default: Any = Field(None, description="Median (numbers) or mode (categories).")
    dtype: str | None = Field(
        None, description="The pandas dtype of the training column (e.g. `category`), rebuilt for scikit-learn."
    )


class FeatureProfile(BaseModel):
    """How one input was spread over the training rows: what drift is measured against.

    A number is counted in bins cut at ``edges`` (a value v is in bin i when
    edges[i-1] <= v < edges[i]); a category or boolean by each of its ``values``.
    ``shares`` are fractions of all training rows, so with ``null_share`` they sum to 1.
    """

    model_config = ConfigDict(frozen=True)

    edges: list[float] | None = Field(None, description="Numbers: the cut points between bins.")
    values: list[str] | list[int] | list[bool] | None = Field(None, description="Categories and booleans.")
    shares: list[float] = Field(description="Share of training rows in each bin, or with each value.")
    null_share: float = Field(0.0, description="Share of training rows where the value was missing.")


class TrainingProfile(BaseModel):
    """Each input's distribution over the training rows, recorded when the bundle was saved."""

    model_config = ConfigDict(frozen=True)

    rows: int
    features: dict[str, FeatureProfile]


class ArtifactInfo(BaseModel):
    """The serialised estimator's file, checked before it is unpickled."""

    model_config = ConfigDict(frozen=True)

    file: str
    format: Literal["joblib"] = "joblib"
    sha256: str
    size_bytes: int


class OnnxCheck(BaseModel):
    """How the ONNX model compared with scikit-learn on held-out and probe rows, and the tolerance it met."""

    model_config = ConfigDict(frozen=True)

    rows: int = Field(description="Held-out rows run through both engines.")
    probe_rows: int = Field(
        0, description="Rows built from the card to break the conversion (nulls, unknown categories, range ends) "
        "that scikit-learn answers, run through both engines."
    )
    label_agreement: float | None = Field(
        None, description="Share of rows given the same class (classifiers): the lower of held-out and probe rows."
    )
    min_label_agreement: float | None = None
    max_difference: float = Field(
        description="Largest difference in a probability or predicted value (0 for label-only classifiers)."
    )
    max_difference_allowed: float
    versions: dict[str, str] = Field(default_factory=dict, description="skl2onnx, onnx, onnxruntime.")
    conversion: str | None = Field(
        None,
        description="How the graph's inputs were declared, e.g. `float32` (api/serving/engines/convert.py STRATEGIES).",
    )

    @property
    def passed(self) -> bool:
        labels_ok = self.label_agreement is None or self.label_agreement >= (self.min_label_agreement or 1.0)
        return labels_ok and self.max_difference <= self.max_difference_allowed


class OnnxArtifact(BaseModel):
    """``model.onnx``: the same pipeline converted by skl2onnx, served by onnxruntime."""

    model_config = ConfigDict(frozen=True)

    file: str
    sha256: str
    size_bytes: int
    check: OnnxCheck
    missing_category: str = Field(
        "", description="The string fed to the graph for a missing category: what the pipeline's encoder learned."
    )


class ModelCard(BaseModel):
    """Everything known about one model bundle."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    name: str = Field(pattern=NAME_PATTERN)
    title: str
    description: str = ""
    version: str
    task: Task
    target: str
    target_label: str = Field(
        "", description="A human name for what the model predicts, read as \"chance of each …\" or "
        "\"predicted …\" (e.g. `outcome` for a target column `arrival`), shown by the demo."
    )
    classes: list[str] | None = Field(None, description="Class labels, for classifiers.")
    probabilities: bool = Field(True, description="Classifiers: whether the model gives class probabilities.")
    estimator: str = Field(description="The estimator's class, e.g. `Pipeline(…)`.")
    features: list[FeatureSpec] = Field(
        description="The columns the estimator reads, in its feature_names_in_ order: the API's inputs."
    )
    unused_columns: list[str] = Field(
        default_factory=list,
        description="Columns the estimator was fitted with but never reads (e.g. dropped by a ColumnTransformer); "
        "the scikit-learn engine fills them with missing values.",
    )
    metrics: dict[str, float] = Field(default_factory=dict, description="On held-out data.")
    metrics_rows: int | None = Field(None, description="Held-out rows behind the metrics.")
    training_rows: int
    examples: list[dict[str, Any]] = Field(default_factory=list, description="Real rows.")
    versions: dict[str, str] = Field(description="Python and library versions at save time.")
    artifact: ArtifactInfo
    created_at: str
    onnx: OnnxArtifact | None = Field(
        None, description="Present when the pipeline converted to ONNX and agreed with scikit-learn."
    )
    onnx_unavailable: str | None = Field(None, description="Why there is no ONNX model, when there is none.")
    training_profile: TrainingProfile | None = Field(
        None, description="Each input's distribution in training, for drift reports; absent in older cards."
    )

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @model_validator(mode="after")
    def _profile_fits_the_features(self) -> ModelCard:
        # A card edited by hand or uploaded: a drift report reads one profile per feature, by its kind.
        if self.training_profile is None:
            return self
        profiles = self.training_profile.features
        if set(profiles) != set(self.feature_names):
            raise ValueError(
                f"training_profile describes {sorted(profiles)} but the features are {sorted(self.feature_names)}"
            )
        for spec in self.features:
            profile = profiles[spec.name]
            numeric = spec.type in ("number", "integer")
            bins = len(profile.edges) + 1 if numeric and profile.edges is not None else None
            bins = len(profile.values) if not numeric and profile.values is not None else bins
            if bins != len(profile.shares):
                needs = "edges" if numeric else "values"
                raise ValueError(
                    f"training_profile of {spec.name!r} ({spec.type}) needs {needs} with one share per bin"
                )
        return self


def read_card(bundle_dir: Path) -> ModelCard:
    """Read and check ``bundle_dir/card.json``; BundleError says what is wrong."""
    path = bundle_dir / CARD_FILE
    if not path.is_file():
        raise BundleError(
            f"{path} is missing: every folder in the models directory needs the "
            "card.json written by save_bundle(). Re-save the model with "
            "`python -m api.bundle` or remove the folder."
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); re-save the bundle.") from exc
    try:
        card = ModelCard.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'card'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise BundleError(f"{path} does not follow the card format ({problems}); re-save the bundle.") from exc
    if card.name != bundle_dir.name:
        raise BundleError(
            f"{path} names the model {card.name!r} but its folder is {bundle_dir.name!r}; "
            "rename the folder or re-save the bundle under that name."
        )
    return card
