"""Save a fitted estimator as a bundle, and load one back with every check.

A bundle is a folder ``models/<name>/`` holding the serialised estimator and
``card.json``. Saving infers the card from the estimator and its data; loading
verifies the checksum, refuses Git LFS pointers and scikit-learn version
mismatches, then unpickles. Saving also converts the pipeline to ONNX and keeps
``model.onnx`` beside it when it agrees with scikit-learn (api/serving/engines/convert.py);
loading then runs it on onnxruntime unless ENGINE says otherwise. From a notebook::

    from api.bundle import save_bundle
    save_bundle(pipeline, X_train, y_train, "my-model", X_test=X_test, y_test=y_test)

Saving loads the new bundle in a fresh Python before it keeps it (api/serving/bundle_probe.py).
From a shell: ``python -m api.bundle save --help`` and ``python -m api.bundle check``
(api/bundle.py).
"""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import pickle
import platform
import re
import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from api.errors import BundleError
from api.serving.card import CARD_FILE, NAME_PATTERN, ArtifactInfo, FeatureSpec, ModelCard, OnnxArtifact
from api.serving.engines import Engine, EngineChoice

__all__ = [
    "ARTIFACT_FILE",
    "ONNX_FILE",
    "REPOSITORY",
    "apply_labels",
    "explain_unpickle_failure",
    "load_engine",
    "load_estimator",
    "save_bundle",
]

ARTIFACT_FILE = "model.joblib"
ONNX_FILE = "model.onnx"
REPOSITORY = Path(__file__).resolve().parents[2]  # api/serving/bundle.py → the checkout
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
RECORDED_PACKAGES = ("scikit-learn", "numpy", "pandas", "joblib")


def _installed_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in RECORDED_PACKAGES:
        versions[package] = metadata.version(package)
    return versions


