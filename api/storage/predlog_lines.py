"""Prediction records as lines of text: the spill file's format, which is also PostgreSQL's COPY format.

One record is one line, its RECORD_FIELDS separated by tabs:

    2026-12-02 14:20:58.123456+00:00<TAB>request-id<TAB>model<TAB>version<TAB>{inputs}<TAB>{outputs}<TAB>0.41\\n

Encoding once serves twice: the spooler writes these bytes to disk and the
database thread hands the same bytes to PostgreSQL's ``COPY … FROM STDIN``
(no per-row Python on the way in). In COPY's text format only a backslash, a
tab, a newline and a carriage return need escaping; compact JSON never holds a
raw tab or newline (they are escaped inside strings), request ids, model names
and versions are restricted to safe characters, so doubling the JSON's
backslashes is the whole of the escaping.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic_core import from_json, to_json

from api.storage.records import PredictionRecord

__all__ = ["decode_lines", "encode_records", "split_lines"]


def _json(value: Any) -> bytes:
    # NaN and infinities become null: PostgreSQL's json type refuses `NaN`.
    return to_json(value, inf_nan_mode="null").replace(b"\\", b"\\\\")


def encode_records(records: Iterable[PredictionRecord]) -> bytes:
    """Records to lines. A request's records share their first four fields, so those are encoded once."""
    out: list[bytes] = []
    last_stamp = last_rid = prefix = None
    for created_at, request_id, model, version, inputs, outputs, latency_ms in records:
        if created_at is not last_stamp or request_id is not last_rid:
            last_stamp, last_rid = created_at, request_id
            stamp = created_at.isoformat(sep=" ", timespec="microseconds")
            prefix = f"{stamp}\t{request_id}\t{model}\t{version}\t".encode()
        out.append(prefix + _json(inputs) + b"\t" + _json(outputs) + b"\t" + repr(float(latency_ms)).encode() + b"\n")
    return b"".join(out)


def split_lines(data: bytes) -> list[list[str]]:
    """Lines to their seven fields as text (JSON still as text, unescaped)."""
    rows = []
    # Not splitlines(): it also splits at characters JSON leaves raw, such as U+2028.
    for line in data.decode().split("\n")[:-1]:
        fields = line.split("\t")
        fields[4] = fields[4].replace("\\\\", "\\")
        fields[5] = fields[5].replace("\\\\", "\\")
        rows.append(fields)
    return rows


def decode_lines(data: bytes) -> list[PredictionRecord]:
    """Lines back to records (datetimes and dicts): for drivers that take Python values."""
    return [
        (datetime.fromisoformat(stamp), rid, model, version, from_json(inputs), from_json(outputs), float(latency))
        for stamp, rid, model, version, inputs, outputs, latency in split_lines(data)
    ]
