"""Retrain an example model on a new slice of its data and submit it to a running API as a candidate.

    python scripts/retrain.py --api https://my-api.onrender.com --model flight-delay \\
        --query "month in [6, 7, 8]" --reason "summer flights only"          # ADMIN_API_KEY in the environment
    python scripts/retrain.py --api … --model flight-delay --query … --promote   # and promote it if it is better

The held-out rows are the very ones the bundled model was held out on (the same
split as scripts/train_examples.py), so both versions are judged on the same
rows: a sample of them is stored as the model's evaluation set (PUT
/admin/models/{name}/evaluation, which scores the active version on it), the
new version is trained on the training rows that --query keeps, saved with
save_bundle (ONNX and its card, checked against scikit-learn) and uploaded
(POST /admin/models/{name}/versions) as the candidate. Then the candidate's
score on the same rows is printed beside the active one's, and the calls to
promote or roll back. README "Model versions" walks through it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_examples import EXAMPLES, SEED, example_split

from api.bundle import save_bundle
from api.serving.card import CARD_FILE

DONE, REFUSED, UNASKED = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=os.environ.get("API_URL", ""), help="the API's base URL (or $API_URL)")
    parser.add_argument("--model", required=True, choices=sorted(EXAMPLES), help="the example model to retrain")
    parser.add_argument("--query", default="", help='which training rows to keep, as pandas query text, e.g. '
                        '"month in [6, 7, 8]" (default: all)')
    parser.add_argument("--reason", default="", help="why this version, kept with it and in the audit")
    parser.add_argument("--evaluation-rows", type=int, default=2000,
                        help="held-out rows sent as the evaluation set (default 2000; all if fewer)")
    parser.add_argument("--promote", action="store_true", help="promote the candidate if it scores no worse")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    key = os.environ.get("ADMIN_API_KEY", "")
    if not args.api or not key:
        print("needs --api (or API_URL) and ADMIN_API_KEY in the environment", file=sys.stderr)
        return UNASKED
    base = args.api.rstrip("/")
    session = requests.Session()
    session.headers["X-API-Key"] = key

    pipeline, x_train, x_test, y_train, y_test, about = example_split(args.model)
    # By position: a frame's index and its target's need not match (the flights' target is a fresh Series).
    keep = x_train.index.isin(x_train.query(args.query).index) if args.query else np.ones(len(x_train), bool)
    kept, kept_target = x_train[keep], y_train[keep]
    if kept.empty:
        print(f"--query {args.query!r} keeps no training row", file=sys.stderr)
        return UNASKED
    chosen = np.sort(np.random.default_rng(SEED).choice(len(x_test), min(args.evaluation_rows, len(x_test)),
                                                        replace=False))
    sample, truth = x_test.iloc[chosen], y_test.iloc[chosen]
    print(f"{args.model}: training on {len(kept):,} of {len(x_train):,} training rows"
          f"{' (' + args.query + ')' if args.query else ''}; judged on {len(sample):,} held-out rows")
    pipeline.fit(kept, kept_target)
    # Names only for the categories the slice holds: save_bundle refuses a label for one never seen
    # (a summer slice has no flights to Eagle County's ski season, for one).
    about["category_labels"] = {
        column: {code: name for code, name in names.items() if code in set(kept[column].astype(str))}
        for column, names in about.get("category_labels", {}).items()
    }

    with tempfile.TemporaryDirectory() as folder:
        card = save_bundle(pipeline, kept, kept_target, args.model, features_test=sample,
                           target_test=truth, models_dir=folder, quiet=True, **about)
        if card.onnx is None:
            print(f"not submitted: no ONNX model ({card.onnx_unavailable}); the API takes ONNX uploads only",
                  file=sys.stderr)
            return REFUSED
        bundle = Path(folder) / args.model
        card_text = (bundle / CARD_FILE).read_text(encoding="utf-8")
        onnx = base64.b64encode((bundle / card.onnx.file).read_bytes()).decode()

    try:
        evaluation = _call(session, "PUT", f"{base}/admin/models/{args.model}/evaluation",
                           {"rows": _json_rows(sample), "target": [_plain(t) for t in truth]})
        reason = args.reason or f"retrained on {args.query or 'all training rows'}"
        # The card is sent as save_bundle wrote it, byte for byte: its hash is the version's identity.
        body = "".join(['{"card": ', card_text, ', "files": {', json.dumps(card.onnx.file), ": ", json.dumps(onnx),
                        '}, "reason": ', json.dumps(reason), "}"])
        uploaded = _call(session, "POST", f"{base}/admin/models/{args.model}/versions", body)
    except RefusedError as exc:
        print(f"not submitted: {exc}", file=sys.stderr)
        return REFUSED
    except requests.RequestException as exc:
        print(f"could not reach {base}: {exc}", file=sys.stderr)
        return UNASKED

    metric = evaluation["metric"]
    candidate_score = card.metrics.get(metric)
    print(f"candidate {uploaded['version']} uploaded: {metric} {candidate_score:.4f} on these rows (scored here), "
          f"against {evaluation['active_score']:.4f} for the active version")
    promote = f"curl -X POST {base}/admin/models/{args.model}/promote -H \"X-API-Key: $ADMIN_API_KEY\""
    if not args.promote:
        print(f"to promote it:  {promote} -H 'Content-Type: application/json' -d '{{\"reason\": \"…\"}}'")
        return DONE
    try:
        result = _call(session, "POST", f"{base}/admin/models/{args.model}/promote", {"reason": reason})
    except RefusedError as exc:
        print(f"not promoted: {exc}")
        return REFUSED
    print(f"promoted: {result['active']} is active, {result['previous']} is the previous version; to roll back:  "
          f"curl -X POST {base}/admin/models/{args.model}/rollback -H \"X-API-Key: $ADMIN_API_KEY\" "
          "-H 'Content-Type: application/json' -d '{\"reason\": \"…\"}'")
    return DONE


class RefusedError(Exception):
    """The API answered with one of its error bodies."""


def _call(session: requests.Session, method: str, url: str, body: object) -> dict:
    data = body if isinstance(body, str) else json.dumps(body)
    response = session.request(method, url, data=data.encode(), timeout=300,
                               headers={"Content-Type": "application/json"})
    if response.status_code >= 400:
        try:
            error = response.json()
            raise RefusedError(f"{response.status_code} {error['error']}: {error['message']}")
        except (ValueError, KeyError):
            raise RefusedError(f"{response.status_code} from {url}") from None
    return response.json()


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def _json_rows(frame) -> list[dict]:
    """Rows as a predict body carries them: numpy scalars as Python ones, missing values as null."""
    return json.loads(frame.to_json(orient="records"))


if __name__ == "__main__":
    raise SystemExit(main())
