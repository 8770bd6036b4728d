"""Save a fitted estimator as a bundle, and load one back with every check.

A bundle is a folder ``models/<name>/`` holding the serialised estimator and
``card.json``. Saving infers the card from the estimator and its data; loading
verifies the checksum, refuses Git LFS pointers and scikit-learn version
mismatches, then unpickles. Saving also converts the pipeline to ONNX and keeps
``model.onnx`` beside it when it agrees with scikit-learn (api/engines/convert.py);
loading then runs it on onnxruntime unless ENGINE says otherwise. From a notebook::

    from api.bundle import save_bundle
    save_bundle(pipeline, X_train, y_train, "my-model", X_test=X_test, y_test=y_test)

From a shell: ``python -m api.bundle save --help`` and ``python -m api.bundle check``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import sys
import warnings
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from api.card import CARD_FILE, ArtifactInfo, ModelCard, OnnxArtifact, read_card
from api.engines import Engine, EngineChoice
from api.errors import BundleError

__all__ = ["ARTIFACT_FILE", "ONNX_FILE", "load_engine", "load_estimator", "save_bundle"]

ARTIFACT_FILE = "model.joblib"
ONNX_FILE = "model.onnx"
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
    version: str | None = None,
    examples: int = 3,
) -> ModelCard:
    """Write ``models_dir/name/`` from a fitted estimator and the data it was fitted on.

    ``features`` is the training DataFrame and ``target`` its labels or values;
    pass ``features_test``/``target_test`` (held out from fitting) to record
    honest metrics. ``descriptions`` maps column names to the text shown in
    /docs and the demo. Returns the card that was written.
    """
    import joblib
    import pandas as pd

    from api import profile
    from api.engines.convert import convert_to_onnx, rows_from_frame

    if not isinstance(features, pd.DataFrame):
        raise BundleError("features must be a pandas DataFrame, so that each column has a name")
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise BundleError(
            f"{type(estimator).__name__} has no feature_names_in_: fit it on a pandas "
            "DataFrame (not a NumPy array) so the API knows each input's name."
        )
    names = [str(n) for n in names]
    absent = [n for n in names if n not in features.columns]
    if absent:
        raise BundleError(f"the estimator was fitted on columns missing from features: {absent}")
    if (features_test is None) != (target_test is None):
        raise BundleError("pass features_test and target_test together, or neither")

    task = profile.infer_task(estimator)
    classes = [str(c) for c in estimator.classes_] if task == "classification" else None
    held_out = features_test is not None
    metrics = (
        profile.score(estimator, task, features_test[names], target_test) if held_out else {}
    )

    bundle_dir = Path(models_dir) / name
    bundle_dir.mkdir(parents=True, exist_ok=True)
    artifact_path = bundle_dir / ARTIFACT_FILE
    partial = artifact_path.with_suffix(".partial")
    joblib.dump(estimator, partial, compress=3)
    payload = partial.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()

    card = ModelCard(
        name=name,
        title=title or name.replace("-", " ").replace("_", " ").capitalize(),
        description=description,
        version=version or digest[:12],
        task=task,
        target=str(getattr(target, "name", None) or "target"),
        classes=classes,
        estimator=profile.describe_estimator(estimator),
        features=profile.profile_features(features, names, descriptions),
        metrics=metrics,
        metrics_rows=len(features_test) if held_out else None,
        training_rows=len(features),
        examples=profile.pick_examples(features, names, target, examples),
        versions=_installed_versions(),
        artifact=ArtifactInfo(file=ARTIFACT_FILE, sha256=digest, size_bytes=len(payload)),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    check_frame = features_test if held_out else features
    onnx_model, card = _attach_onnx(card, convert_to_onnx(estimator, card, rows_from_frame(check_frame, names)))
    onnx_path = bundle_dir / ONNX_FILE
    onnx_partial = onnx_path.with_suffix(".partial-onnx")
    if onnx_model is not None:
        onnx_partial.write_bytes(onnx_model)
    card_partial = bundle_dir / (CARD_FILE + ".partial")
    card_partial.write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    # Every file is complete before any replaces the old bundle's.
    os.replace(partial, artifact_path)
    if onnx_model is not None:
        os.replace(onnx_partial, onnx_path)
    else:
        onnx_path.unlink(missing_ok=True)  # an older pipeline's ONNX model must not outlive it
    os.replace(card_partial, bundle_dir / CARD_FILE)
    return card


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

    ``auto`` runs ``model.onnx`` when the card lists one and scikit-learn
    otherwise; ``onnx`` refuses a bundle without one; ``sklearn`` always unpickles.
    """
    if engine == "onnx" or (engine == "auto" and card.onnx is not None):
        if card.onnx is None:
            why = card.onnx_unavailable or "it was saved before freeport converted bundles"
            raise BundleError(
                f"{bundle_dir.name} has no ONNX model ({why}), but ENGINE=onnx requires one: "
                "set ENGINE=auto to serve it on scikit-learn."
            )
        payload = _read_checked(bundle_dir / card.onnx.file, card.onnx.sha256)
        from api.engines.onnx import OnnxEngine

        try:
            return OnnxEngine(card, payload), []
        except Exception as exc:  # onnxruntime raises its own exception types for bad models
            raise BundleError(
                f"{bundle_dir / card.onnx.file} could not be loaded by onnxruntime "
                f"({type(exc).__name__}: {str(exc)[:200]}); re-save the bundle."
            ) from exc
    from api.engines.sklearn import SklearnEngine

    estimator, notes = load_estimator(bundle_dir, card, allow_version_mismatch=allow_version_mismatch)
    return SklearnEngine(card, estimator), notes


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
            raise BundleError(
                f"{path} could not be unpickled ({type(exc).__name__}: {exc}); the Python or "
                "library versions likely differ from those in the card's `versions`."
            ) from exc
    notes.extend(str(w.message) for w in caught)

    names = [str(n) for n in getattr(estimator, "feature_names_in_", [])]
    if names != card.feature_names:
        raise BundleError(
            f"{path} expects features {names} but its card lists {card.feature_names}; "
            "re-save the bundle so the two agree."
        )
    return estimator, notes


