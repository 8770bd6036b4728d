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
import inspect
import io
import json
import os
import pickle
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from api.card import CARD_FILE, NAME_PATTERN, ArtifactInfo, ModelCard, OnnxArtifact, read_card
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
    verify: bool = True,
    quiet: bool = False,
) -> ModelCard:
    """Write ``models_dir/name/`` from a fitted estimator and the data it was fitted on.

    ``features`` is the training DataFrame and ``target`` its labels or values;
    pass ``features_test``/``target_test`` (held out from fitting) to record
    honest metrics. ``descriptions`` maps column names to the text shown in
    /docs and the demo. Returns the card that was written, and prints a short
    report (engine, sizes, metrics, memory and load time) unless ``quiet``.

    The bundle is written beside the models in a hidden folder, loaded there in
    a fresh Python the way the server loads it (``verify``), and only then moved
    into place: a save that fails leaves nothing behind and an older bundle as it was.
    """
    import joblib

    from api import profile
    from api.engines.convert import convert_to_onnx, rows_from_frame

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
        classes=[str(c) for c in estimator.classes_] if task == "classification" else None,
        probabilities=probabilities,
        estimator=profile.describe_estimator(estimator),
        features=profile.profile_features(features, read, descriptions),
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
        probe = _verify_in_fresh_python(staged, card, estimator) if verify else None
        final = models / name
        if final.exists():
            os.replace(final, staging / "replaced")
        os.replace(staged, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(describe_save(card, final, probe))
    return card


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


def _verify_in_fresh_python(bundle_dir: Path, card: ModelCard, estimator: Any) -> dict[str, Any]:
    """Load the staged bundle in a new interpreter as the server would, and compare its answers.

    A new interpreter is the only honest test: the one that saved the model has every
    function of the notebook or script imported already. Returns the probe's report
    (engine, load time, peak memory).
    """
    from api.engines.sklearn import SklearnEngine
    from api.predictor import Predictor

    expected = Predictor(card, SklearnEngine(card, estimator)).predict(card.examples)
    root = str(Path(__file__).resolve().parents[1])  # so `api` imports from a notebook anywhere
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "api.bundle", "probe", str(bundle_dir)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    if done.returncode != 0 or "error" in report or not report:
        problem = report.get("error") or (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BundleError(f"the bundle does not load in a fresh Python the way the server loads it: {problem}")
    answered = report["outcomes"]
    agree = (
        [o["prediction"] for o in answered] == [o["prediction"] for o in expected]
        if card.task == "classification"
        else all(abs(a["prediction"] - b["prediction"]) <= _value_tolerance(card, b["prediction"])
                 for a, b in zip(answered, expected, strict=True))
    )
    if not agree:
        raise BundleError(
            f"loaded in a fresh Python, the bundle answers its examples differently ({answered}) from the "
            f"estimator in memory ({expected}); the model depends on state the saved file does not hold."
        )
    return report


def _value_tolerance(card: ModelCard, value: float) -> float:
    if card.onnx is not None:
        return card.onnx.check.max_difference_allowed
    return 1e-9 * max(1.0, abs(value))


def _probe(bundle_dir: Path, engine: EngineChoice) -> dict[str, Any]:
    """What ``python -m api.bundle probe`` reports: the bundle loaded as the server loads it."""
    from api.predictor import Predictor

    started = time.perf_counter()
    card = read_card(bundle_dir)
    loaded, notes = load_engine(bundle_dir, card, engine=engine, allow_version_mismatch=False)
    outcomes = Predictor(card, loaded).predict(card.examples)
    seconds = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    if loaded.name == "onnx":  # the fallback engine must load too: ENGINE=sklearn and a missing model.onnx use it
        _, more = load_estimator(bundle_dir, card, allow_version_mismatch=False)
        notes += more
    return {"engine": loaded.name, "load_seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1),
            "outcomes": outcomes, "notes": notes}


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec, where getrusage's
    ru_maxrss keeps the high-water mark of the process that spawned it (a notebook, pytest)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 1024
    except (OSError, AttributeError):  # not Linux: the best figure the platform gives
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def describe_save(card: ModelCard, where: Path, probe: dict[str, Any] | None) -> str:
    """The report printed after a save: what serves it, what it weighs, how good it is, what next."""
    if card.onnx is not None:
        check = card.onnx.check
        engine = (f"onnx (onnxruntime), agrees with scikit-learn on {check.rows} rows; "
                  f"largest difference {check.max_difference:.2g}")
    else:
        engine = f"scikit-learn — no ONNX model: {card.onnx_unavailable}"
    sizes = f"{ARTIFACT_FILE} {card.artifact.size_bytes / 1e6:.2f} MB"
    if card.onnx is not None:
        sizes += f", {ONNX_FILE} {card.onnx.size_bytes / 1e6:.2f} MB"
    metrics = ", ".join(f"{k} {v:.3g}" for k, v in card.metrics.items())
    held_out = f"{metrics} on {card.metrics_rows} held-out rows" if metrics else "none: pass features_test/target_test"
    lines = [
        f"saved {where} ({card.task}, {len(card.features)} inputs"
        + (f"; not read, so not asked for: {', '.join(card.unused_columns)}" if card.unused_columns else "") + ")",
        f"  engine    {engine}",
        f"  files     {sizes}",
        f"  held-out  {held_out}",
    ]
    if probe is not None:
        lines.append(
            f"  serving   loads and answers in {probe['load_seconds']:.2f} s in a fresh Python "
            f"(about {probe['load_seconds'] * 10:.0f} s on a free instance's 0.1 CPU); a process serving "
            f"only this model peaks at {probe['peak_rss_mb']:.0f} MB of the 512 MB"
        )
        lines += [f"  note      {note}" for note in probe["notes"]]
    lines.append("  next      .venv/bin/python -m api.bundle check, then make run and open /docs")
    return "\n".join(lines)


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
    from api.engines.sklearn import SklearnEngine

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
    from api.engines.onnx import OnnxEngine

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
            raise BundleError(f"{path} could not be unpickled ({why}); {_unpickle_fix(exc)}") from exc
    notes.extend(str(w.message) for w in caught)

    names = [str(n) for n in getattr(estimator, "feature_names_in_", [])]
    if sorted(names) != sorted(card.feature_names + card.unused_columns):
        raise BundleError(
            f"{path} expects features {names} but its card lists {card.feature_names + card.unused_columns}; "
            "re-save the bundle so the two agree."
        )
    return estimator, notes


def _unpickle_fix(exc: Exception) -> str:
    if "__main__" in str(exc):
        return (
            "the model uses a function or class that was defined in the script or notebook that saved it "
            "(module __main__): move it into a module of the repository, import it from there, and save again."
        )
    if isinstance(exc, ModuleNotFoundError):
        return f"the module {exc.name!r} it needs is not importable here: add it to the repository or requirements."
    return "the Python or library versions likely differ from those in the card's `versions`."


def _read_csv(path: str, text_columns: list[str]) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} cannot be read as CSV ({exc})") from exc


def _save_from_files(args: argparse.Namespace) -> None:
    import joblib

    text_columns = [c.strip() for c in (args.text_columns or "").split(",") if c.strip()]
    try:
        estimator = joblib.load(args.estimator)
    except Exception as exc:  # unpickling can raise anything the pickled code raises
        why = f"{type(exc).__name__}: {exc}"
        raise BundleError(f"{args.estimator} cannot be loaded ({why}); {_unpickle_fix(exc)}") from exc
    frame = _read_csv(args.data, text_columns)
    test = _read_csv(args.test, text_columns) if args.test else None
    for label, data in (("--data", frame), ("--test", test)):
        if data is not None and args.target not in data.columns:
            raise BundleError(f"{label} has no column {args.target!r} (the --target)")
    try:
        save_bundle(
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
    except BundleError as exc:
        numbers = [c for c in frame.columns if c != args.target and c not in text_columns
                   and frame[c].dtype.kind in "iuf"]
        if "cannot predict" in exc.message and numbers:
            # CSV has no types: a code such as '1931' comes back as a number.
            raise BundleError(
                f"{exc.message} The CSV gave these columns as numbers: {', '.join(numbers)}; if the model "
                f"was trained on any of them as text, name them: --text-columns {numbers[0]}"
            ) from exc
        raise


def _check_all(args: argparse.Namespace) -> int:
    models = Path(args.models_dir)
    if not models.is_dir():
        raise BundleError(f"{models} is not a folder: pass --models-dir, or save a bundle there first")
    folders = sorted(p for p in models.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        print(f"no bundles in {models}: save one with save_bundle() or `python -m api.bundle save`")
        return 1
    failures = 0
    for bundle_dir in folders:
        try:
            card = read_card(bundle_dir)
            engine, notes = load_engine(bundle_dir, card, engine="auto",
                                        allow_version_mismatch=args.allow_version_mismatch)
            if engine.name == "onnx":  # the fallback must load too (ENGINE=sklearn, a lost model.onnx)
                notes += load_estimator(bundle_dir, card, allow_version_mismatch=args.allow_version_mismatch)[1]
        except BundleError as exc:
            failures += 1
            print(f"FAIL {bundle_dir.name}: {exc.message}")
            continue
        served = "onnx" if engine.name == "onnx" else f"scikit-learn ({card.onnx_unavailable or 'no model.onnx'})"
        print(f"ok   {bundle_dir.name} {card.version} ({card.task}, {len(card.features)} inputs; {served})")
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
    save.add_argument("--text-columns", help="comma-separated columns to read as text, e.g. codes such as '1931'")
    save.add_argument("--title")
    save.add_argument("--description")
    save.add_argument("--models-dir", default="models")
    check = commands.add_parser("check", help="load every bundle as the server would")
    check.add_argument("--models-dir", default="models")
    check.add_argument("--allow-version-mismatch", action="store_true")
    # Used by save_bundle to load a bundle in a fresh interpreter; prints one JSON line.
    probe = commands.add_parser("probe")
    probe.add_argument("bundle_dir", type=Path)
    probe.add_argument("--engine", default="auto", choices=["auto", "onnx", "sklearn"])
    args = parser.parse_args(argv)
    try:
        if args.command == "save":
            _save_from_files(args)
            return 0
        if args.command == "probe":
            return _print_probe(args.bundle_dir, args.engine)
        return _check_all(args)
    except BundleError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


def _print_probe(bundle_dir: Path, engine: EngineChoice) -> int:
    try:
        report = _probe(bundle_dir, engine)
    except BundleError as exc:
        report = {"error": exc.message}
    except Exception as exc:  # whatever the model's own code raises while loading or answering
        report = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    print(json.dumps(report))
    return 1 if "error" in report else 0


if __name__ == "__main__":
    raise SystemExit(main())
