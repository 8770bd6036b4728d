"""The student's door to bundles: ``python -m api.bundle`` and ``from api.bundle import save_bundle``.

The work is done in api/serving/bundle.py; this module keeps the two documented
spellings stable however the package is arranged inside.

``save`` reads the estimator (joblib) and CSV data; ``check`` loads every bundle in
the models folder as the server would; ``probe`` is what save_bundle runs in a
fresh Python (api/serving/bundle_probe.py) and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api.errors import BundleError
from api.serving.bundle import explain_unpickle_failure, load_engine, load_estimator, save_bundle
from api.serving.bundle_probe import probe
from api.serving.card import read_card
from api.serving.engines import EngineChoice

__all__ = ["main", "save_bundle"]


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
        raise BundleError(f"{args.estimator} cannot be loaded ({why}); {explain_unpickle_failure(exc)}") from exc
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
    parser = argparse.ArgumentParser(
        prog="python -m api.bundle", description="Save a model bundle from files, or check every bundle loads."
    )
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
    probe_command = commands.add_parser("probe", help="load one bundle in this fresh Python (save_bundle runs it)")
    probe_command.add_argument("bundle_dir", type=Path)
    probe_command.add_argument("--engine", default="auto", choices=["auto", "onnx", "sklearn"])
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
        report = probe(bundle_dir, engine)
    except BundleError as exc:
        report = {"error": exc.message}
    except Exception as exc:  # whatever the model's own code raises while loading or answering
        report = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    print(json.dumps(report))
    return 1 if "error" in report else 0


if __name__ == "__main__":
    raise SystemExit(main())