def save_bundle(
    estimator: Any,
    features: Any,
    target: Any,
    name: str,
    *,
    features_test: Any = None,
    target_test: Any = None,
    models_dir: str | os.PathLike[str] = "models",
    title: str | None = None,
    description: str = "",
    descriptions: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    category_labels: dict[str, dict[Any, str]] | None = None,
    target_label: str = "",
    version: str | None = None,
    examples: int = 3,
    verify: bool = True,
    quiet: bool = False,
) -> ModelCard:
    """Write ``models_dir/name/`` from a fitted estimator and the data it was fitted on.

    ``features`` is the training DataFrame and ``target`` its labels or values;
    pass ``features_test``/``target_test`` (held out from fitting) to record
    honest metrics. ``descriptions`` maps column names to the text shown in
    /docs and the demo; ``labels`` maps column names to short human names
    (``{"dep_hour": "Departure hour"}``) and ``category_labels`` maps a
    category column to names for its categories (``{"dest": {"IAH": "IAH —
    Houston George Bush"}}``), both shown by the demo (see :func:`apply_labels`);
    ``target_label`` names what the model predicts (``"outcome"``) where the
    target column's own name reads poorly.
    Returns the card that was written, and prints a short report (engine,
    sizes, metrics, memory and load time) unless ``quiet``.

    The bundle is written beside the models in a hidden folder, loaded there in
    a fresh Python the way the server loads it (``verify``), and only then moved
    into place: a save that fails leaves nothing behind and an older bundle as it was.
    """
    import joblib

    from api.serving import profile
    from api.serving.bundle_probe import describe_save, verify_in_fresh_python
    from api.serving.engines.convert import convert_to_onnx, rows_from_frame

    names = _check_inputs(estimator, features, name, features_test, target_test)
    read = profile.read_columns(estimator, names)
    task = profile.infer_task(estimator)
    probabilities = task == "regression" or profile.gives_probabilities(estimator)
    held_out = features_test is not None
    metrics = profile.score(estimator, task, features_test[names], target_test) if held_out else {}
    payload = _pickle(estimator, joblib)
    digest = hashlib.sha256(payload).hexdigest()

    card = ModelCard(
        name=name,
        title=title or name.replace("-", " ").replace("_", " ").capitalize(),
        description=description,
        version=version or digest[:12],
        task=task,
        target=str(getattr(target, "name", None) or "target"),
        target_label=target_label,
        classes=[str(c) for c in estimator.classes_] if task == "classification" else None,
        probabilities=probabilities,
        estimator=profile.describe_estimator(estimator),
        features=apply_labels(
            profile.profile_features(features, read, descriptions), labels, category_labels
        ),
        unused_columns=[n for n in names if n not in read],
        metrics=metrics,
        metrics_rows=len(features_test) if held_out else None,
        training_rows=len(features),
        examples=profile.pick_examples(features, read, target, examples),
        versions=_installed_versions(),
        artifact=ArtifactInfo(file=ARTIFACT_FILE, sha256=digest, size_bytes=len(payload)),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    check_frame = features_test if held_out else features
    onnx_model, card = _attach_onnx(card, convert_to_onnx(estimator, card, rows_from_frame(check_frame, read)))

    models = Path(models_dir)
    models.mkdir(parents=True, exist_ok=True)
    # A hidden folder (the registry skips names starting with "."), on the same disk as the
    # bundle so the final move is a rename; removed whatever happens.
    staging = Path(tempfile.mkdtemp(prefix=f".saving-{name}-", dir=models))
    try:
        staged = staging / name
        staged.mkdir()
        (staged / ARTIFACT_FILE).write_bytes(payload)
        if onnx_model is not None:
            (staged / ONNX_FILE).write_bytes(onnx_model)
        (staged / CARD_FILE).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
        probe = verify_in_fresh_python(staged, card, estimator) if verify else None
        final = models / name
        if final.exists():
            os.replace(final, staging / "replaced")
        os.replace(staged, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(describe_save(card, final, probe))
    return card


def apply_labels(
    features: list[FeatureSpec],
    labels: dict[str, str] | None = None,
    category_labels: dict[str, dict[Any, str]] | None = None,
) -> list[FeatureSpec]:
    """The features with human labels attached; BundleError for a label that names nothing.

    A label for a column the model does not read, or for a category not seen in
    training, is a mistake (a typo, or labels meant for another model) that would
    otherwise never show: it is refused with the names that are valid.
    """
    labels, category_labels = labels or {}, category_labels or {}
    by_name = {f.name: f for f in features}
    unknown = sorted(set(labels) - set(by_name)) + sorted(set(category_labels) - set(by_name) - set(labels))
    if unknown:
        raise BundleError(f"labels name columns the model does not read: {unknown}; its columns are {list(by_name)}")
    labelled = []
    for feature in features:
        names = {str(k): str(v) for k, v in category_labels.get(feature.name, {}).items()}
        if names and feature.type != "category":
            article = "an" if feature.type == "integer" else "a"
            raise BundleError(
                f"category_labels for {feature.name!r}, which is {article} {feature.type}, not a category"
            )
        stray = sorted(set(names) - {str(c) for c in feature.categories or ()})
        if stray:
            raise BundleError(
                f"category_labels for {feature.name!r} name categories not seen in training: {stray[:10]}"
                f"{' …' if len(stray) > 10 else ''}; its categories are {feature.categories}"
            )
        label = str(labels.get(feature.name, feature.label))
        update = {"label": label, "category_labels": names or feature.category_labels}
        labelled.append(feature.model_copy(update=update))
    return labelled


def _check_inputs(estimator: Any, features: Any, name: str, features_test: Any, target_test: Any) -> list[str]:
    """The estimator's input names, after refusing what would make a bundle that cannot serve."""
    import pandas as pd

    if not re.fullmatch(NAME_PATTERN, name):
        raise BundleError(
            f"{name!r} cannot name a model: use lower-case letters, digits, '-' and '_' "
            "(at most 63, starting with a letter or digit), e.g. 'house-prices'; it becomes the URL."
        )
    if not isinstance(features, pd.DataFrame):
        raise BundleError(
            "features must be the pandas DataFrame the model was fitted on, so that each column has a "
            f"name (got {type(features).__name__}); e.g. pd.DataFrame(X, columns=[...])."
        )
    unnamed = [c for c in features.columns if not isinstance(c, str)]
    if unnamed:
        raise BundleError(
            f"the training DataFrame's columns are not named (they are {unnamed[:5]}…): give them names, "
            "e.g. frame.columns = ['age', 'income', ...], fit the model again and save it."
        )
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise BundleError(
            f"{type(estimator).__name__} was fitted without column names (on a NumPy array): fit it on "
            "the pandas DataFrame itself, model.fit(frame, target), so the API knows each input's name."
        )
    names = [str(n) for n in names]
    absent = [n for n in names if n not in features.columns]
    if absent:
        raise BundleError(f"the estimator was fitted on columns missing from features: {absent}")
    if (features_test is None) != (target_test is None):
        raise BundleError("pass features_test and target_test together, or neither")
    local = _defined_in_main(estimator)
    if local:
        raise BundleError(
            f"{', '.join(local)} {'is' if len(local) == 1 else 'are'} defined in the script or notebook you ran "
            "(module __main__), which the server cannot import: move it into a module of the repository "
            "(e.g. models_code.py beside api/), import it from there, fit again and save."
        )
    try:
        estimator.predict(features[names].head(5))
    except Exception as exc:  # the estimator's own error: say it is not freeport's
        raise BundleError(
            f"the estimator cannot predict the first rows of its own training frame "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}); "
            "pass the frame it was fitted on, with the same column types."
        ) from exc
    return names


