"""Check an uploaded version before anything is stored: format, card, schema, parity.

Nothing received over the network is unpickled, so an upload is a card and its
ONNX model only: onnxruntime reads a graph of operators, and loading one runs no
code of the sender's. A pickle (``model.joblib``, ``.pkl``), under any name, is
refused as an unsafe format. What is checked is what start-up checks of a bundle
on disk, in the same order, with each failure named by its field:

- the card follows the card format and names the model of the URL;
- the file is the one the card lists, with the card's sha256;
- the request schemas build from the card, and accept each of its examples;
- parity: the card's own record of the ONNX model against scikit-learn passed,
  and onnxruntime loads the graph and answers every example with finite values
  of the card's kind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from pydantic import ValidationError

from api.errors import (
    BundleError,
    ErrorDetail,
    FreeportError,
    InvalidCardError,
    ParityFailedError,
    UnsafeFormatError,
)
from api.serving.card import ModelCard
from api.serving.predictor import Predictor
from api.serving.schemas import build_schemas

__all__ = ["check_upload"]

_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".sav")
# Every pickle since protocol 2 starts with PROTO (0x80); joblib's compressed ones with gzip's, xz's, bz2's
# or lz4's magic, or a zlib header (below). Only a courtesy: an upload is only ever read by onnxruntime.
_PICKLE_STARTS = (b"\x80", b"\x1f\x8b", b"\xfd7zXZ", b"BZh", b"\x04\x22\x4d\x18")
_SEND_ONNX = "upload the card with its ONNX model only (model.onnx, which save_bundle writes beside it)"


def _decode(files: dict[str, str]) -> dict[str, bytes]:
    decoded = {}
    for name, text in files.items():
        try:
            decoded[name] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCardError(
                f"files.{name} is not base64", [ErrorDetail(field=f"files.{name}", message="not base64",
                                                            hint="send the file as `base64 -w0 <file>`")]
            ) from None
    return decoded


def _zlib_header(data: bytes) -> bool:
    # Deflate with a 32 kB window (0x78), and the header's check bits: the two bytes are a multiple of 31.
    return len(data) >= 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0


def _refuse_unsafe(files: dict[str, bytes]) -> None:
    for name, data in files.items():
        if name.lower().endswith(_PICKLE_SUFFIXES) or data.startswith(_PICKLE_STARTS) or _zlib_header(data):
            raise UnsafeFormatError(
                f"{name} is a pickle: loading it would run whatever code it holds, so uploads never "
                f"are; {_SEND_ONNX}",
                [ErrorDetail(field=f"files.{name}", message="a pickle is not accepted", hint=_SEND_ONNX)],
            )


def _read_card(name: str, raw: dict[str, Any]) -> ModelCard:
    try:
        card = ModelCard.model_validate(raw)
    except ValidationError as exc:
        details = [
            ErrorDetail(field=".".join(["card", *map(str, e["loc"])]), message=e["msg"])
            for e in exc.errors(include_url=False, include_input=False)[:10]
        ]
        raise InvalidCardError(
            f"the card does not follow the card format ({details[0].field}: {details[0].message}); "
            "upload the card.json that save_bundle wrote", details
        ) from None
    if card.name != name:
        raise InvalidCardError(
            f"the card names the model '{card.name}' but it was uploaded to '{name}'",
            [ErrorDetail(field="card.name", message=f"'{card.name}' is not '{name}'")],
        )
    if card.onnx is None:
        why = card.onnx_unavailable or "it lists none"
        raise InvalidCardError(
            f"the card has no ONNX model ({why}); only ONNX models are uploaded, since a pickle could run code",
            [ErrorDetail(field="card.onnx", message="missing", hint="save a pipeline that converts to ONNX")],
        )
    return card


def _the_onnx_file(card: ModelCard, files: dict[str, bytes]) -> bytes:
    assert card.onnx is not None
    expected = card.onnx.file
    extra = sorted(set(files) - {expected})
    if extra:
        raise InvalidCardError(
            f"{extra[0]} is not the card's ONNX model ({expected}); {_SEND_ONNX}",
            [ErrorDetail(field=f"files.{n}", message="not listed by the card") for n in extra],
        )
    if expected not in files:
        raise InvalidCardError(
            f"the card's ONNX model {expected} was not sent",
            [ErrorDetail(field=f"files.{expected}", message="missing")],
        )
    data = files[expected]
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.onnx.sha256:
        raise InvalidCardError(
            f"{expected} does not match its card (sha256 {digest[:12]}…, card says {card.onnx.sha256[:12]}…); "
            "send the card and the file saved together",
            [ErrorDetail(field=f"files.{expected}", message="sha256 differs from card.onnx.sha256")],
        )
    return data


def _check_schema(card: ModelCard, *, tolerance: float | None, max_batch_rows: int) -> None:
    try:
        schemas = build_schemas(card, tolerance=tolerance, max_batch_rows=max_batch_rows)
    except BundleError as exc:
        raise InvalidCardError(exc.message, [ErrorDetail(field="card.features", message=exc.message)]) from None
    for i, example in enumerate(card.examples):
        try:
            schemas.features.model_validate(example)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(["card", "examples", str(i), *map(str, first["loc"])])
            raise InvalidCardError(
                f"the card's example {i} is refused by its own schema ({where}: {first['msg']})",
                [ErrorDetail(field=where, message=first["msg"])],
            ) from None


def _check_parity(card: ModelCard, data: bytes) -> None:
    from api.serving.engines.onnx import OnnxEngine

    assert card.onnx is not None
    check = card.onnx.check
    if not check.passed:
        raise ParityFailedError(
            f"the card records that the ONNX model disagreed with scikit-learn (largest difference "
            f"{check.max_difference}, allowed {check.max_difference_allowed}; label agreement "
            f"{check.label_agreement}); re-save the bundle",
            [ErrorDetail(field="card.onnx.check", message="did not pass")],
        )
    field = f"files.{card.onnx.file}"
    try:
        engine = OnnxEngine(card, data)
    except Exception as exc:  # onnxruntime raises its own types for a graph it cannot read
        raise ParityFailedError(
            f"onnxruntime cannot load {card.onnx.file} ({type(exc).__name__}: {str(exc)[:200]})",
            [ErrorDetail(field=field, message="not a model onnxruntime loads")],
        ) from None
    if not card.examples:
        return
    try:
        Predictor(card, engine).predict([dict(row) for row in card.examples])
    except FreeportError as exc:  # PredictionFailedError names the examples the model fails on
        raise ParityFailedError(
            f"the ONNX model fails on the card's examples: {exc.message}",
            [ErrorDetail(field=f"card.examples.{d.field.split('.', 1)[-1]}" if d.field else field, message=d.message)
             for d in exc.details],
        ) from None
    except Exception as exc:  # a graph whose outputs do not fit the card (e.g. another number of classes)
        raise ParityFailedError(
            f"the ONNX model's answers do not fit its card ({type(exc).__name__}: {str(exc)[:200]})",
            [ErrorDetail(field=field, message="answers do not fit the card")],
        ) from None


def check_upload(
    name: str, card: dict[str, Any], files: dict[str, str], *, tolerance: float | None, max_batch_rows: int
) -> tuple[ModelCard, dict[str, bytes]]:
    """The checked card and decoded files of an upload, or an UploadRefusedError naming what is wrong."""
    decoded = _decode(files)
    _refuse_unsafe(decoded)
    checked = _read_card(name, card)
    data = _the_onnx_file(checked, decoded)
    _check_schema(checked, tolerance=tolerance, max_batch_rows=max_batch_rows)
    _check_parity(checked, data)
    return checked, {checked.onnx.file: data}