def _save_from_files(args: argparse.Namespace) -> None:
    import joblib
    import pandas as pd

    estimator = joblib.load(args.estimator)
    frame = pd.read_csv(args.data)
    test = pd.read_csv(args.test) if args.test else None
    for label, data in (("--data", frame), ("--test", test)):
        if data is not None and args.target not in data.columns:
            raise BundleError(f"{label} has no column {args.target!r} (the --target)")
    card = save_bundle(
        estimator,
        frame.drop(columns=[args.target]),
        frame[args.target],
        args.name,
        features_test=None if test is None else test.drop(columns=[args.target]),
        target_test=None if test is None else test[args.target],
        models_dir=args.models_dir,
        title=args.title,
        description=args.description or "",
    )
    where = Path(args.models_dir) / card.name
    print(f"saved {where} ({card.task}, {len(card.features)} features, metrics {card.metrics})")


def _check_all(args: argparse.Namespace) -> int:
    failures = 0
    for bundle_dir in sorted(p for p in Path(args.models_dir).iterdir() if p.is_dir()):
        try:
            card = read_card(bundle_dir)
            _, notes = load_estimator(bundle_dir, card, allow_version_mismatch=args.allow_version_mismatch)
            if card.onnx is not None:
                load_engine(bundle_dir, card, engine="onnx", allow_version_mismatch=True)
        except BundleError as exc:
            failures += 1
            print(f"FAIL {bundle_dir.name}: {exc.message}")
            continue
        engine = "onnx" if card.onnx else f"scikit-learn only: {card.onnx_unavailable or 'no model.onnx'}"
        print(f"ok   {bundle_dir.name} {card.version} ({card.task}, {len(card.features)} features; {engine})")
        for note in notes:
            print(f"     note: {note}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m api.bundle``: save a bundle from files, or check every bundle loads."""
    parser = argparse.ArgumentParser(prog="python -m api.bundle", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("save", help="save a bundle from a joblib estimator and CSV data")
    save.add_argument("--estimator", required=True, help="fitted estimator saved with joblib.dump")
    save.add_argument("--data", required=True, help="CSV of the training rows, target included")
    save.add_argument("--target", required=True, help="name of the target column")
    save.add_argument("--name", required=True, help="bundle name: lower case, digits, - and _")
    save.add_argument("--test", help="CSV of held-out rows, for metrics")
    save.add_argument("--title")
    save.add_argument("--description")
    save.add_argument("--models-dir", default="models")
    check = commands.add_parser("check", help="load every bundle as the server would")
    check.add_argument("--models-dir", default="models")
    check.add_argument("--allow-version-mismatch", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "save":
            _save_from_files(args)
            return 0
        return _check_all(args)
    except BundleError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
