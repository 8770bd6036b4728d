"""Tiny models trained in milliseconds, one per scenario, and helpers to serve them."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from api.serving.bundle import save_bundle
from api.serving.card import FeatureSpec, ModelCard, read_card

REPO = Path(__file__).resolve().parents[1]
# A Python whose default text encoding is ASCII, as in a bare container (no locale coercion, no UTF-8 mode).
ASCII_LOCALE = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
EXAMPLE_MODELS = REPO / "models"


def mixed_frame(rows: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A frame with every feature type, missing values included, and a learnable target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype("int64"),
            "income k$": rng.normal(50, 15, rows).round(1),  # a name that is no Python identifier
            "colour": rng.choice(["red", "green", "blue"], rows).astype(object),
            "member": rng.choice([True, False], rows),
        }
    )
    frame.loc[frame.index % 7 == 0, "income k$"] = np.nan
    frame.loc[frame.index % 11 == 0, "colour"] = np.nan
    target = pd.Series(np.where(frame["age"] + rng.normal(0, 5, rows) > 50, "yes", "no"), name="bought")
    return frame, target


def mixed_pipeline(frame: pd.DataFrame, target: pd.Series, *, regression: bool = False):
    prepare = ColumnTransformer(
        [
            ("numbers", SimpleImputer(strategy="median"), ["age", "income k$"]),
            (
                "categories",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                ["colour", "member"],
            ),
        ]
    )
    final = LinearRegression() if regression else LogisticRegression(max_iter=500)
    return make_pipeline(prepare, final).fit(frame, target)


def save_tiny_classifier(models_dir: Path, name: str = "tiny-clf") -> ModelCard:
    frame, target = mixed_frame()
    train, test = frame.iloc[:90], frame.iloc[90:]
    model = mixed_pipeline(train, target.iloc[:90])
    return save_bundle(
        model, train, target.iloc[:90], name, features_test=test, target_test=target.iloc[90:],
        models_dir=models_dir, descriptions={"age": "Age in years"},
    )


def save_tiny_regressor(models_dir: Path, name: str = "tiny-reg") -> ModelCard:
    frame, _ = mixed_frame(seed=1)
    target = (frame["age"] * 2.0).rename("score")
    model = mixed_pipeline(frame, target, regression=True)
    return save_bundle(model, frame, target, name, features_test=frame.iloc[:30], target_test=target.iloc[:30],
                       models_dir=models_dir)


def dose_frame(rows: int = 200, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    """Doses of 0 to 50 and whether they worked: a model that takes their log."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"dose": rng.uniform(0, 50, rows).round(2), "weight kg": rng.uniform(40, 110, rows).round(1)})
    target = pd.Series(np.where(np.log1p(frame["dose"]) + rng.normal(0, 0.5, rows) > 2.5, "worked", "failed"),
                       name="outcome")
    return frame, target


def save_log_classifier(models_dir: Path, name: str = "dose-log") -> ModelCard:
    """log1p, then a logistic regression: a dose below -1 becomes NaN, and the regression raises.

    The API accepts such a dose (it is a finite number), so the model itself fails on the row:
    the case a student's own transform brings.
    """
    frame, target = dose_frame()
    model = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(frame.iloc[:150], target.iloc[:150])
    return save_bundle(model, frame.iloc[:150], target.iloc[:150], name, features_test=frame.iloc[150:],
                       target_test=target.iloc[150:], models_dir=models_dir, quiet=True)


def int_coded(card: ModelCard, name: str) -> ModelCard:
    """``card`` with its category ``name`` coded as whole numbers (1, 2, ...), as a card may now say."""
    spec = next(f for f in card.features if f.name == name)
    code = {c: i + 1 for i, c in enumerate(spec.categories)}
    coded = FeatureSpec(**{**spec.model_dump(), "categories": list(code.values()), "default": code[spec.default]})
    features = [coded if f.name == name else f for f in card.features]
    examples = [{**row, name: code.get(row[name], row[name])} for row in card.examples]
    return card.model_copy(update={"features": features, "examples": examples})


def save_dose_version(models_dir: Path, version: str, *, flipped: bool = False, wider: bool = False) -> ModelCard:
    """A version of the model `dose` (ONNX, numbers only): `flipped` learnt the opposite (worse on any honest
    evaluation set), `wider` reads one more input."""
    frame, target = dose_frame()
    if wider:  # reads one more input: a version whose request schema differs
        frame["age"] = (frame["weight kg"] / 2).round()
    train = target.iloc[:150]
    if flipped:  # a model that learnt the opposite: worse on any honest evaluation set
        train = train.map({"worked": "failed", "failed": "worked"})
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame.iloc[:150], train)
    return save_bundle(model, frame.iloc[:150], train, "dose", features_test=frame.iloc[150:],
                       target_test=target.iloc[150:], models_dir=models_dir, version=version, verify=False,
                       quiet=True)


# Saving a bundle takes about two seconds (an ONNX conversion, a load in a fresh Python): tests whose subject is
# not saving take a copy of a bundle saved before by the same code with the same libraries (``saved``). A mutation
# run (docs/mutation.md) reads the copies and never writes one, so no mutant's bundle is kept.
BUNDLE_CACHE = REPO / ".test-bundles"
_SHAPING_PACKAGES = ("numpy", "pandas", "scikit-learn", "skl2onnx", "onnx", "onnxruntime", "pydantic")


@functools.cache
def _code_and_libraries() -> str:
    """A digest of everything a saved bundle follows from: api/, this file, Python and the libraries."""
    digest = hashlib.sha256()
    for path in sorted([*(REPO / "api").rglob("*.py"), Path(__file__)]):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(repr([sys.version, *(metadata.version(p) for p in _SHAPING_PACKAGES)]).encode())
    return digest.hexdigest()


def saved(save: Callable[..., ModelCard], models_dir: Path, *args, **kwargs) -> ModelCard:
    """``save(models_dir, *args, **kwargs)``'s bundle (e.g. ``saved(save_tiny_classifier, models)``), copied from
    the one saved first when nothing it follows from has changed since."""
    key = hashlib.sha256(repr((save.__name__, args, sorted(kwargs.items()), _code_and_libraries())).encode())
    cached = BUNDLE_CACHE / key.hexdigest()[:24]
    if not cached.is_dir():
        if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):  # a mutant's bundle is not kept
            return save(models_dir, *args, **kwargs)
        BUNDLE_CACHE.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=BUNDLE_CACHE))
        save(staging, *args, **kwargs)
        try:
            os.replace(staging, cached)  # whole or not at all, when two runs save it at once
        except OSError:  # the other one was first
            shutil.rmtree(staging)
    [bundle] = [p for p in cached.iterdir() if p.is_dir()]
    shutil.copytree(bundle, Path(models_dir) / bundle.name)
    return read_card(Path(models_dir) / bundle.name)