def _defined_in_main(estimator: Any) -> list[str]:
    """Names of functions and classes inside the estimator that live in ``__main__``.

    Pickle stores them by reference (``__main__.fn``), so they save cleanly and then
    cannot load in the server, whose ``__main__`` is another program.
    """
    found: list[str] = []
    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    for value in (estimator, *params.values()):
        # A function or class is pickled by reference to itself; any other object, to its class.
        owner = value if isinstance(value, type) or inspect.isroutine(value) else type(value)
        if getattr(owner, "__module__", None) == "__main__":
            label = f"`{getattr(owner, '__qualname__', owner)}`"
            if label not in found:
                found.append(label)
    return found


def _pickle(estimator: Any, joblib: Any) -> bytes:
    buffer = io.BytesIO()
    try:
        joblib.dump(estimator, buffer, compress=3)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise BundleError(
            f"the estimator cannot be saved ({type(exc).__name__}: {exc}). A lambda, or a function defined "
            "inside another function, cannot be pickled: define it with `def` at the top of a module of the "
            "repository and import it."
        ) from exc
    return buffer.getvalue()


def _attach_onnx(card: ModelCard, converted: Any) -> tuple[bytes | None, ModelCard]:
    """The ONNX model to write (or None) and the card recording it, or why there is none."""
    if converted.model is None:
        return None, card.model_copy(update={"onnx_unavailable": converted.reason})
    payload = converted.model
    onnx = OnnxArtifact(
        file=ONNX_FILE, sha256=hashlib.sha256(payload).hexdigest(), size_bytes=len(payload), check=converted.check,
        missing_category=converted.missing_category,
    )
    return payload, card.model_copy(update={"onnx": onnx})


def _read_checked(path: Path, sha256: str) -> bytes:
    """The file's bytes, after refusing a missing file, an LFS pointer or a changed file."""
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise BundleError(
            f"{path} cannot be read ({exc.strerror}); re-save the bundle or restore the file."
        ) from exc
    if payload.startswith(LFS_POINTER_PREFIX):
        raise BundleError(
            f"{path} is a Git LFS pointer, not the model: the platform cloned the repository "
            "without LFS. Commit the file itself (bundles are small), or run `git lfs pull` "
            "in the build command."
        )
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256:
        raise BundleError(
            f"{path} does not match its card (sha256 {digest[:12]}…, card says "
            f"{sha256[:12]}…): the file was changed or truncated. "
            "Re-save the bundle with save_bundle() and commit both files together."
        )
    return payload


def load_engine(
    bundle_dir: Path, card: ModelCard, *, engine: EngineChoice, allow_version_mismatch: bool
) -> tuple[Engine, list[str]]:
    """The engine that serves a bundle, chosen by ENGINE, with any warnings.

    ``auto`` runs ``model.onnx`` when the card lists one, and scikit-learn otherwise or
    when the ONNX file is missing or broken (saying so in the notes); ``onnx`` refuses
    a bundle without a working one; ``sklearn`` always unpickles.
    """
    notes: list[str] = []
    if engine == "onnx" or (engine == "auto" and card.onnx is not None):
        try:
            return _load_onnx(bundle_dir, card), notes
        except BundleError as exc:
            if engine == "onnx":
                raise
            notes.append(f"{exc.message.split('; re-save')[0]}; served on scikit-learn instead")
    from api.serving.engines.sklearn import SklearnEngine

    estimator, more = load_estimator(bundle_dir, card, allow_version_mismatch=allow_version_mismatch)
    return SklearnEngine(card, estimator), notes + more


def _load_onnx(bundle_dir: Path, card: ModelCard) -> Engine:
    if card.onnx is None:
        why = card.onnx_unavailable or "it was saved before freeport converted bundles"
        raise BundleError(
            f"{bundle_dir.name} has no ONNX model ({why}), but ENGINE=onnx requires one: "
            "set ENGINE=auto to serve it on scikit-learn."
        )
    payload = _read_checked(bundle_dir / card.onnx.file, card.onnx.sha256)
    from api.serving.engines.onnx import OnnxEngine

    try:
        return OnnxEngine(card, payload)
    except Exception as exc:  # onnxruntime raises its own exception types for bad models
        raise BundleError(
            f"{bundle_dir / card.onnx.file} could not be loaded by onnxruntime "
            f"({type(exc).__name__}: {str(exc)[:200]}); re-save the bundle."
        ) from exc


def load_estimator(bundle_dir: Path, card: ModelCard, *, allow_version_mismatch: bool) -> tuple[Any, list[str]]:
    """Unpickle a bundle's estimator after checking it; returns it with any warnings.

    Raises BundleError naming the problem and its fix: a missing file, a Git LFS
    pointer, a checksum mismatch, another scikit-learn version, a failed unpickle,
    or features that disagree with the card.
    """
    path = bundle_dir / card.artifact.file
    payload = _read_checked(path, card.artifact.sha256)

    notes: list[str] = []
    saved_with = card.versions.get("scikit-learn")
    installed = metadata.version("scikit-learn")
    if saved_with != installed:
        message = (
            f"saved with scikit-learn {saved_with}, but {installed} is installed: pin "
            f"scikit-learn=={saved_with} in requirements.txt, or re-save the bundle "
            f"with {installed}"
        )
        if not allow_version_mismatch:
            raise BundleError(message + " (or set ALLOW_VERSION_MISMATCH=true to serve it anyway).")
        notes.append(message + "; served anyway because ALLOW_VERSION_MISMATCH is set.")

    import joblib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator = joblib.load(io.BytesIO(payload))
        except Exception as exc:  # unpickling can raise anything the pickled code raises
            why = f"{type(exc).__name__}: {exc}"
            raise BundleError(f"{path} could not be unpickled ({why}); {explain_unpickle_failure(exc)}") from exc
    notes.extend(str(w.message) for w in caught)

    names = [str(n) for n in getattr(estimator, "feature_names_in_", [])]
    if sorted(names) != sorted(card.feature_names + card.unused_columns):
        raise BundleError(
            f"{path} expects features {names} but its card lists {card.feature_names + card.unused_columns}; "
            "re-save the bundle so the two agree."
        )
    return estimator, notes


def explain_unpickle_failure(exc: Exception) -> str:
    """What to do about an estimator that does not unpickle, from the error it raised."""
    if "__main__" in str(exc):
        return (
            "the model uses a function or class that was defined in the script or notebook that saved it "
            "(module __main__): move it into a module of the repository, import it from there, and save again."
        )
    if isinstance(exc, ModuleNotFoundError):
        return f"the module {exc.name!r} it needs is not importable here: add it to the repository or requirements."
    return "the Python or library versions likely differ from those in the card's `versions`."
